package oauthlogin_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/internal/testapp"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
	"github.com/oauthlogin/oauthlogin/providers"
)

// sessionCookie returns the name and value of b's session cookie.
func (h *harness) sessionCookie(b *oauthlogintest.Browser) (string, string) {
	h.t.Helper()
	for _, c := range b.Client.Jar.Cookies(mustParse(h.t, h.app.URL)) {
		if c.Name == "oauthlogin_session" {
			h.logs.secret(c.Value)
			return c.Name, c.Value
		}
	}
	h.t.Fatal("no session cookie")
	return "", ""
}

// A refresh in flight when the user logs out (a thief with a copied
// cookie can keep one running) must not write the session back: its write
// is an update of an existing session only (issue 15 item 11; RFC 9700
// §4.14 and OWASP session management: a logged-out session is invalid on
// the server). With the provider's token endpoint held, refresh, log out
// (this session, or everywhere), release: the refresh answers 401
// no_session, the cookie stays dead and the store has no record.
func TestRefreshNeverResurrectsSession(t *testing.T) {
	for _, logout := range []struct{ name, method, path string }{
		{"Logout", "DELETE", "/auth/session"},
		{"SignOutEverywhere", "DELETE", "/auth/sessions"},
	} {
		t.Run(logout.name, func(t *testing.T) {
			h := newHarness(t)
			for round := range 3 {
				h.idp.Behave(oauthlogintest.Behavior{})
				b := oauthlogintest.NewBrowser()
				h.mustSucceed(h.login(b))
				v, _ := h.session(b)
				id, user := v["id"].(string), v["userId"].(string)
				name, token := h.sessionCookie(b)

				entered, release := testapp.HoldToken(h.idp)
				refresh := testapp.Send(http.DefaultClient, "POST", h.app.URL+"/auth/refresh", name, token)
				<-entered
				if got := <-testapp.Send(http.DefaultClient, logout.method, h.app.URL+logout.path, name, token); got.Status != http.StatusNoContent {
					t.Fatalf("round %d: %s = %d %v", round, logout.name, got.Status, got.Body)
				}
				release()
				got := <-refresh
				if got.Err != nil {
					t.Fatal(got.Err)
				}
				if got.Status != http.StatusUnauthorized || got.Body["error"] != oauthlogin.ErrNoSession.Code() {
					t.Fatalf("round %d: the refresh that outlived the logout = %d %v, want 401 no_session", round, got.Status, got.Body)
				}
				if got := <-testapp.Send(http.DefaultClient, "GET", h.app.URL+"/auth/session", name, token); got.Status != http.StatusUnauthorized {
					t.Fatalf("round %d: the cookie works again after logout: %d %v", round, got.Status, got.Body)
				}
				if s, err := h.store.Session(context.Background(), id); !errors.Is(err, oauthlogin.ErrNotFound) {
					t.Fatalf("round %d: the store holds the session again: %+v, %v", round, s, err)
				}
				if list, err := h.store.UserSessions(context.Background(), user); err != nil || len(list) != 0 {
					t.Fatalf("round %d: the user has %d sessions after logout, %v", round, len(list), err)
				}
			}
		})
	}
}

