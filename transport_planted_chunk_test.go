package oauthlogin_test

import (
	"net/http"
	"testing"

	"github.com/oauthlogin/oauthlogin/oauthlogintest"
)

// TestPlantedChunkNeverLocksOut: cookie tossing over http (RFC
// 6265 §8.6) plants "oauthlogin_session.0" at Path=/auth/. A single
// session cookie beside a chunk is ambiguous, so every request under
// /auth/ is no session; SECURITY.md says the copies "are expired at / and
// at the request path's ancestors" so that the browser signs in again to a
// single cookie. But clearSessionCookie ends a name at narrower paths only
// when that same name is sent twice (n > 1); the single-beside-chunk case
// sends each name once, so the planted chunk is ended at "/" only, while
// the real session cookie is ended at "/". Every login after that is
// logged out again by its first request under /auth/ (GET /auth/session,
// which a single-page app asks first): a permanent lockout from one planted
// cookie that the server could have expired (it is not a Domain cookie).
func TestPlantedChunkNeverLocksOut(t *testing.T) {
	h := newHarness(t)
	b := oauthlogintest.NewBrowser()
	b.Client.Jar.SetCookies(mustParse(t, h.app.URL+"/auth/"), []*http.Cookie{{Name: "oauthlogin_session.0", Value: "planted", Path: "/auth/"}})
	for i := range 2 {
		h.mustSucceed(h.login(b))
		if _, status := h.session(b); status != http.StatusOK && i > 0 {
			t.Fatalf("login %d: GET /auth/session = %d; the planted chunk at Path=/auth/ was never expired", i+1, status)
		}
	}
}
