package conformance_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
)

// echoShape is one way a hostile provider answers with what it received.
type echoShape struct {
	name string
	// answer writes the answer; all is every secret of the request joined,
	// first the grant's own one (code, refresh token, device code, token
	// to revoke, access token).
	answer func(w http.ResponseWriter, r *http.Request, all, first string)
}

func jsonAnswer(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// echoShapes: RFC 6749 §5.2 lets a provider describe an error in words
// (error_description) and a link (error_uri); a hostile or careless one
// puts there, or in the error code itself, or in a plain-text or HTML
// page, what the client sent it. OWASP's error-handling guidance and RFC
// 6749 §10.3/§10.4 (credentials confidential, never disclosed) demand that
// none of it reaches the browser: the client answers with its own code.
var echoShapes = []echoShape{
	{"JSONDescription", func(w http.ResponseWriter, _ *http.Request, all, _ string) {
		jsonAnswer(w, http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": all, "error_uri": "https://idp.example/e?" + url.QueryEscape(all)})
	}},
	{"JSONErrorIsTheSecret", func(w http.ResponseWriter, _ *http.Request, all, first string) {
		jsonAnswer(w, http.StatusBadRequest, map[string]string{"error": first, "error_description": all})
	}},
	{"InvalidGrantDescribed", func(w http.ResponseWriter, _ *http.Request, all, _ string) {
		jsonAnswer(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": all})
	}},
	{"UnavailableDescribed", func(w http.ResponseWriter, _ *http.Request, all, _ string) {
		jsonAnswer(w, http.StatusServiceUnavailable, map[string]string{"error": "temporarily_unavailable", "error_description": all})
	}},
	{"PlainText", func(w http.ResponseWriter, _ *http.Request, all, _ string) {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, "refused: "+all)
	}},
	{"HTML", func(w http.ResponseWriter, _ *http.Request, all, _ string) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		io.WriteString(w, "<html><body><h1>Error</h1><p>"+all+"</p></body></html>")
	}},
	{"RedirectEchoes", func(w http.ResponseWriter, r *http.Request, all, _ string) {
		// RFC 9700 §4.11: a back-channel endpoint that redirects; the
		// target echoes the request, and is not a place to follow.
		w.Header().Set("Location", "http://"+r.Host+"/echo?"+url.Values{"e": {all}}.Encode())
		w.WriteHeader(http.StatusFound)
	}},
	{"OKButNotJSON", func(w http.ResponseWriter, _ *http.Request, all, _ string) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, all)
	}},
}

// hygiene watches one test's traffic: it collects every secret the app
// sends the providers or they issue to it, and records every answer the
// app gives the browser, to check that none holds one of them.
type hygiene struct {
	h       *harness
	appHost string

	mu      sync.Mutex
	secrets map[string]bool
	answers []answer
	refresh string // the last refresh token issued
}

type answer struct {
	what   string
	header http.Header
	body   []byte
}

func newHygiene(h *harness) *hygiene {
	return &hygiene{h: h, appHost: mustParse(h.t, h.app.URL).Host, secrets: map[string]bool{}}
}

func (y *hygiene) secret(vs ...string) {
	y.h.log.secret(vs...)
	y.mu.Lock()
	defer y.mu.Unlock()
	for _, v := range vs {
		if len(v) >= 8 {
			y.secrets[v] = true
		}
	}
}

// browser returns a browser whose every answer from the app is recorded.
func (y *hygiene) browser() *oauthlogintest.Browser {
	b := oauthlogintest.NewBrowser()
	b.Client.Transport = recordingTransport{y, b.Client.Transport}
	return b
}

