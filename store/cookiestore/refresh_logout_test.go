package cookiestore_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/oauthlogin/oauthlogin/oauthlogintest"
)

// A session kept in the client cannot be ended on the server, so a
// refresh that was in flight when the browser logged out still answers
// with the refreshed session, resealed (the documented limit, issue 15
// item 11). Its behaviour is defined: the resealed session is the same
// session (same id, user and Expires) with new provider tokens only, so
// it is worth no more than a cookie copied before the logout and ends at
// the same time; a refresh never extends a client-held session.
func TestRefreshInFlightAtLogout(t *testing.T) {
	a := newApp(t, false)
	b := oauthlogintest.NewBrowser()
	page := a.login(t, b)
	_, before := a.do(t, b, "GET", "/auth/session")
	copied := b.Client.Jar.Cookies(page.URL)

	hold, entered, release := oauthlogintest.Hold()
	a.idp.Behave(oauthlogintest.Behavior{Intercept: map[string]func(http.Handler) http.Handler{"token": hold}})
	type result struct {
		resp *http.Response
		body map[string]any
		err  error
	}
	done := make(chan result, 1)
	go func() {
		req, _ := http.NewRequest("POST", a.srv.URL+"/auth/refresh", nil)
		for _, c := range copied {
			req.AddCookie(c)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- result{err: err}
			return
		}
		defer resp.Body.Close()
		var v map[string]any
		json.NewDecoder(resp.Body).Decode(&v)
		done <- result{resp: resp, body: v}
	}()
	<-entered
	if resp, _ := a.do(t, b, "DELETE", "/auth/session"); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("logout = %d", resp.StatusCode)
	}
	release()
	got := <-done
	if got.err != nil {
		t.Fatal(got.err)
	}
	if got.resp.StatusCode != http.StatusOK || got.body["providerAccessToken"] == before["providerAccessToken"] {
		t.Fatalf("the refresh in flight = %d %v", got.resp.StatusCode, got.body)
	}
	expire, err := time.Parse(time.RFC3339, before["expire"].(string))
	if err != nil {
		t.Fatal(err)
	}
	var resealed []*http.Cookie
	for _, c := range got.resp.Cookies() {
		if strings.Contains(c.Name, "session") {
			resealed = append(resealed, c)
			if c.MaxAge <= 0 || time.Now().Add(time.Duration(c.MaxAge)*time.Second).After(expire.Add(time.Second)) {
				t.Fatalf("the resealed cookie lives %d s, past the session's expiry %v", c.MaxAge, expire)
			}
		}
	}
	if len(resealed) == 0 {
		t.Fatal("the refresh sent no resealed session")
	}
	again := oauthlogintest.NewBrowser()
	again.Client.Jar.SetCookies(page.URL, resealed)
	resp, v := a.do(t, again, "GET", "/auth/session")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the resealed session = %d %v", resp.StatusCode, v)
	}
	for _, k := range []string{"id", "userId", "createdAt", "expire"} {
		if v[k] != before[k] {
			t.Fatalf("the resealed session's %s = %v, want %v: a refresh must not make a new or longer session", k, v[k], before[k])
		}
	}
}

// With sessions in the client, a revoked grant cannot be dropped from the
// other devices' cookies at once; each learns it at its own next refresh,
// which answers no_refresh_token and reseals the session without its
// refresh token, so that hasProviderRefreshToken says false from then on
// (issue 15 item 12, the client-held form of it).
func TestRevokedGrantOnAnotherDevice(t *testing.T) {
	a := newApp(t, false)
	laptop, phone := oauthlogintest.NewBrowser(), oauthlogintest.NewBrowser()
	a.login(t, laptop)
	a.login(t, phone)
	a.idp.Behave(oauthlogintest.Behavior{TokenError: "invalid_grant"})
	if resp, v := a.do(t, laptop, "POST", "/auth/refresh"); resp.StatusCode != http.StatusConflict {
		t.Fatalf("refresh on a revoked grant = %d %v", resp.StatusCode, v)
	}
	a.idp.Behave(oauthlogintest.Behavior{})
	if _, v := a.do(t, laptop, "GET", "/auth/session"); v["hasProviderRefreshToken"] != false {
		t.Fatalf("the refreshing device's session after the revocation: %v", v)
	}
	if resp, v := a.do(t, phone, "POST", "/auth/refresh"); resp.StatusCode != http.StatusBadRequest || v["error"] != "no_refresh_token" {
		t.Fatalf("the other device's refresh = %d %v, want 400 no_refresh_token", resp.StatusCode, v)
	}
	if _, v := a.do(t, phone, "GET", "/auth/session"); v["hasProviderRefreshToken"] != false {
		t.Fatalf("the other device's session after its refresh said no_refresh_token: %v", v)
	}
}
