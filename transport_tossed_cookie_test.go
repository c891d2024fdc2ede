package oauthlogin_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/oauthlogin/oauthlogin"
)

// Cookie tossing over http (RFC 6265 §8.6): a sibling host or a page at a
// narrower Path adds a second "oauthlogin_session" cookie. SECURITY.md
// ("Cookies and sessions") claims such a request is no session and that
// "the copies are expired at / and at the request path's ancestors", so
// the browser can sign in again to a single cookie. These cases show
// copies the library never expires, leaving the user locked out wherever
// the tossed cookie is sent (a persistent denial of service).

// attack2Dup serves a request with the session cookie twice and returns
// the Paths at which the answer expires it.
func attack2Dup(t *testing.T, h http.Handler, method, target string) (int, map[string]bool) {
	t.Helper()
	r := httptest.NewRequest(method, target, nil)
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	r.AddCookie(&http.Cookie{Name: "oauthlogin_session", Value: "real"})
	r.AddCookie(&http.Cookie{Name: "oauthlogin_session", Value: "tossed"})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	paths := map[string]bool{}
	for _, c := range w.Result().Cookies() {
		if c.Name == "oauthlogin_session" && c.MaxAge < 0 {
			paths[c.Path] = true
		}
	}
	return w.Code, paths
}

func attack2Manager(t *testing.T) *oauthlogin.Manager {
	t.Helper()
	s := oauthlogin.NewMemoryStore()
	m, err := oauthlogin.New(oauthlogin.Config{BaseURL: "http://app.example", Keys: oauthlogin.Keys{Cookie: []oauthlogin.CookieKey{oauthlogin.GenerateCookieKey()}},
		Store: s})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestDuplicateCookieClearedOnEveryRoute: GET /auth/session
// expires the copies, but the other session routes (sessions list,
// identities, end one/all sessions, unlink) answer 401 and leave both.
func TestDuplicateCookieClearedOnEveryRoute(t *testing.T) {
	h := attack2Manager(t).Handler()
	for _, tc := range []struct{ method, path string }{
		{"GET", "/auth/session"}, // the control: cleared
		{"GET", "/auth/sessions"},
		{"GET", "/auth/identities"},
		{"DELETE", "/auth/sessions"},
		{"DELETE", "/auth/sessions/x"},
		{"DELETE", "/auth/identities/x"},
	} {
		code, paths := attack2Dup(t, h, tc.method, "http://app.example"+tc.path)
		if code != http.StatusUnauthorized || !paths["/"] || !paths[tc.path] {
			t.Errorf("%s %s with the session cookie twice = %d, expired at %v; want 401 and the copies expired at / and %s",
				tc.method, tc.path, code, paths, tc.path)
		}
	}
}

// TestDuplicateCookieClearedAtEscapedAndDeepPaths: a browser matches a
// cookie's Path against the request's path as sent, percent-encoding
// included (RFC 6265 §5.1.4); clearNarrower works from the decoded
// r.URL.Path, so a copy tossed at /docs/a%20b is never expired there (the
// decoded "/docs/a b" holds a space, and the loop stops), and one at a
// deep path (more than four directories under /) is cut by
// maxClearedPaths.
func TestDuplicateCookieClearedAtEscapedAndDeepPaths(t *testing.T) {
	m := attack2Manager(t)
	h := m.RequireSession(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	for _, tc := range []struct{ target, want string }{
		{"http://app.example/docs/a%20b/page", "/docs/a%20b"},
		{"http://app.example/a/b/c/d/e/page", "/a/b/c/d/e/page"},
	} {
		code, paths := attack2Dup(t, h, "GET", tc.target)
		if code != http.StatusUnauthorized || !paths[tc.want] {
			t.Errorf("GET %s with the session cookie twice = %d, expired at %v; want the copy at Path=%s expired", tc.target, code, paths, tc.want)
		}
	}
}
