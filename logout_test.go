package oauthlogin_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
	"github.com/oauthlogin/oauthlogin/providers"
)

// newLogoutHarness is a harness whose fake provider accepts the
// Manager's post_logout_redirect_uri.
func newLogoutHarness(t *testing.T, edit ...func(*oauthlogin.Config)) *harness {
	t.Helper()
	h := newHarness(t, edit...)
	h.idp.SetPostLogoutRedirectURIs(h.app.URL + "/auth/logout/callback")
	return h
}

// claim reads a claim of a JWT without verifying it.
func claim(t *testing.T, raw, name string) string {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", raw)
	}
	body, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(body, &c); err != nil {
		t.Fatal(err)
	}
	s, _ := c[name].(string)
	return s
}

// loginSID logs b in and returns the provider session id (sid) of that
// login and the app's session id.
func (h *harness) loginSID(t *testing.T, b *oauthlogintest.Browser) (sid, sessionID string) {
	t.Helper()
	h.mustSucceed(h.login(b))
	sid = claim(t, h.idp.LastIDToken(), "sid")
	if sid == "" {
		t.Fatal("the fake provider's ID token has no sid")
	}
	s, _ := h.session(b)
	return sid, s["id"].(string)
}

// providerLogoutAnswer is DELETE {prefix}session?provider=1's JSON.
type providerLogoutAnswer struct {
	ProviderLogout bool   `json:"providerLogout"`
	Redirect       string `json:"redirect"`
}

// RP-Initiated Logout 1.0 §2: "id_token_hint ... RECOMMENDED",
// "post_logout_redirect_uri ... MUST have been previously registered",
// "state ... passed back to the RP"; §3: the OP redirects to it with state.
func TestProviderLogoutEndsBothSessions(t *testing.T) {
	h := newLogoutHarness(t)
	b := oauthlogintest.NewBrowser()
	sid, sessionID := h.loginSID(t, b)
	hint := h.idp.LastIDToken()

	resp := h.do(b, "DELETE", "/auth/session?provider=1&return=/bye")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("DELETE /auth/session?provider=1 = %d", resp.StatusCode)
	}
	var a providerLogoutAnswer
	decode(t, resp, &a)
	if !a.ProviderLogout {
		t.Fatalf("answer %+v, want providerLogout true", a)
	}
	u := mustParse(t, a.Redirect)
	q := u.Query()
	if got := u.Scheme + "://" + u.Host + u.Path; got != h.idp.URL+"/logout" {
		t.Fatalf("redirect to %s, want the end_session_endpoint", got)
	}
	if q.Get("id_token_hint") != hint || q.Get("client_id") != h.idp.ClientID ||
		q.Get("post_logout_redirect_uri") != h.app.URL+"/auth/logout/callback" || len(q.Get("state")) < 43 {
		t.Fatalf("end-session request %v lacks id_token_hint, client_id, the fixed post_logout_redirect_uri or a 256-bit state", q)
	}
	if _, err := h.store.Session(context.Background(), sessionID); !errors.Is(err, oauthlogin.ErrNotFound) {
		t.Fatalf("the local session is still stored: %v", err)
	}
	page, err := b.Visit(context.Background(), a.Redirect, nil)
	if err != nil {
		t.Fatal(err)
	}
	if page.URL.Path != "/bye" || page.URL.RawQuery != "" {
		t.Fatalf("the logout ended at %s, want /bye", page.URL)
	}
	if !h.idp.LoggedOut(sid) {
		t.Fatal("the provider's session did not end")
	}
}

// The plain link: GET {prefix}logout answers 303 to the end-session
// endpoint, and the return comes back through the callback.
func TestLogoutLinkEndsProviderSession(t *testing.T) {
	h := newLogoutHarness(t)
	b := oauthlogintest.NewBrowser()
	sid, _ := h.loginSID(t, b)
	page, err := b.Visit(context.Background(), h.app.URL+"/auth/logout?return=/bye", nil)
	if err != nil {
		t.Fatal(err)
	}
	if page.URL.Path != "/bye" || !h.idp.LoggedOut(sid) {
		t.Fatalf("logout link ended at %s, provider session ended: %v", page.URL, h.idp.LoggedOut(sid))
	}
	if len(page.Visited) < 3 || page.Visited[1].Host != mustParse(t, h.idp.URL).Host {
		t.Fatalf("the link did not go through the provider: %v", page.Visited)
	}
	if _, status := h.session(b); status != http.StatusUnauthorized {
		t.Fatal("the session outlived the logout link")
	}
}

// A logout link followed from another site ends nothing (same-origin
// rules kept for the GET form).
func TestLogoutLinkCrossSiteRefused(t *testing.T) {
	h := newLogoutHarness(t)
	b := oauthlogintest.NewBrowser()
	sid, _ := h.loginSID(t, b)
	for _, site := range []string{"cross-site", "same-site"} {
		resp := h.do(b, "GET", "/auth/logout?return=/bye", "Sec-Fetch-Site", site)
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("Sec-Fetch-Site %s: %d, want 403", site, resp.StatusCode)
		}
	}
	if _, status := h.session(b); status != http.StatusOK || h.idp.LoggedOut(sid) {
		t.Fatal("a cross-site logout link ended a session")
	}
}