// Unlinking an identity ends every session that signed in with it, on any
// device, and its pending token-mode login; the current session's cookie
// is cleared when it was one of them. Sessions of the user's other
// identity stay (issue 15 item 12).
func TestUnlinkEndsIdentitySessions(t *testing.T) {
	h := newHarness(t, func(c *oauthlogin.Config) { c.NativeApps.Schemes = []string{"myapp-callback"} })
	h.register("other", providers.Config{})
	laptop, phone := oauthlogintest.NewBrowser(), oauthlogintest.NewBrowser()
	h.mustSucceed(h.login(laptop))
	h.mustSucceed(h.login(phone))
	pending := nativeLogin(t, h, "myapp-callback://auth", "myapp-callback://auth/failed").Query()
	h.logs.secret(pending.Get("secret"))
	// A third device links a second identity and keeps a session of it; a
	// fourth signs in with that one.
	linker, fourth := oauthlogintest.NewBrowser(), oauthlogintest.NewBrowser()
	h.mustSucceed(h.login(linker))
	h.idp.SetUser(oauthlogintest.User{Subject: "user-9"})
	h.mustSucceed(h.link(linker, "other"))
	page, err := fourth.Visit(context.Background(), h.beginURL("other"), nil)
	if err != nil {
		t.Fatal(err)
	}
	h.mustSucceed(page)

	laptopName, laptopToken := h.sessionCookie(laptop)
	first, err := h.store.Identity(context.Background(), h.idp.URL, "user-1")
	if err != nil {
		t.Fatal(err)
	}
	resp := h.do(laptop, "DELETE", "/auth/identities/"+first.ID)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("unlink = %d", resp.StatusCode)
	}
	cleared := false
	for _, c := range resp.Cookies() {
		cleared = cleared || c.Name == laptopName && c.MaxAge < 0
	}
	if !cleared {
		t.Fatal("unlinking the current session's identity did not clear its cookie")
	}
	if got := <-testapp.Send(http.DefaultClient, "GET", h.app.URL+"/auth/session", laptopName, laptopToken); got.Status != http.StatusUnauthorized {
		t.Fatalf("the unlinking session's cookie still works: %d %v", got.Status, got.Body)
	}
	if _, status := h.session(phone); status != http.StatusUnauthorized {
		t.Fatalf("another device's session of the unlinked identity = %d, want 401", status)
	}
	if resp, v := exchange(t, h, pending.Get("userId"), pending.Get("secret")); resp.StatusCode != http.StatusUnauthorized || v["error"] != "invalid_secret" {
		t.Fatalf("the unlinked identity's pending token-mode login = %d %v, want 401 invalid_secret", resp.StatusCode, v)
	}
	for name, b := range map[string]*oauthlogintest.Browser{"linker": linker, "fourth": fourth} {
		if v, status := h.session(b); status != http.StatusOK || v["provider"] != "other" {
			t.Fatalf("%s's session of the other identity = %d %v, want it kept", name, status, v)
		}
	}
	list, err := h.store.UserSessions(context.Background(), first.UserID)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range list {
		if s.IdentityID == first.ID {
			t.Fatalf("a session of the unlinked identity is still stored: %q", s.ID)
		}
	}
	if len(list) != 2 {
		t.Fatalf("the user has %d sessions after the unlink, want 2", len(list))
	}
}

// hasRefreshToken reads hasProviderRefreshToken from b's session JSON.
func (h *harness) hasRefreshToken(b *oauthlogintest.Browser) bool {
	h.t.Helper()
	v, status := h.session(b)
	if status != http.StatusOK {
		h.t.Fatalf("GET /auth/session = %d %v", status, v)
	}
	has, ok := v["hasProviderRefreshToken"].(bool)
	if !ok {
		h.t.Fatalf("no hasProviderRefreshToken in %v", v)
	}
	return has
}

