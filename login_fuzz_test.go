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
	"state_missing", "state_mismatch", "state_replayed", "flow_expired",
	"provider_mismatch", "issuer_mismatch", "invalid_response", oauthlogin.ErrProviderDenied.Code(),
	"provider_error", "code_missing", oauthlogin.ErrTokenExchange.Code(),
	oauthlogin.ErrInvalidIDToken.Code(), oauthlogin.ErrProfileUnavailable.Code(), oauthlogin.ErrIdentityConflict.Code(), "link_session_mismatch", "server_error",
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
	// Malformed and oversized responses: refused before any token request.
	f.Add(true, false, "", "code\x00", "", "", "")
	f.Add(true, true, "", "code\r\nX: y", "", "", "")
	f.Add(true, false, "", strings.Repeat("c", 4<<10+1), "", "", "")
	f.Add(true, false, "", "code", "", "", "junk="+strings.Repeat("j", 8<<10))
	f.Add(true, true, "", "code", "", "", "user="+strings.Repeat("u", 8<<10))
	f.Add(true, false, "state\t", "code", "", "", "")
	f.Add(true, false, strings.Repeat("s", 513), "code", "", "", "")
	f.Fuzz(func(t *testing.T, withFlow, post bool, state, code, iss, errParam, raw string) {
		var cookies []*http.Cookie
		own := ""
		if withFlow {
			w := httptest.NewRecorder()
			h.m.Handler().ServeHTTP(w, httptest.NewRequest("GET", h.beginURL("test"), nil))
			cookies = w.Result().Cookies()
			loc, _ := url.Parse(w.Result().Header.Get("Location"))
			own = loc.Query().Get("state")
			if state == "" {
				state = own
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
		tokens := h.idp.Hits("token")
		w := httptest.NewRecorder()
		h.m.Handler().ServeHTTP(w, req)
		resp := w.Result()
		for _, c := range resp.Cookies() {
			if strings.Contains(c.Name, "session") {
				t.Fatalf("a session cookie was set for %v", q)
			}
			// A callback that does not carry the flow's state ends no flow.
			if withFlow && q.Get("state") != own && strings.Contains(c.Name, "flow") {
				t.Fatalf("a callback with another state ended the flow: %v", q)
			}
		}
		// A response over its bounds, or with a code or state outside
		// VSCHAR, is refused before any token request.
		if len(q.Encode()) > 8<<10 || malformed(q.Get("code"), 4<<10) || malformed(q.Get("state"), 512) {
			if h.idp.Hits("token") != tokens {
				t.Fatalf("a malformed callback reached the token endpoint: %q", q.Encode())
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

// malformed reports a value over limit bytes or with a byte outside
// %x20-7E (RFC 6749 Appendix A).
func malformed(v string, limit int) bool {
	return len(v) > limit || strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r > 0x7e })
}