// A return URL off the allowlist is refused before anything ends.
func TestLogoutReturnNotAllowed(t *testing.T) {
	h := newLogoutHarness(t)
	b := oauthlogintest.NewBrowser()
	h.mustSucceed(h.login(b))
	for _, path := range []string{
		"/auth/session?provider=1&return=https://evil.example/",
		"/auth/session?provider=1&return=//evil.example/",
	} {
		if resp := h.do(b, "DELETE", path); resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("DELETE %s = %d, want 400", path, resp.StatusCode)
		}
	}
	if resp := h.do(b, "GET", "/auth/logout?return=https://evil.example/"); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("GET logout to another site = %d, want 400", resp.StatusCode)
	}
	if _, status := h.session(b); status != http.StatusOK {
		t.Fatal("a refused logout ended the session")
	}
}

// A provider without end_session_endpoint: the logout is local only, and
// the answer says so.
func TestLogoutLocalOnlyWithoutEndSession(t *testing.T) {
	h := newLogoutHarness(t)
	h.idp.Behave(oauthlogintest.Behavior{Discovery: map[string]any{"end_session_endpoint": nil}})
	h.register("plain", providers.Config{})
	h.idp.Behave(oauthlogintest.Behavior{})
	b := oauthlogintest.NewBrowser()
	page, err := b.Visit(context.Background(), h.beginURLFor("plain"), nil)
	if err != nil {
		t.Fatal(err)
	}
	h.mustSucceed(page)
	resp := h.do(b, "DELETE", "/auth/session?provider=1")
	var a providerLogoutAnswer
	decode(t, resp, &a)
	if resp.StatusCode != http.StatusOK || a.ProviderLogout || a.Redirect != "" {
		t.Fatalf("DELETE ?provider=1 = %d %+v, want 200 providerLogout false", resp.StatusCode, a)
	}

	b = oauthlogintest.NewBrowser()
	if page, err = b.Visit(context.Background(), h.beginURLFor("plain"), nil); err != nil {
		t.Fatal(err)
	}
	h.mustSucceed(page)
	page, err = b.Visit(context.Background(), h.app.URL+"/auth/logout?return=/bye", nil)
	if err != nil {
		t.Fatal(err)
	}
	if page.URL.Path != "/bye" || page.URL.Query().Get("logout") != "local" || len(page.Visited) != 2 {
		t.Fatalf("local logout link went %v, want straight to /bye?logout=local", page.Visited)
	}
}

func (h *harness) beginURLFor(provider string) string { return h.a.BeginURL(provider) }