// The session JSON's hasProviderRefreshToken says what a refresh does: a
// refresh reads the identity's tokens, so when the identity has lost its
// refresh token, every session of it says false and its refresh answers
// accordingly (issue 15 item 12). RFC 6749 §5.2: invalid_grant means the
// refresh token is no longer valid.
func TestRefreshTokenFlagFollowsIdentity(t *testing.T) {
	t.Run("RevokedGrant", func(t *testing.T) {
		h := newHarness(t)
		laptop, phone := oauthlogintest.NewBrowser(), oauthlogintest.NewBrowser()
		h.mustSucceed(h.login(laptop))
		h.mustSucceed(h.login(phone))
		if !h.hasRefreshToken(phone) {
			t.Fatal("a fresh session says it has no refresh token")
		}
		h.idp.Behave(oauthlogintest.Behavior{TokenError: "invalid_grant"})
		resp := h.do(laptop, "POST", "/auth/refresh")
		var v map[string]any
		decode(t, resp, &v)
		if resp.StatusCode != http.StatusConflict || v["error"] != oauthlogin.ErrProviderTokenRevoked.Code() {
			t.Fatalf("refresh on a revoked grant = %d %v", resp.StatusCode, v)
		}
		h.idp.Behave(oauthlogintest.Behavior{})
		for name, b := range map[string]*oauthlogintest.Browser{"laptop": laptop, "phone": phone} {
			if h.hasRefreshToken(b) {
				t.Fatalf("%s: hasProviderRefreshToken true after the grant was revoked", name)
			}
			if s, _ := h.session(b); s["providerAccessToken"] != nil {
				t.Fatalf("%s: the revoked grant's access token is still shown", name)
			}
		}
		resp = h.do(phone, "POST", "/auth/refresh")
		decode(t, resp, &v)
		if resp.StatusCode != http.StatusBadRequest || v["error"] != oauthlogin.ErrNoRefreshToken.Code() {
			t.Fatalf("the other session's refresh = %d %v, want 400 no_refresh_token", resp.StatusCode, v)
		}
		if h.hasRefreshToken(phone) {
			t.Fatal("hasProviderRefreshToken true after no_refresh_token")
		}
	})
	// A session whose identity has no refresh token (gone from the
	// identity, say by a revocation another instance saw) holds a copy
	// that refresh does not use: once a refresh finds none, the session
	// says so too, and keeps its access token.
	t.Run("IdentityWithoutRefreshToken", func(t *testing.T) {
		h := newHarness(t)
		laptop := oauthlogintest.NewBrowser()
		h.mustSucceed(h.login(laptop))
		before, _ := h.session(laptop)
		id, err := h.store.Identity(context.Background(), h.idp.URL, before["providerUid"].(string))
		if err != nil {
			t.Fatal(err)
		}
		id.ProviderTokens, id.ProviderAccessTokenExpiry = nil, time.Time{}
		if err := h.store.UpdateIdentity(context.Background(), id); err != nil {
			t.Fatal(err)
		}
		resp := h.do(laptop, "POST", "/auth/refresh")
		var v map[string]any
		decode(t, resp, &v)
		if resp.StatusCode != http.StatusBadRequest || v["error"] != oauthlogin.ErrNoRefreshToken.Code() {
			t.Fatalf("refresh = %d %v, want 400 no_refresh_token", resp.StatusCode, v)
		}
		if h.hasRefreshToken(laptop) {
			t.Fatal("hasProviderRefreshToken still true after the refresh said no_refresh_token")
		}
		if after, _ := h.session(laptop); after["providerAccessToken"] != before["providerAccessToken"] {
			t.Fatal("dropping the refresh token dropped the access token too")
		}
	})
	// A later login that gets no refresh token (a provider that issues
	// one only at first consent) keeps the grant's: every session of the
	// identity, the new one included, can still refresh, and says so.
	t.Run("LaterLoginWithoutRefreshToken", func(t *testing.T) {
		h := newHarness(t)
		laptop, phone := oauthlogintest.NewBrowser(), oauthlogintest.NewBrowser()
		h.mustSucceed(h.login(laptop))
		h.idp.Behave(oauthlogintest.Behavior{OmitRefreshToken: true})
		h.mustSucceed(h.login(phone))
		for name, b := range map[string]*oauthlogintest.Browser{"laptop": laptop, "phone": phone} {
			if !h.hasRefreshToken(b) {
				t.Fatalf("%s: hasProviderRefreshToken false after a login without a new refresh token", name)
			}
			h.pastRefreshReuse() // each asks the provider
			hits := h.idp.Hits("token")
			resp := h.do(b, "POST", "/auth/refresh")
			var v map[string]any
			decode(t, resp, &v)
			if resp.StatusCode != http.StatusOK || h.idp.Hits("token") != hits+1 {
				t.Fatalf("%s: refresh = %d %v, want 200 from the provider", name, resp.StatusCode, v)
			}
		}
	})
}
