package oauthlogin_test

import (
	"net/http"
	"testing"

	"github.com/oauthlogin/oauthlogin/oauthlogintest"
)

// attack2SessionValue returns b's session cookie value.
func attack2SessionValue(t *testing.T, h *harness, b *oauthlogintest.Browser) string {
	t.Helper()
	for _, c := range b.Client.Jar.Cookies(mustParse(t, h.app.URL)) {
		if c.Name == "oauthlogin_session" {
			return c.Value
		}
	}
	t.Fatal("no session cookie")
	return ""
}

// attack2Get sends method path with exactly the given Cookie header.
func attack2Get(t *testing.T, h *harness, method, path, cookie string) int {
	t.Helper()
	req, _ := http.NewRequest(method, h.app.URL+path, nil)
	req.Header.Set("Cookie", cookie)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestTossedTwinEndsStolenSession: SECURITY.md's threat
// model says a stolen cookie must not be usable "after logout or after the
// next login", and "A session cookie copied before logout is dead after
// it" (TestCookies/CopiedSessionCookieDeadAfterLogout). A twin tossed into
// the victim's browser (sibling host or narrower Path over http, RFC 6265
// §8.6) makes DELETE /auth/session answer 401 without deleting the session
// from the store, and makes the next login skip deleting the previous
// session (startSession reads cookieToken, which is "" on a duplicate).
// The copy the attacker took earlier keeps working after both. Neither
// copy is used when there are two, so deleting the sessions each copy
// names would be safe.
func TestTossedTwinEndsStolenSession(t *testing.T) {
	t.Run("Logout", func(t *testing.T) {
		h := newHarness(t)
		b := oauthlogintest.NewBrowser()
		h.mustSucceed(h.login(b))
		stolen := attack2SessionValue(t, h, b)
		h.logs.secret(stolen)
		both := "oauthlogin_session=" + stolen + "; oauthlogin_session=tossed"
		if got := attack2Get(t, h, "DELETE", "/auth/session", both); got != http.StatusUnauthorized && got != http.StatusNoContent {
			t.Fatalf("logout = %d", got)
		}
		if got := attack2Get(t, h, "GET", "/auth/session", "oauthlogin_session="+stolen); got != http.StatusUnauthorized {
			t.Fatalf("the copy taken before logout: GET /auth/session = %d, want 401", got)
		}
	})
	t.Run("NextLogin", func(t *testing.T) {
		h := newHarness(t)
		b := oauthlogintest.NewBrowser()
		h.mustSucceed(h.login(b))
		stolen := attack2SessionValue(t, h, b)
		h.logs.secret(stolen)
		// The tossed twin, at a narrower path the callback falls under.
		u := mustParse(t, h.app.URL+"/auth/")
		b.Client.Jar.SetCookies(u, []*http.Cookie{{Name: "oauthlogin_session", Value: "tossed", Path: "/auth/"}})
		h.mustSucceed(h.login(b))
		if got := attack2Get(t, h, "GET", "/auth/session", "oauthlogin_session="+stolen); got != http.StatusUnauthorized {
			t.Fatalf("the copy taken before the next login: GET /auth/session = %d, want 401", got)
		}
	})
}