// recordingTransport records in y the app's answers it carries.
type recordingTransport struct {
	y    *hygiene
	next http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (rt recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	y := rt.y
	resp, err := rt.next.RoundTrip(req)
	if err != nil || req.URL.Host != y.appHost {
		return resp, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	y.mu.Lock()
	y.answers = append(y.answers, answer{req.Method + " " + req.URL.Path, resp.Header.Clone(), body})
	y.mu.Unlock()
	return resp, nil
}

// collect reads what a request to a provider endpoint carries, and
// returns the secrets joined and the grant's own one.
func (y *hygiene) collect(r *http.Request) (all, first string) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	r.Body = io.NopCloser(bytes.NewReader(body))
	form, _ := url.ParseQuery(string(body))
	var got []string
	for _, k := range []string{"code", "refresh_token", "device_code", "token", "code_verifier", "client_secret"} {
		got = append(got, form[k]...)
	}
	if _, pw, ok := r.BasicAuth(); ok {
		unescaped, _ := url.QueryUnescape(pw)
		got = append(got, pw, unescaped)
	}
	if _, cred, ok := strings.Cut(r.Header.Get("Authorization"), "Bearer "); ok {
		got = append(got, cred)
	}
	got = slices.DeleteFunc(got, func(s string) bool { return s == "" })
	y.secret(got...)
	if len(got) > 0 {
		first = got[0]
	}
	return strings.Join(got, " "), first
}

// spy records the secrets of an honest endpoint's requests and answers.
func (y *hygiene) spy(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		y.collect(r)
		rec := &capturingWriter{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		var v struct {
			Access  string `json:"access_token"`
			Refresh string `json:"refresh_token"`
			ID      string `json:"id_token"`
			Device  string `json:"device_code"`
		}
		if json.Unmarshal(rec.body.Bytes(), &v) == nil {
			y.secret(v.Access, v.Refresh, v.ID, v.Device)
			if v.Refresh != "" {
				y.mu.Lock()
				y.refresh = v.Refresh
				y.mu.Unlock()
			}
		}
	})
}

// hostile is a provider whose token, device, revocation and userinfo
// endpoints answer in shape with what they were sent, headers included.
func (y *hygiene) hostile(shape echoShape) oauthlogintest.Behavior {
	return y.hostileAt(shape, "token", "device", "revoke", "userinfo")
}

