package conformance_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
	"github.com/oauthlogin/oauthlogin/providers"
)

// TestCookies covers the flow and session cookies against a hostile
// browser: attributes, tampering, copying, swapping, rotation and size.
func TestCookies(t *testing.T) {
	t.Run("AttributesOverHTTPS", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		const base = "https://app.example.com"
		m := h.manager(base, h.cfg.Keys.Cookie)
		flow, session := recordedLogin(t, h, m, base)
		if !strings.HasPrefix(flow.Name, "__Host-") || !flow.Secure || !flow.HttpOnly || flow.Path != "/" || flow.Domain != "" ||
			flow.SameSite != http.SameSiteLaxMode || flow.MaxAge <= 0 || flow.MaxAge > 600 {
			t.Fatalf("flow cookie %+v", flow)
		}
		if session == nil || session.Name != "__Host-oauthlogin_session" || !session.Secure || !session.HttpOnly || session.Path != "/" ||
			session.Domain != "" || session.SameSite != http.SameSiteLaxMode || session.MaxAge <= 0 || session.MaxAge > 30*24*3600 {
			t.Fatalf("session cookie %+v", session)
		}
	})
	t.Run("AttributesOverHTTP", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		const base = "http://localhost:8080"
		m := h.manager(base, h.cfg.Keys.Cookie)
		flow, session := recordedLogin(t, h, m, base)
		if strings.HasPrefix(flow.Name, "__Host-") || flow.Secure || !flow.HttpOnly || flow.SameSite != http.SameSiteLaxMode || flow.MaxAge <= 0 || flow.MaxAge > 600 {
			t.Fatalf("flow cookie %+v", flow)
		}
		if session == nil || session.Secure || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.MaxAge <= 0 {
			t.Fatalf("session cookie %+v", session)
		}
	})
	t.Run("FlowMaxAgeIsFlowLifetime", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, withConfig(func(c *oauthlogin.Config) { c.Sessions.FlowLifetime = 2 * time.Minute }))
		resp := h.do(oauthlogintest.NewBrowser(), "GET", strings.TrimPrefix(h.beginURL("test"), h.app.URL), nil)
		if c := resp.Cookies(); len(c) != 1 || c[0].MaxAge != 120 {
			t.Fatalf("flow cookies %+v", c)
		}
	})

	// Flow cookies the Manager did not make, for this flow, are no flow:
	// a 400, never a 500, a session or a token request.
	for _, tc := range []struct {
		name  string
		forge func(h *harness, mine, other *http.Cookie) []*http.Cookie
	}{
		{"FlowTampered", func(h *harness, mine, _ *http.Cookie) []*http.Cookie {
			return []*http.Cookie{{Name: mine.Name, Value: flip(mine.Value)}}
		}},
		{"FlowTruncated", func(h *harness, mine, _ *http.Cookie) []*http.Cookie {
			return []*http.Cookie{{Name: mine.Name, Value: mine.Value[:len(mine.Value)/2]}}
		}},
		{"FlowEmpty", func(h *harness, mine, _ *http.Cookie) []*http.Cookie {
			return []*http.Cookie{{Name: mine.Name, Value: ""}}
		}},
		{"FlowGarbage", func(h *harness, mine, _ *http.Cookie) []*http.Cookie {
			return []*http.Cookie{{Name: mine.Name, Value: strings.Repeat("%00{}|", 600)}}
		}},
		{"FlowUnderAnotherFlowsName", func(h *harness, mine, other *http.Cookie) []*http.Cookie {
			// Two logins in two tabs, their values swapped.
			return []*http.Cookie{{Name: mine.Name, Value: other.Value}, {Name: other.Name, Value: mine.Value}}
		}},
		{"FlowFromAnotherAppsKeys", func(h *harness, mine, _ *http.Cookie) []*http.Cookie {
			elsewhere := h.manager(h.cfg.BaseURL, []oauthlogin.CookieKey{oauthlogin.GenerateCookieKey()})
			begin := serve(elsewhere, "GET", h.beginURL("test"), nil)
			c := begin.Cookies()[0]
			return []*http.Cookie{{Name: mine.Name, Value: c.Value}, c}
		}},
		{"SessionCookieAsFlow", func(h *harness, mine, _ *http.Cookie) []*http.Cookie {
			return []*http.Cookie{{Name: mine.Name, Value: strings.Repeat("A", 43)}}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			b := oauthlogintest.NewBrowser()
			cb := h.toCallback(b, "test")
			mine, theirs := flowCookie(t, h, b), flowCookie(t, h, nil)
			forged := tc.forge(h, mine, theirs)
			resp := serve(h.m, "GET", cb.String(), forged)
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
				t.Fatalf("callback = %d %s", resp.StatusCode, resp.Header.Get("Location"))
			}
			for _, c := range resp.Cookies() {
				if strings.Contains(c.Name, "session") && c.Value != "" {
					t.Fatal("a session cookie was set")
				}
			}
			h.hits("token", 0)
			if w := h.store.writes(); w != "" {
				t.Fatal(w)
			}
		})
	}

	// Session cookies the Manager did not issue, or no longer honours, are
	// anonymous on every route: 401, never a 500.
	t.Run("SessionCookiesForged", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		b := oauthlogintest.NewBrowser()
		h.mustSucceed(b, h.login(b))
		real := sessionCookie(t, h, b)
		elsewhere := newHarness(t)
		eb := oauthlogintest.NewBrowser()
		elsewhere.mustSucceed(eb, elsewhere.login(eb))
		for name, value := range map[string]string{
			"Tampered":        flip(real.Value),
			"Truncated":       real.Value[:len(real.Value)/2],
			"Extended":        real.Value + "A",
			"Empty":           "",
			"Garbage":         "%00%ff';<script>",
			"Huge":            strings.Repeat("A", 4000),
			"FromAnotherApp":  sessionCookie(t, elsewhere, eb).Value,
			"SessionID":       h.sessionJSON(b)["id"].(string), // the public id is not the token
			"FlowCookieValue": strings.Repeat("B", 200),
		} {
			for _, route := range []struct{ method, path string }{
				{"GET", "/auth/session"}, {"GET", "/auth/identities"}, {"GET", "/auth/sessions"},
				{"DELETE", "/auth/session"}, {"POST", "/auth/refresh"}, {"DELETE", "/auth/sessions"},
			} {
				resp := serve(h.m, route.method, h.app.URL+route.path, []*http.Cookie{{Name: real.Name, Value: value}})
				if resp.StatusCode != http.StatusUnauthorized {
					t.Errorf("%s: %s %s = %d", name, route.method, route.path, resp.StatusCode)
				}
			}
		}
		// The real session survived all of that.
		if _, status := h.session(b); status != http.StatusOK {
			t.Fatalf("the real session is gone: %d", status)
		}
	})

	t.Run("CopiedSessionCookieDeadAfterLogout", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		b := oauthlogintest.NewBrowser()
		h.mustSucceed(b, h.login(b))
		copied := sessionCookie(t, h, b)
		if resp := h.do(b, "DELETE", "/auth/session", nil); resp.StatusCode != http.StatusNoContent {
			t.Fatalf("logout = %d", resp.StatusCode)
		}
		if resp := serve(h.m, "GET", h.app.URL+"/auth/session", []*http.Cookie{copied}); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("copied cookie after logout = %d", resp.StatusCode)
		}
	})

	// A new session id at every login, whatever cookie the browser had
	// (session fixation), and the old one ends.
	t.Run("SessionRotatesAtLogin", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		b := oauthlogintest.NewBrowser()
		planted := &http.Cookie{Name: "oauthlogin_session", Value: strings.Repeat("F", 43), Path: "/"}
		b.Client.Jar.SetCookies(mustParse(t, h.app.URL), []*http.Cookie{planted})
		h.mustSucceed(b, h.login(b))
		first := sessionCookie(t, h, b)
		if first.Value == planted.Value {
			t.Fatal("the planted session cookie was kept")
		}
		h.mustSucceed(b, h.login(b))
		second := sessionCookie(t, h, b)
		if second.Value == first.Value {
			t.Fatal("a second login kept the session token")
		}
		if resp := serve(h.m, "GET", h.app.URL+"/auth/session", []*http.Cookie{first}); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("the session before the second login = %d", resp.StatusCode)
		}
	})

	t.Run("SessionRotatesAtLinking", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		other := h.addIDP("other")
		other.SetUser(oauthlogintest.User{Subject: "user-9", Email: "ada@work.example"})
		b := oauthlogintest.NewBrowser()
		before := h.mustSucceed(b, h.login(b))
		old := sessionCookie(t, h, b)
		form := url.Values{"link": {"1"}, "success": {h.app.URL + "/done"}, "failure": {h.app.URL + "/failed"}}
		resp := h.do(b, "POST", "/auth/other", strings.NewReader(form.Encode()),
			"Content-Type", "application/x-www-form-urlencoded", "Sec-Fetch-Site", "same-origin")
		after := h.mustSucceed(b, h.visit(b, resp.Header.Get("Location")))
		if after["userId"] != before["userId"] || after["provider"] != "other" || after["id"] == before["id"] {
			t.Fatalf("before %v, after %v", before, after)
		}
		if sessionCookie(t, h, b).Value == old.Value {
			t.Fatal("linking kept the session token")
		}
		if resp := serve(h.m, "GET", h.app.URL+"/auth/session", []*http.Cookie{old}); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("the session before linking = %d", resp.StatusCode)
		}
	})

	// Rotating the cookie keys (new key first, the old one kept for a
	// flow lifetime, then dropped, as Config.Keys.Cookie says) logs nobody
	// out, and a login begun before the rotation finishes after it.
	// keepTokens: the provider tokens must still open with the new key
	// only; without it, the session must merely survive.
	keyRotation := func(t *testing.T, tokenKeys [][]byte, keepTokens bool) {
		h := newHarness(t, withConfig(func(c *oauthlogin.Config) { c.Keys.Token = tokenKeys }))
		b := oauthlogintest.NewBrowser()
		before := h.mustSucceed(b, h.login(b))
		cookie := sessionCookie(t, h, b)
		pending := oauthlogintest.NewBrowser()
		cb := h.toCallback(pending, "test")
		oldKey, newKey := h.cfg.Keys.Cookie[0], oauthlogin.GenerateCookieKey()
		during := h.manager(h.cfg.BaseURL, []oauthlogin.CookieKey{newKey, oldKey})
		after := h.manager(h.cfg.BaseURL, []oauthlogin.CookieKey{newKey})
		if resp := serve(during, "GET", cb.String(), pending.Client.Jar.Cookies(cb)); resp.StatusCode != http.StatusFound ||
			!strings.HasSuffix(resp.Header.Get("Location"), "/done") {
			t.Fatalf("flow begun before the rotation = %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		for _, step := range []struct {
			name string
			m    *oauthlogin.Manager
		}{{"new and old keys", during}, {"new key only", after}} {
			resp := serve(step.m, "GET", h.app.URL+"/auth/session", []*http.Cookie{cookie})
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s: GET /auth/session = %d", step.name, resp.StatusCode)
			}
			s := decodeJSON(t, resp)
			if s["userId"] != before["userId"] {
				t.Fatalf("%s: session %v", step.name, s)
			}
			if (keepTokens || step.m == during) && (s["providerAccessToken"] != before["providerAccessToken"] || s["hasProviderRefreshToken"] != true) {
				t.Fatalf("%s: the provider tokens are lost: %v", step.name, s)
			}
		}
	}
	t.Run("CookieKeyRotationKeepsSessions", func(t *testing.T) {
		t.Parallel()
		keyRotation(t, [][]byte{randomKey(32)}, true)
	})
	t.Run("CookieKeyRotationWithDerivedTokenKeys", func(t *testing.T) {
		t.Parallel()
		keyRotation(t, nil, false)
	})

	// Cookies stay small whatever the provider sends: tokens live on the
	// server, so no Set-Cookie nears the 4096-byte browser limit.
	t.Run("SetCookieUnder4096WithLargeTokens", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.behave(oauthlogintest.Behavior{AccessTokenSize: 8 << 10, Claims: map[string]any{"pad": strings.Repeat("x", 6<<10)}})
		b := oauthlogintest.NewBrowser()
		s := h.mustSucceed(b, h.login(b))
		if n := len(s["providerAccessToken"].(string)); n < 8<<10 {
			t.Fatalf("access token of %d bytes", n)
		}
		if n := len(h.idp.LastIDToken()); n < 6<<10 {
			t.Fatalf("ID token of %d bytes", n)
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.maxCookie == 0 || h.maxCookie > 4096 {
			t.Fatalf("longest Set-Cookie: %d bytes", h.maxCookie)
		}
	})
}