// RP-Initiated Logout 1.0 §3: the RP checks the state it sent. A state
// from another browser's logout (swapped), a replayed callback (the
// cookie gone, or kept and the state spent), and a callback without a
// logout all fail.
func TestLogoutCallbackState(t *testing.T) {
	h := newLogoutHarness(t)
	start := func() (*oauthlogintest.Browser, *url.URL) {
		b := oauthlogintest.NewBrowser()
		h.mustSucceed(h.login(b))
		page, err := b.Visit(context.Background(), h.app.URL+"/auth/logout?return=/bye", func(u *url.URL) bool {
			return u.Path == "/auth/logout/callback"
		})
		if err != nil || page.Location == nil {
			t.Fatalf("logout did not come back to the callback: %v", err)
		}
		return b, page.Location
	}
	victim, victimBack := start()
	attacker, attackerBack := start()

	// Swapped: the attacker's callback in the victim's browser.
	page, err := victim.Visit(context.Background(), attackerBack.String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if page.URL.Path != "/bye" || page.URL.Query().Get("error") != "logout_state_mismatch" {
		t.Fatalf("swapped state ended at %s, want /bye?error=logout_state_mismatch", page.URL)
	}
	// The victim's cookie is spent by the failed try: its own callback
	// now finds none.
	if resp := h.do(victim, "GET", victimBack.RequestURI()); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("callback after a failed one = %d, want 400", resp.StatusCode)
	}

	// Replayed with the cookie kept: the state is spent across instances.
	cbURL := mustParse(t, h.app.URL+"/auth/logout/callback")
	jar := attacker.Client.Jar.Cookies(cbURL)
	if len(jar) == 0 {
		t.Fatal("no logout-state cookie to keep")
	}
	page, err = attacker.Visit(context.Background(), attackerBack.String(), nil)
	if err != nil || page.URL.Path != "/bye" || page.URL.RawQuery != "" {
		t.Fatalf("first callback ended at %v (%v), want /bye", page.URL, err)
	}
	attacker.Client.Jar.SetCookies(cbURL, jar)
	page, err = attacker.Visit(context.Background(), attackerBack.String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if page.URL.Query().Get("error") != "logout_state_mismatch" {
		t.Fatalf("replayed callback ended at %s, want error=logout_state_mismatch", page.URL)
	}

	// No logout-state cookie: no URL to trust.
	resp := h.do(oauthlogintest.NewBrowser(), "GET", "/auth/logout/callback?state=x")
	var v map[string]string
	decode(t, resp, &v)
	if resp.StatusCode != http.StatusBadRequest || v["error"] != "logout_state_mismatch" {
		t.Fatalf("callback without cookie = %d %v", resp.StatusCode, v)
	}
}

// The hint is the session's own login's ID token, after a refresh that
// returns none and after one that returns a new one.
func TestLogoutHintSurvivesRefresh(t *testing.T) {
	h := newLogoutHarness(t)
	b := oauthlogintest.NewBrowser()
	h.mustSucceed(h.login(b))
	first := h.idp.LastIDToken()
	hint := func() string {
		resp := h.do(b, "DELETE", "/auth/session?provider=1")
		var a providerLogoutAnswer
		decode(t, resp, &a)
		return mustParse(t, a.Redirect).Query().Get("id_token_hint")
	}
	h.pastRefreshReuse()
	if resp := h.do(b, "POST", "/auth/refresh"); resp.StatusCode != http.StatusOK {
		t.Fatalf("refresh = %d", resp.StatusCode)
	}
	if got := hint(); got != first {
		t.Fatal("a refresh without an ID token lost the login's ID token")
	}
	h.mustSucceed(h.login(b))
	second := h.idp.LastIDToken()
	h.idp.Behave(oauthlogintest.Behavior{IDTokenOnRefresh: true})
	h.pastRefreshReuse()
	if resp := h.do(b, "POST", "/auth/refresh"); resp.StatusCode != http.StatusOK {
		t.Fatalf("refresh = %d", resp.StatusCode)
	}
	// The refreshed grant's ID token may be another browser's (every
	// session of an identity refreshes its latest login's grant): the
	// session keeps its own login's.
	if got := hint(); got != second || got == first || got == h.idp.LastIDToken() {
		t.Fatal("the hint is not the session's own login's ID token")
	}
}

// The link without a session (signed out already) goes straight to
// return, marked local.
func TestLogoutLinkWithoutSession(t *testing.T) {
	h := newLogoutHarness(t)
	page, err := oauthlogintest.NewBrowser().Visit(context.Background(), h.app.URL+"/auth/logout?return=/bye", func(*url.URL) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	if page.Status != http.StatusSeeOther || page.Location.String() != h.app.URL+"/bye?logout=local" {
		t.Fatalf("logout link without a session = %d to %v", page.Status, page.Location)
	}
}

// With RevokeOnLogout the provider logout still revokes the tokens, and
// still has the ID token for the hint (read before the revocation drops
// the identity's tokens).
func TestProviderLogoutRevokes(t *testing.T) {
	h := newLogoutHarness(t, func(c *oauthlogin.Config) { c.Sessions.RevokeOnLogout = true })
	b := oauthlogintest.NewBrowser()
	h.mustSucceed(h.login(b))
	hint := h.idp.LastIDToken()
	s, _ := h.session(b)
	sess, err := h.store.Session(context.Background(), s["id"].(string))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := h.m.ProviderToken(sess)
	if err != nil {
		t.Fatal(err)
	}
	resp := h.do(b, "DELETE", "/auth/session?provider=1")
	var a providerLogoutAnswer
	decode(t, resp, &a)
	if !a.ProviderLogout || mustParse(t, a.Redirect).Query().Get("id_token_hint") != hint {
		t.Fatalf("answer %+v lacks the hint", a)
	}
	if !h.idp.Revoked(tok.RefreshToken) {
		t.Fatal("the refresh token was not revoked")
	}
}

// A logout state is good for the flow lifetime only (on the Manager's
// clock): a return after that is logout_state_mismatch.
func TestLogoutCallbackExpired(t *testing.T) {
	h := newLogoutHarness(t)
	b := oauthlogintest.NewBrowser()
	h.mustSucceed(h.login(b))
	page, err := b.Visit(context.Background(), h.app.URL+"/auth/logout?return=/bye", func(u *url.URL) bool {
		return u.Path == "/auth/logout/callback"
	})
	if err != nil || page.Location == nil {
		t.Fatalf("logout did not come back to the callback: %v", err)
	}
	h.clock.advance(10*time.Minute + time.Second) // the default Sessions.FlowLifetime
	if page, err = b.Visit(context.Background(), page.Location.String(), nil); err != nil {
		t.Fatal(err)
	}
	if page.URL.Path != "/bye" || page.URL.Query().Get("error") != "logout_state_mismatch" {
		t.Fatalf("expired logout state ended at %s", page.URL)
	}
}
