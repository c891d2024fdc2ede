package conformance_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
	"github.com/oauthlogin/oauthlogin/providers"
)

// clientTimeout is the HTTP client timeout of the Manager and provider in
// the robustness tests: a provider that never answers costs this long.
const clientTimeout = 300 * time.Millisecond

// Bounds every robustness case must stay within.
const (
	maxDuration = 5 * time.Second
	maxAlloc    = 64 << 20 // bytes allocated by the whole case
)

// bounded runs fn in a fresh harness with short client timeouts and checks
// that it ends in bounded time and allocation, and leaves no goroutine
// behind once the harness is closed.
func bounded(t *testing.T, name string, fn func(t *testing.T, h *harness)) {
	t.Run(name, func(t *testing.T) {
		settle(t, -1)
		base := runtime.NumGoroutine()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		h := newHarness(t, withTimeout(clientTimeout))
		fn(t, h)
		elapsed := time.Since(start)
		runtime.ReadMemStats(&after)
		h.close()
		if elapsed > maxDuration {
			t.Errorf("took %v", elapsed)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > maxAlloc {
			t.Errorf("allocated %d MiB", alloc>>20)
		}
		settle(t, base)
	})
}

// close stops the app and the provider and drops idle connections.
func (h *harness) close() {
	h.app.Close()
	h.idp.Close()
	h.tr.CloseIdleConnections()
	http.DefaultTransport.(*http.Transport).CloseIdleConnections() // the test browsers'
}

// settle waits, boundedly, until no more than want goroutines run (want < 0:
// until the count stops falling), and fails the test if that never happens.
func settle(t *testing.T, want int) {
	t.Helper()
	deadline := time.NewTimer(5 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	last := runtime.NumGoroutine()
	for {
		n := runtime.NumGoroutine()
		if (want >= 0 && n <= want) || (want < 0 && n >= last && n != 0) {
			return
		}
		last = n
		select {
		case <-tick.C:
		case <-deadline.C:
			if want >= 0 {
				buf := make([]byte, 1<<20)
				t.Fatalf("%d goroutines, want %d: a goroutine leaked\n%s", n, want, buf[:runtime.Stack(buf, true)])
			}
			return
		}
	}
}

// TestRobustness feeds the login oversized, malformed, slow and silent
// input, from the browser and from every provider endpoint. Each ends in
// bounded time and memory with its error code, writes nothing, and leaks
// no goroutine. Its cases run one at a time, to count goroutines.
func TestRobustness(t *testing.T) {
	for _, ep := range []struct {
		endpoint, code string
	}{
		{"token", oauthlogin.ErrTokenExchange.Code()},
		{"userinfo", oauthlogin.ErrProfileUnavailable.Code()},
		{"jwks", oauthlogin.ErrInvalidIDToken.Code()},
	} {
		for _, tc := range []struct {
			name string
			raw  oauthlogintest.RawResponse
		}{
			{"HTML", oauthlogintest.RawResponse{ContentType: "text/html", Body: []byte("<html><body><h1>Welcome</h1></body></html>")}},
			{"HTMLAsJSON", oauthlogintest.RawResponse{ContentType: "application/json", Body: []byte("<html><body>oops</body></html>")}},
			{"TruncatedJSON", oauthlogintest.RawResponse{ContentType: "application/json", Body: []byte(`{"access_token":"abc","token_type":"Bearer","id_token":"eyJ`)}},
			{"Null", oauthlogintest.RawResponse{ContentType: "application/json", Body: []byte("null")}},
			{"EmptyObject", oauthlogintest.RawResponse{ContentType: "application/json", Body: []byte("{}")}},
			{"Array", oauthlogintest.RawResponse{ContentType: "application/json", Body: []byte("[1,2,3]")}},
			{"Empty", oauthlogintest.RawResponse{ContentType: "application/json"}},
			{"Status500", oauthlogintest.RawResponse{Status: 500, ContentType: "text/plain", Body: []byte("boom")}},
			{"Redirect", oauthlogintest.RawResponse{Status: 302, Body: nil}},
			{"Body100MB", oauthlogintest.RawResponse{ContentType: "application/json", Body: []byte(`{"x":"` + strings.Repeat("a", 4090)), Size: 100 << 20}},
			{"Drip", oauthlogintest.RawResponse{ContentType: "application/json", Body: []byte(`{"access_token":"a"}`), Drip: 3 * time.Second}},
			{"NeverAnswers", oauthlogintest.RawResponse{Hang: true}},
		} {
			bounded(t, ep.endpoint+tc.name, func(t *testing.T, h *harness) {
				h.behave(oauthlogintest.Behavior{Raw: map[string]oauthlogintest.RawResponse{ep.endpoint: tc.raw}})
				b := oauthlogintest.NewBrowser()
				h.refused(b, h.login(b), ep.code)
				if ep.endpoint == "token" {
					h.hits("userinfo", 0)
				}
			})
		}
	}

	for _, tc := range []struct {
		name string
		raw  oauthlogintest.RawResponse
	}{
		{"HTML", oauthlogintest.RawResponse{ContentType: "text/html", Body: []byte("<html>hi</html>")}},
		{"TruncatedJSON", oauthlogintest.RawResponse{ContentType: "application/json", Body: []byte(`{"issuer":"`)}},
		{"Null", oauthlogintest.RawResponse{ContentType: "application/json", Body: []byte("null")}},
		{"Body100MB", oauthlogintest.RawResponse{ContentType: "application/json", Body: []byte(strings.Repeat(" ", 4096)), Size: 100 << 20}},
		{"Drip", oauthlogintest.RawResponse{ContentType: "application/json", Body: []byte(`{}`), Drip: 3 * time.Second}},
		{"NeverAnswers", oauthlogintest.RawResponse{Hang: true}},
	} {
		bounded(t, "discovery"+tc.name, func(t *testing.T, h *harness) {
			h.idp.Behave(oauthlogintest.Behavior{Raw: map[string]oauthlogintest.RawResponse{"discovery": tc.raw}})
			_, err := providers.OIDC(context.Background(), "broken", h.idp.URL, providers.Config{
				ClientID: h.idp.ClientID, HTTPClient: &http.Client{Timeout: clientTimeout, Transport: h.tr}})
			if err == nil {
				t.Fatal("a provider was made from a broken discovery document")
			}
		})
	}

	bounded(t, "IDToken1MB", func(t *testing.T, h *harness) {
		h.behave(oauthlogintest.Behavior{Claims: map[string]any{"pad": strings.Repeat("x", 1<<20)}})
		b := oauthlogintest.NewBrowser()
		h.refused(b, h.login(b), oauthlogin.ErrTokenExchange.Code())
		h.hits("userinfo", 0)
	})
	bounded(t, "AccessToken1MB", func(t *testing.T, h *harness) {
		h.behave(oauthlogintest.Behavior{AccessTokenSize: 1 << 20})
		b := oauthlogintest.NewBrowser()
		h.refused(b, h.login(b), oauthlogin.ErrTokenExchange.Code())
		h.hits("userinfo", 0)
	})

	// From the browser: the callback's query is the attacker's to fill.
	// Anything over the callback's bounds (8 KiB of query or form, 4 KiB
	// of code, 512 bytes of state: TestCallbackBounds) is refused unread
	// with invalid_response, before any token request; when its state
	// is unread it names no flow, so the browser's login goes on.
	bounded(t, "CallbackQuery2MB", func(t *testing.T, h *harness) {
		b := oauthlogintest.NewBrowser()
		cb := h.toCallback(b, "test")
		q := cb.Query()
		q.Set("state", strings.Repeat("s", 2<<20))
		cb.RawQuery = q.Encode()
		// Over HTTP, the server's header limit (1 MB) answers first ...
		if page := h.visit(b, cb.String()); page.Status != http.StatusRequestHeaderFieldsTooLarge {
			t.Fatalf("2 MB request line = %d", page.Status)
		}
		// ... and a handler behind a laxer server refuses it too.
		resp := serve(h.m, "GET", cb.String(), b.Client.Jar.Cookies(cb))
		if got := mustParse(t, resp.Header.Get("Location")).Query().Get("error"); resp.StatusCode != http.StatusFound || got != "invalid_response" {
			t.Fatalf("2 MB state straight to the handler = %d %s", resp.StatusCode, got)
		}
		h.hits("token", 0)
		h.noSession(b)
	})
	bounded(t, "CallbackQuery1MBWithValidState", func(t *testing.T, h *harness) {
		// Junk beside a genuine state and code: refused unread.
		b := oauthlogintest.NewBrowser()
		cb := h.toCallback(b, "test")
		padded := *cb
		padded.RawQuery += "&junk=" + strings.Repeat("j", 1<<20-len(cb.RawQuery)-2048)
		h.refusedUnspent(b, h.visit(b, padded.String()), "invalid_response")
		h.mustSucceed(b, h.visit(b, cb.String()))
	})
	bounded(t, "CallbackState64KB", func(t *testing.T, h *harness) {
		b := oauthlogintest.NewBrowser()
		cb := h.toCallback(b, "test")
		q := cb.Query()
		q.Set("state", strings.Repeat("s", 64<<10))
		cb.RawQuery = q.Encode()
		h.refusedUnspent(b, h.visit(b, cb.String()), "invalid_response")
	})
	bounded(t, "CallbackCode64KB", func(t *testing.T, h *harness) {
		// The query is over its bound: refused unread, the flow goes on.
		b := oauthlogintest.NewBrowser()
		cb := h.toCallback(b, "test")
		q := cb.Query()
		q.Set("code", strings.Repeat("c", 64<<10))
		cb.RawQuery = q.Encode()
		h.refusedUnspent(b, h.visit(b, cb.String()), "invalid_response")
	})
	bounded(t, "CallbackThousandsOfParameters", func(t *testing.T, h *harness) {
		// More parameters than net/url parses (10 000), and far more
		// bytes than the bound: refused unread.
		b := oauthlogintest.NewBrowser()
		cb := h.toCallback(b, "test")
		var junk strings.Builder
		for i := range 20000 {
			junk.WriteString("&p")
			junk.WriteString(strings.Repeat("x", i%7))
			junk.WriteString("=1")
		}
		cb.RawQuery += junk.String()
		h.refusedUnspent(b, h.visit(b, cb.String()), "invalid_response")
	})
	bounded(t, "CallbackFormPost1MB", func(t *testing.T, h *harness) {
		b := oauthlogintest.NewBrowser()
		cb := h.toCallback(b, "test")
		body := cb.RawQuery + "&junk=" + strings.Repeat("j", 1<<20)
		resp := h.do(b, "POST", cb.Path, strings.NewReader(body), "Content-Type", "application/x-www-form-urlencoded")
		readAll(t, resp)
		resp.Body.Close()
		if got := mustParse(t, resp.Header.Get("Location")).Query().Get("error"); resp.StatusCode != http.StatusSeeOther || got != "invalid_response" {
			t.Fatalf("1 MB form = %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		h.hits("token", 0)
		h.noSession(b)
		h.flowKept(b)
	})
	bounded(t, "BeginSuccessURL1MB", func(t *testing.T, h *harness) {
		u := h.beginURL("test", "success", h.app.URL+"/"+strings.Repeat("a", 1<<20))
		resp, alloc := serveAlloc(h.m, u)
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
			t.Fatalf("begin with a 1 MB success URL = %d", resp.StatusCode)
		}
		if alloc > 4<<20 {
			t.Fatalf("begin allocated %d KiB for a 1 MB request", alloc>>10)
		}
		h.hits("authorize", 0)
	})
	bounded(t, "BeginScopes1MB", func(t *testing.T, h *harness) {
		resp, alloc := serveAlloc(h.m, h.beginURL("test", "scopes", strings.Repeat("s,", 500<<10)))
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
			t.Fatalf("begin with 1 MB of scopes = %d", resp.StatusCode)
		}
		if alloc > 4<<20 {
			t.Fatalf("begin allocated %d KiB for a 1 MB request", alloc>>10)
		}
		h.hits("authorize", 0)
	})
}

// serveAlloc serves a GET of target on m and reports the bytes the
// handler allocated.
func serveAlloc(m *oauthlogin.Manager, target string) (*http.Response, uint64) {
	req := httptest.NewRequest("GET", target, nil)
	w := httptest.NewRecorder()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	m.Handler().ServeHTTP(w, req)
	runtime.ReadMemStats(&after)
	return w.Result(), after.TotalAlloc - before.TotalAlloc
}

// TestClaimTypes pins the result of claims of the wrong JSON type.
func TestClaimTypes(t *testing.T) {
	future := time.Now().Add(time.Hour).Unix()
	for _, tc := range []struct {
		name   string
		claims map[string]any
		code   string // "" when the login succeeds
	}{
		// RFC 7519 §2: a NumericDate is a JSON numeric value. exp, iat, nbf
		// and auth_time sent as anything else (a string, even a numeric
		// one, a bool, an array, an object, null) are refused with
		// id_token_invalid, although go-oidc would read a number from a
		// numeric string.
		{"ExpAsNumericString", map[string]any{"exp": strconvI(future)}, oauthlogin.ErrInvalidIDToken.Code()},
		{"ExpAsNumericStringInThePast", map[string]any{"exp": strconvI(time.Now().Add(-time.Hour).Unix())}, oauthlogin.ErrInvalidIDToken.Code()},
		{"ExpAsText", map[string]any{"exp": "tomorrow"}, oauthlogin.ErrInvalidIDToken.Code()},
		{"ExpAsBool", map[string]any{"exp": true}, oauthlogin.ErrInvalidIDToken.Code()},
		{"ExpAsArray", map[string]any{"exp": []int64{future}}, oauthlogin.ErrInvalidIDToken.Code()},
		{"ExpAsObject", map[string]any{"exp": map[string]any{"t": future}}, oauthlogin.ErrInvalidIDToken.Code()},
		{"ExpMissing", map[string]any{"exp": nil}, oauthlogin.ErrInvalidIDToken.Code()},
		{"ExpFractional", map[string]any{"exp": float64(future) + 0.5}, ""},
		{"IatAsNumericString", map[string]any{"iat": strconvI(time.Now().Unix())}, oauthlogin.ErrInvalidIDToken.Code()},
		{"IatAsNumericStringInTheFuture", map[string]any{"iat": strconvI(time.Now().Add(time.Hour).Unix())}, oauthlogin.ErrInvalidIDToken.Code()},
		{"IatAsText", map[string]any{"iat": "now"}, oauthlogin.ErrInvalidIDToken.Code()},
		{"IatAsBool", map[string]any{"iat": false}, oauthlogin.ErrInvalidIDToken.Code()},
		{"NbfAsNumericString", map[string]any{"nbf": strconvI(time.Now().Add(-time.Minute).Unix())}, oauthlogin.ErrInvalidIDToken.Code()},
		{"NbfAsArray", map[string]any{"nbf": []any{}}, oauthlogin.ErrInvalidIDToken.Code()},
		{"NbfAsNull", map[string]any{"nbf": json.RawMessage("null")}, oauthlogin.ErrInvalidIDToken.Code()},
		{"NbfNumber", map[string]any{"nbf": time.Now().Add(-time.Minute).Unix()}, ""},
		{"AuthTimeAsNumericString", map[string]any{"auth_time": strconvI(time.Now().Unix())}, oauthlogin.ErrInvalidIDToken.Code()},
		{"AuthTimeAsBool", map[string]any{"auth_time": true}, oauthlogin.ErrInvalidIDToken.Code()},
		{"AuthTimeAsObject", map[string]any{"auth_time": map[string]any{}}, oauthlogin.ErrInvalidIDToken.Code()},
		{"AudAsNumber", map[string]any{"aud": 42}, oauthlogin.ErrInvalidIDToken.Code()},
		{"AudEmptyArray", map[string]any{"aud": []string{}}, oauthlogin.ErrInvalidIDToken.Code()},
		{"AudAsObject", map[string]any{"aud": map[string]any{"oauthlogin-test-client": true}}, oauthlogin.ErrInvalidIDToken.Code()},
		{"NonceAsNumber", map[string]any{"nonce": 7}, oauthlogin.ErrInvalidIDToken.Code()},
		{"IssAsArray", map[string]any{"iss": []string{"x"}}, oauthlogin.ErrInvalidIDToken.Code()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.behave(oauthlogintest.Behavior{Claims: tc.claims})
			b := oauthlogintest.NewBrowser()
			if tc.code == "" {
				h.mustSucceed(b, h.login(b))
				return
			}
			h.refused(b, h.login(b), tc.code)
			h.hits("userinfo", 0)
		})
	}

	// email_verified counts only as JSON true: the strings "true" and
	// "false", and 1, leave the address unverified (and never linkable).
	for name, v := range map[string]any{"StringFalse": "false", "StringTrue": "true", "Number1": 1, "Null": nil} {
		t.Run("EmailVerified"+name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			doc := map[string]any{"sub": "user-1", "email": "ada@example.com", "email_verified": v}
			body, _ := jsonMarshal(doc)
			h.behave(oauthlogintest.Behavior{
				Claims: map[string]any{"email_verified": v},
				Raw:    map[string]oauthlogintest.RawResponse{"userinfo": {ContentType: "application/json", Body: body}},
			})
			b := oauthlogintest.NewBrowser()
			h.mustSucceed(b, h.login(b))
			id, err := h.store.Identity(context.Background(), h.idp.URL, "user-1")
			if err != nil {
				t.Fatal(err)
			}
			if id.VerifiedEmail != "" || id.ProviderEmail != "ada@example.com" {
				t.Fatalf("email_verified %#v: identity email %q, verified %q", v, id.ProviderEmail, id.VerifiedEmail)
			}
		})
	}
}

func strconvI(n int64) string { return strconv.FormatInt(n, 10) }

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }
