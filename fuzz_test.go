package oauthlogin_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/oauthlogin/oauthlogin"
)

// codes are all the error codes a failure redirect may carry.
var codes = []string{
	oauthlogin.CodeStateMissing, oauthlogin.CodeStateMismatch, oauthlogin.CodeStateReplayed, oauthlogin.CodeFlowExpired,
	oauthlogin.CodeProviderMismatch, oauthlogin.CodeIssuerMismatch, oauthlogin.CodeInvalidResponse, oauthlogin.CodeAccessDenied,
	oauthlogin.CodeProviderError, oauthlogin.CodeCodeMissing, oauthlogin.CodeTokenExchange,
	oauthlogin.CodeIDToken, oauthlogin.CodeProfile, oauthlogin.CodeIdentityConflict, oauthlogin.CodeLinkSession, oauthlogin.CodeServerError,
}

// FuzzCallback sends arbitrary callback parameters, with and without a real
// flow cookie, by GET and by POST. Whatever arrives, the answer is a
// redirect to the failure URL with a documented code, or a 4xx; never a
// panic, never a session.
func FuzzCallback(f *testing.F) {
	h := newHarness(f)
	f.Add(true, false, "", "code", "", "", "")
	f.Add(true, true, "", "code", h.idp.URL, "", "")
	f.Add(true, false, "", "", "", "access_denied", "")
	f.Add(false, false, "state", "code", "", "", "")
	f.Add(true, false, "", "code", "https://evil.example", "", "scope=openid")
	f.Add(false, true, "\x00\xff", "%zz", "", "error", "state=a&state=b")
	f.Fuzz(func(t *testing.T, withFlow, post bool, state, code, iss, errParam, raw string) {
		var cookies []*http.Cookie
		if withFlow {
			w := httptest.NewRecorder()
			h.m.Handler().ServeHTTP(w, httptest.NewRequest("GET", h.beginURL("test"), nil))
			cookies = w.Result().Cookies()
			if state == "" {
				loc, _ := url.Parse(w.Result().Header.Get("Location"))
				state = loc.Query().Get("state")
			}
		}
		q, _ := url.ParseQuery(raw)
		if q == nil {
			q = url.Values{}
		}
		for k, v := range map[string]string{"state": state, "code": code, "iss": iss, "error": errParam} {
			if v != "" {
				q.Set(k, v)
			}
		}
		var req *http.Request
		if post {
			req = httptest.NewRequest("POST", h.app.URL+"/auth/test/callback", strings.NewReader(q.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		} else {
			req = httptest.NewRequest("GET", h.app.URL+"/auth/test/callback?"+q.Encode(), nil)
		}
		for _, c := range cookies {
			req.AddCookie(c)
		}
		w := httptest.NewRecorder()
		h.m.Handler().ServeHTTP(w, req)
		resp := w.Result()
		for _, c := range resp.Cookies() {
			if strings.Contains(c.Name, "session") {
				t.Fatalf("a session cookie was set for %v", q)
			}
		}
		switch {
		case resp.StatusCode == http.StatusFound && !post, resp.StatusCode == http.StatusSeeOther && post:
			loc, err := url.Parse(resp.Header.Get("Location"))
			if err != nil || loc.Path != "/failed" || !slices.Contains(codes, loc.Query().Get("error")) {
				t.Fatalf("redirected to %q", resp.Header.Get("Location"))
			}
		case resp.StatusCode >= 400 && resp.StatusCode < 500:
		default:
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
}