// hostileAt is hostile at the endpoints named, honest at the others.
func (y *hygiene) hostileAt(shape echoShape, endpoints ...string) oauthlogintest.Behavior {
	b := y.honest()
	for _, e := range endpoints {
		b.Intercept[e] = func(http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				all, first := y.collect(r)
				w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="`+all+`"`)
				w.Header().Set("X-Echo", all)
				shape.answer(w, r, all, first)
			})
		}
	}
	return b
}

// honest is an honest provider whose traffic y watches.
func (y *hygiene) honest() oauthlogintest.Behavior {
	intercept := map[string]func(http.Handler) http.Handler{}
	for _, e := range []string{"token", "device", "revoke", "userinfo"} {
		intercept[e] = y.spy
	}
	return oauthlogintest.Behavior{Intercept: intercept}
}

// check fails the test if an answer of the app holds a secret, as is or
// in the encodings a header or body would give it.
func (y *hygiene) check(t *testing.T) {
	t.Helper()
	y.mu.Lock()
	defer y.mu.Unlock()
	if len(y.secrets) == 0 || len(y.answers) == 0 {
		t.Fatal("nothing was watched: the check proves nothing")
	}
	for _, a := range y.answers {
		var hdr strings.Builder
		a.header.Write(&hdr)
		for s := range y.secrets {
			for _, form := range []string{s, url.QueryEscape(s), base64.RawURLEncoding.EncodeToString([]byte(s))} {
				if bytes.Contains(a.body, []byte(form)) {
					t.Errorf("%s: the body holds a secret %.40q:\n%.600s", a.what, s, a.body)
				}
				if strings.Contains(hdr.String(), form) {
					t.Errorf("%s: a header holds a secret %.40q:\n%.600s", a.what, s, hdr.String())
				}
			}
		}
	}
}

// errorCode returns the error code of a JSON error answer.
func errorCode(t *testing.T, resp *http.Response) string {
	t.Helper()
	var v struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatalf("%s %s = %d: not a JSON error: %v", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, err)
	}
	return v.Error
}

// TestSecretHygieneEveryRoute drives every route of Manager.Handler while
// the providers' back-channel endpoints (token, device authorization,
// revocation, userinfo) echo what they receive (client secret, code, PKCE
// verifier, refresh token, device code, access token) in each shape of
// echoShapes. No answer of the app (JSON error, redirect, page: body or
// header, Location included) and no log record may hold any of them: a
// JSON error carries its code and that code's fixed message only.
func TestSecretHygieneEveryRoute(t *testing.T) {
	for _, shape := range echoShapes {
		t.Run(shape.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, withConfig(func(c *oauthlogin.Config) {
				c.Sessions.ExposeProviderAccessToken = false // so that no answer holds a provider secret by design
				c.Sessions.RevokeOnLogout = true
				c.DeviceProviders = []string{"test"}
			}))
			y := newHygiene(h)
			other := h.addIDP("other")
			b := y.browser()
			sameOrigin := []string{"Sec-Fetch-Site", "same-origin"}
			form := []string{"Content-Type", "application/x-www-form-urlencoded", "Sec-Fetch-Site", "same-origin"}

			// Honest: a session with tokens, a second identity, a device
			// authorization in progress.
			h.behave(y.honest())
			other.Behave(h.spyBehavior(y.honest()))
			h.mustSucceed(b, h.login(b))
			link := url.Values{"link": {"1"}, "success": {h.app.URL + "/done"}, "failure": {h.app.URL + "/failed"}}
			resp := h.do(b, "POST", "/auth/other", strings.NewReader(link.Encode()), form...)
			h.mustSucceed(b, h.visit(b, resp.Header.Get("Location")))
			type identity struct {
				ID       string `json:"id"`
				Provider string `json:"provider"`
			}
			var ids struct {
				Identities []identity `json:"identities"`
			}
			resp = h.do(b, "GET", "/auth/identities", nil)
			if err := json.NewDecoder(resp.Body).Decode(&ids); err != nil || len(ids.Identities) != 2 {
				t.Fatalf("identities: %v %v", ids, err)
			}
			// The session is now the link's, with "other": unlinking "test"
			// revokes tokens the refresh below leaves alone.
			testID := ids.Identities[slices.IndexFunc(ids.Identities, func(v identity) bool { return v.Provider == "test" })].ID
			resp = h.do(b, "POST", "/auth/test/device", nil, form...)
			var dev struct {
				Handle string `json:"handle"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&dev); err != nil || dev.Handle == "" {
				t.Fatalf("device start = %d: %v", resp.StatusCode, err)
			}

			// Hostile, from here on.
			h.behave(y.hostile(shape))
			other.Behave(h.spyBehavior(y.hostile(shape)))
			tokenHits, revokeHits := h.idp.Hits("token"), h.idp.Hits("revoke")+other.Hits("revoke")

			// Callback (session and token mode, and the other provider):
			// the failure redirect carries the code only.
			for _, begin := range []string{h.beginURL("test"), h.beginURL("other"), h.beginURL("test", "mode", "token")} {
				page := h.visit(y.browser(), begin)
				if page.URL.Path != "/failed" || len(page.URL.Query()) != 1 {
					t.Fatalf("login ended at %s", page.URL)
				}
			}

			// Refresh: whatever the provider said, one of the refresh codes.
			resp = h.do(b, "POST", "/auth/refresh", nil, sameOrigin...)
			switch code := errorCode(t, resp); code {
			case oauthlogin.ErrRefreshFailed.Code(), oauthlogin.ErrProviderUnavailable.Code(), oauthlogin.ErrProviderTokenRevoked.Code():
			default:
				t.Fatalf("refresh = %d %s", resp.StatusCode, code)
			}

			// Device authorization: start and poll.
			if resp = h.do(b, "POST", "/auth/test/device", nil, form...); resp.StatusCode < 400 {
				t.Fatalf("device start with a hostile provider = %d", resp.StatusCode)
			}
			poll := url.Values{"handle": {dev.Handle}}
			if resp = h.do(b, "POST", "/auth/device/token", strings.NewReader(poll.Encode()), form...); resp.StatusCode < 400 {
				t.Fatalf("device poll with a hostile provider = %d", resp.StatusCode)
			}

			// The routes that read or end sessions and identities; unlink
			// and logout revoke at the hostile providers.
			for _, rq := range []struct{ method, path string }{
				{"GET", "/auth/session"},
				{"GET", "/auth/identities"},
				{"GET", "/auth/sessions"},
				{"DELETE", "/auth/identities/" + testID},
				{"DELETE", "/auth/identities/no-such-identity"},
				{"DELETE", "/auth/sessions/no-such-session"},
				{"DELETE", "/auth/session"},
				{"DELETE", "/auth/sessions"},
				{"POST", "/auth/session"},
				{"GET", "/auth/nonesuch"},
			} {
				h.do(b, rq.method, rq.path, strings.NewReader("userId=u&secret=wrong-secret-value"), form...)
			}
			resp = h.do(b, "POST", "/auth/test", strings.NewReader(link.Encode()), form...)
			if code := errorCode(t, resp); code != oauthlogin.ErrNoSession.Code() {
				t.Fatalf("link after logout = %d %s", resp.StatusCode, code)
			}

			// The user info endpoint, which gets the access token, is
			// reached only after an honest token response.
			h.behave(y.hostileAt(shape, "userinfo"))
			userinfoHits := h.idp.Hits("userinfo")
			if page := h.visit(y.browser(), h.beginURL("test")); page.URL.Path != "/failed" || len(page.URL.Query()) != 1 {
				t.Fatalf("login with a hostile userinfo ended at %s", page.URL)
			}
			if h.idp.Hits("userinfo") == userinfoHits {
				t.Fatal("the hostile userinfo endpoint was not reached")
			}

			if h.idp.Hits("token") < tokenHits+3 || h.idp.Hits("revoke")+other.Hits("revoke") <= revokeHits {
				t.Fatal("the hostile endpoints were not reached: the check proves nothing")
			}
			y.check(t)
		})
	}
}

