package oauthlogin_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/oauthlogin/oauthlogin/oauthlogintest"
)

// BenchmarkBegin is GET {prefix}{provider}: random values, PKCE, the sealed
// flow cookie and the authorization URL.
func BenchmarkBegin(b *testing.B) {
	h := newHarness(b)
	handler := h.m.Handler()
	req := httptest.NewRequest("GET", h.beginURL("test"), nil)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, req)
		if w.Code != http.StatusFound {
			b.Fatal(w.Code)
		}
	}
}

// BenchmarkAuthenticated is a request through RequireSession: a hash and
// one store lookup.
func BenchmarkAuthenticated(b *testing.B) {
	h := newHarness(b)
	handler := h.m.RequireSession(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	benchSignedIn(b, handler, signedInRequest(b, h, "GET", "/private"))
}

// BenchmarkLogin is a whole login over loopback HTTP, as a browser makes it:
// begin, the fake provider's authorize, the callback (token POST, ID token
// verification, userinfo GET, identity and session writes), the success
// page. It includes the fake provider's own work, RSA signing among it.
func BenchmarkLogin(b *testing.B) {
	h := newHarness(b)
	br := oauthlogintest.NewBrowser()
	u := h.beginURL("test")
	b.ReportAllocs()
	for b.Loop() {
		page, err := br.Visit(context.Background(), u, nil)
		if err != nil || page.URL.Path != "/done" {
			b.Fatal(err, page.URL)
		}
	}
}

// BenchmarkRefreshNotDue is POST {prefix}refresh?ifExpiring=1 on a
// session whose token is fresh: the overhead of the refresh path when
// there is nothing to do.
func BenchmarkRefreshNotDue(b *testing.B) {
	h := newHarness(b)
	benchSignedIn(b, h.m.Handler(), signedInRequest(b, h, "POST", "/auth/refresh?ifExpiring=1"))
}

// BenchmarkRefreshForced is POST {prefix}refresh past the reuse window: lock,
// identity read, the token POST to the fake provider over loopback, two
// sealed writes.
func BenchmarkRefreshForced(b *testing.B) {
	h := newHarness(b)
	benchSignedIn(b, h.m.Handler(), signedInRequest(b, h, "POST", "/auth/refresh"), h.pastRefreshReuse)
}

// BenchmarkRefreshReused is POST {prefix}refresh within the reuse window of
// the last refresh: lock, identity read, one sealed write, no provider
// request.
func BenchmarkRefreshReused(b *testing.B) {
	h := newHarness(b)
	h.clock.stop()
	benchSignedIn(b, h.m.Handler(), signedInRequest(b, h, "POST", "/auth/refresh"))
}

// signedInRequest logs in and returns a same-origin request carrying the
// session cookie.
func signedInRequest(b *testing.B, h *harness, method, path string) *http.Request {
	br := oauthlogintest.NewBrowser()
	h.mustSucceed(h.login(br))
	req := httptest.NewRequest(method, h.app.URL+path, nil)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for _, c := range br.Client.Jar.Cookies(mustParse(b, h.app.URL)) {
		req.AddCookie(c)
	}
	return req
}

// benchSignedIn serves req to handler b.N times, each answered 200, after
// calling each of before first, every time.
func benchSignedIn(b *testing.B, handler http.Handler, req *http.Request, before ...func()) {
	b.ReportAllocs()
	for b.Loop() {
		for _, f := range before {
			f()
		}
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatal(w.Code, w.Body)
		}
	}
}