// manager returns another Manager (another instance, or the same app at
// another base URL) with the harness's store and provider.
func (h *harness) manager(base string, keys []oauthlogin.CookieKey) *oauthlogin.Manager {
	h.t.Helper()
	m, err := oauthlogin.New(oauthlogin.Config{BaseURL: base, Keys: oauthlogin.Keys{Cookie: keys, Token: h.cfg.Keys.Token},
		Store: h.store, Sessions: h.cfg.Sessions, Logger: h.cfg.Logger})
	if err != nil {
		h.t.Fatal(err)
	}
	h.register(m, h.idp, "test", providers.Config{})
	return m
}

// recordedLogin runs a login through m's handlers directly (for a base URL
// nothing listens on) and returns the flow and session cookies it set.
func recordedLogin(t *testing.T, h *harness, m *oauthlogin.Manager, base string) (flow, session *http.Cookie) {
	t.Helper()
	begin := serve(m, "GET", base+"/auth/test", nil)
	if begin.StatusCode != http.StatusFound || len(begin.Cookies()) != 1 {
		t.Fatalf("begin = %d, cookies %v", begin.StatusCode, begin.Cookies())
	}
	flow = begin.Cookies()[0]
	host := mustParse(t, base).Host
	page, err := oauthlogintest.NewBrowser().Visit(context.Background(), begin.Header.Get("Location"), func(u *url.URL) bool { return u.Host == host })
	if err != nil || page.Location == nil {
		t.Fatalf("provider hop: %v", err)
	}
	resp := serve(m, "GET", page.Location.String(), []*http.Cookie{flow})
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != base+"/" {
		t.Fatalf("callback = %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	for _, c := range resp.Cookies() {
		h.log.secret(c.Value)
		if strings.Contains(c.Name, "session") {
			session = c
		} else if c.Name == flow.Name && c.MaxAge >= 0 {
			t.Fatalf("flow cookie not cleared: %+v", c)
		}
	}
	h.log.secret(flow.Value)
	return flow, session
}

// flowCookie returns the flow cookie of b, or of a new login when b is nil.
func flowCookie(t *testing.T, h *harness, b *oauthlogintest.Browser) *http.Cookie {
	t.Helper()
	if b == nil {
		b = oauthlogintest.NewBrowser()
		h.toCallback(b, "test")
	}
	for _, c := range b.Client.Jar.Cookies(mustParse(t, h.app.URL+"/auth/test/callback")) {
		if strings.Contains(c.Name, "flow") {
			return c
		}
	}
	t.Fatal("no flow cookie")
	return nil
}

// sessionCookie returns b's session cookie.
func sessionCookie(t *testing.T, h *harness, b *oauthlogintest.Browser) *http.Cookie {
	t.Helper()
	for _, c := range b.Client.Jar.Cookies(mustParse(t, h.app.URL)) {
		if strings.Contains(c.Name, "session") {
			return &http.Cookie{Name: c.Name, Value: c.Value}
		}
	}
	t.Fatal("no session cookie")
	return nil
}

// sessionJSON returns b's session.
func (h *harness) sessionJSON(b *oauthlogintest.Browser) map[string]any {
	h.t.Helper()
	s, status := h.session(b)
	if status != http.StatusOK {
		h.t.Fatalf("no session: %d", status)
	}
	return s
}

func decodeJSON(t *testing.T, resp *http.Response) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func randomKey(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}