// TestSecretHygieneProviderTextInClaims: a provider's text reaches an
// error by other ways than a token endpoint's error body. A refreshed ID
// token (OpenID Connect Core §12.2) signed with an audience or issuer that
// echoes the refresh token and the client secret fails validation, and the
// validation error quotes the claim; a device authorization response
// (RFC 8628 §3.2) with a verification_uri that is not https is refused,
// and the error quotes it. The answer carries the code and its fixed
// message only; the log holds neither secret (the refresh token, unknown
// where the error is logged, is removed by its shape).
func TestSecretHygieneProviderTextInClaims(t *testing.T) {
	for _, tc := range []struct {
		name  string
		claim func(b *oauthlogintest.Behavior, echo []string)
	}{
		{"Audience", func(b *oauthlogintest.Behavior, echo []string) { b.IDTokenAudience = echo }},
		{"Issuer", func(b *oauthlogintest.Behavior, echo []string) { b.IDTokenIssuer = strings.Join(echo[1:], " ") }},
	} {
		t.Run("RefreshIDToken"+tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, withConfig(func(c *oauthlogin.Config) { c.Sessions.ExposeProviderAccessToken = false }))
			y := newHygiene(h)
			h.behave(y.honest())
			b := y.browser()
			h.mustSucceed(b, h.login(b))
			y.mu.Lock()
			refresh := y.refresh
			y.mu.Unlock()
			if refresh == "" {
				t.Fatal("no refresh token was issued")
			}
			bad := y.honest()
			bad.IDTokenOnRefresh = true
			tc.claim(&bad, []string{h.idp.ClientID, refresh, h.idp.ClientSecret})
			h.behave(bad)
			resp := h.do(b, "POST", "/auth/refresh", nil, "Sec-Fetch-Site", "same-origin")
			if code := errorCode(t, resp); resp.StatusCode != http.StatusBadGateway || (code != oauthlogin.ErrInvalidIDToken.Code() && code != oauthlogin.ErrRefreshFailed.Code()) {
				t.Fatalf("refresh = %d %s, want 502 %s", resp.StatusCode, code, oauthlogin.ErrInvalidIDToken.Code())
			}
			if h.log.count() == 0 {
				t.Fatal("the failure was not logged")
			}
			y.check(t)
		})
	}

	t.Run("DeviceVerificationURI", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, withConfig(func(c *oauthlogin.Config) { c.DeviceProviders = []string{"test"} }))
		y := newHygiene(h)
		const marker = "provider-text-f00dBABE"
		h.behave(oauthlogintest.Behavior{Intercept: map[string]func(http.Handler) http.Handler{"device": func(http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				jsonAnswer(w, http.StatusOK, map[string]any{
					"device_code": "dc-" + marker, "user_code": "BCDF-GHJK", "expires_in": 600, "interval": 5,
					"verification_uri": "http://idp.example/activate?" + marker,
				})
			})
		}}})
		b := y.browser()
		resp := h.do(b, "POST", "/auth/test/device", nil)
		if code := errorCode(t, resp); code != "provider_error" {
			t.Fatalf("device start = %d %s, want %s", resp.StatusCode, code, "provider_error")
		}
		y.mu.Lock()
		y.secrets[marker] = true // not a secret: provider text, which only the log may hold
		y.mu.Unlock()
		y.check(t)
	})
}
