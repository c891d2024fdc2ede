package oauthlogin_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
	"github.com/oauthlogin/oauthlogin/providers"
)

// Each provider misbehaviour ends on the failure page with its code, and
// leaves no session and no identity.
func TestLoginFailures(t *testing.T) {
	for _, tc := range []struct {
		name     string
		behave   oauthlogintest.Behavior
		code     string
		noTokens bool // the token endpoint must not have been called
	}{
		{"StateMissing", oauthlogintest.Behavior{OmitState: true}, "state_missing", true},
		{"AccessDenied", oauthlogintest.Behavior{AuthorizeError: "access_denied"}, oauthlogin.ErrProviderDenied.Code(), true},
		{"ProviderError", oauthlogintest.Behavior{AuthorizeError: "temporarily_unavailable"}, "provider_error", true},
		{"IssuerParamWrong", oauthlogintest.Behavior{AuthorizeIssuer: "https://attacker.example"}, "issuer_mismatch", true},
		{"IssuerParamMissing", oauthlogintest.Behavior{OmitAuthorizeIssuer: true}, "issuer_mismatch", true},
		{"IssuerParamWrongOnError", oauthlogintest.Behavior{AuthorizeError: "access_denied", AuthorizeIssuer: "https://attacker.example"}, "issuer_mismatch", true},
		{"Token5xx", oauthlogintest.Behavior{TokenStatus: http.StatusBadGateway}, oauthlogin.ErrTokenExchange.Code(), false},
		{"TokenInvalidGrant", oauthlogintest.Behavior{TokenError: "invalid_grant"}, oauthlogin.ErrTokenExchange.Code(), false},
		{"NoIDToken", oauthlogintest.Behavior{OmitIDToken: true}, oauthlogin.ErrInvalidIDToken.Code(), false},
		{"WrongIssuer", oauthlogintest.Behavior{IDTokenIssuer: "https://attacker.example"}, oauthlogin.ErrInvalidIDToken.Code(), false},
		{"WrongAudience", oauthlogintest.Behavior{IDTokenAudience: "another-client"}, oauthlogin.ErrInvalidIDToken.Code(), false},
		{"UntrustedExtraAudience", oauthlogintest.Behavior{IDTokenAudience: []string{"oauthlogin-test-client", "another-client"}, IDTokenAzp: "oauthlogin-test-client"}, oauthlogin.ErrInvalidIDToken.Code(), false},
		{"SeveralAudiencesNoAzp", oauthlogintest.Behavior{IDTokenAudience: []string{"oauthlogin-test-client", "oauthlogin-test-client"}}, oauthlogin.ErrInvalidIDToken.Code(), false},
		{"WrongAzp", oauthlogintest.Behavior{IDTokenAzp: "another-client"}, oauthlogin.ErrInvalidIDToken.Code(), false},
		{"WrongNonce", oauthlogintest.Behavior{IDTokenNonce: "not-the-nonce"}, oauthlogin.ErrInvalidIDToken.Code(), false},
		{"NoNonce", oauthlogintest.Behavior{OmitNonce: true}, oauthlogin.ErrInvalidIDToken.Code(), false},
		{"Expired", oauthlogintest.Behavior{ExpiresIn: -time.Minute}, oauthlogin.ErrInvalidIDToken.Code(), false},
		{"IssuedInFuture", oauthlogintest.Behavior{IssuedAtOffset: time.Hour}, oauthlogin.ErrInvalidIDToken.Code(), false},
		{"NoIssuedAt", oauthlogintest.Behavior{OmitIssuedAt: true}, oauthlogin.ErrInvalidIDToken.Code(), false},
		{"NoSubject", oauthlogintest.Behavior{Claims: map[string]any{"sub": nil}}, oauthlogin.ErrInvalidIDToken.Code(), false},
		{"NumericSubject", oauthlogintest.Behavior{Claims: map[string]any{"sub": 42}}, oauthlogin.ErrInvalidIDToken.Code(), false},
		{"BadSignature", oauthlogintest.Behavior{BadSignature: true}, oauthlogin.ErrInvalidIDToken.Code(), false},
		{"AlgNone", oauthlogintest.Behavior{AlgNone: true}, oauthlogin.ErrInvalidIDToken.Code(), false},
		{"AlgNoneCapitalized", oauthlogintest.Behavior{AlgNone: true, AlgNoneCase: "None"}, oauthlogin.ErrInvalidIDToken.Code(), false},
		{"UnknownKey", oauthlogintest.Behavior{UnknownKID: true}, oauthlogin.ErrInvalidIDToken.Code(), false},
		{"WrongAccessTokenHash", oauthlogintest.Behavior{Claims: map[string]any{"at_hash": "AAAAAAAAAAAAAAAAAAAAAA"}}, oauthlogin.ErrInvalidIDToken.Code(), false},
		{"UserInfo5xx", oauthlogintest.Behavior{UserInfoStatus: http.StatusInternalServerError}, oauthlogin.ErrProfileUnavailable.Code(), false},
		{"UserInfoOtherSubject", oauthlogintest.Behavior{UserInfoSubject: "user-2"}, oauthlogin.ErrProfileUnavailable.Code(), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.idp.Behave(tc.behave)
			b := oauthlogintest.NewBrowser()
			h.mustFail(h.login(b), tc.code)
			h.mustHaveNoSession(b)
			if got := h.idp.Hits("token"); tc.noTokens && got != 0 {
				t.Fatalf("the token endpoint was called %d times for a bad callback", got)
			}
			if got := h.idp.Hits("userinfo"); tc.code != oauthlogin.ErrProfileUnavailable.Code() && got != 0 {
				t.Fatalf("userinfo was called %d times after a bad token response", got)
			}
			if tc.code == "state_missing" {
				// A callback without a state names no flow, so ends none.
				flowCookieKept(t, h, b)
			} else {
				noFlowCookie(t, h, b)
			}
		})
	}
}

// flowCookieKept checks that b still holds a flow cookie.
func flowCookieKept(t *testing.T, h *harness, b *oauthlogintest.Browser) {
	t.Helper()
	for _, c := range b.Client.Jar.Cookies(mustParse(t, h.app.URL+"/auth/test/callback")) {
		if strings.Contains(c.Name, "flow") {
			return
		}
	}
	t.Fatal("the flow cookie was cleared")
}

// noFlowCookie checks that the failed flow's cookie was cleared.
func noFlowCookie(t *testing.T, h *harness, b *oauthlogintest.Browser) {
	t.Helper()
	for _, c := range b.Client.Jar.Cookies(mustParse(t, h.app.URL+"/auth/test/callback")) {
		if strings.Contains(c.Name, "flow") {
			t.Fatalf("flow cookie %s left behind", c.Name)
		}
	}
}

func TestTokenEndpointTimeout(t *testing.T) {
	h := newHarness(t, func(c *oauthlogin.Config) { c.HTTPClient = &http.Client{Timeout: 200 * time.Millisecond} })
	// The fake waits for the client to give up, not for this delay.
	h.idp.Behave(oauthlogintest.Behavior{TokenDelay: time.Hour})
	b := oauthlogintest.NewBrowser()
	h.mustFail(h.login(b), oauthlogin.ErrTokenExchange.Code())
	h.mustHaveNoSession(b)
}

// atCallback stops a Visit where the provider sends the browser back.
func atCallback(u *url.URL) bool { return strings.HasSuffix(u.Path, "/callback") }

// toCallback runs a login up to the callback and returns its URL.
func toCallback(t *testing.T, h *harness, b *oauthlogintest.Browser, provider string) *url.URL {
	t.Helper()
	page, err := b.Visit(context.Background(), h.beginURL(provider), atCallback)
	if err != nil || page.Location == nil {
		t.Fatalf("did not reach the callback: %v", err)
	}
	return page.Location
}

func TestStateMismatch(t *testing.T) {
	h := newHarness(t)
	b := oauthlogintest.NewBrowser()
	cb := toCallback(t, h, b, "test")
	forged := *cb
	q := forged.Query()
	q.Set("state", tamper(q.Get("state")))
	forged.RawQuery = q.Encode()
	page, err := b.Visit(context.Background(), forged.String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	h.mustFail(page, "state_mismatch")
	h.mustHaveNoSession(b)
	if h.idp.Hits("token") != 0 {
		t.Fatal("the code was redeemed")
	}
	// The forged callback named no flow of b's, so it ended none: the
	// real callback that follows still signs in.
	flowCookieKept(t, h, b)
	h.mustSucceed(visit(t, b, cb.String()))
}

func TestStateReplayed(t *testing.T) {
	h := newHarness(t)
	b := oauthlogintest.NewBrowser()
	cb := toCallback(t, h, b, "test")
	stolen := b.Client.Jar.Cookies(cb)
	h.mustSucceed(visit(t, b, cb.String()))

	// An attacker who captured the callback URL and the flow cookie replays both.
	attacker := oauthlogintest.NewBrowser()
	attacker.Client.Jar.SetCookies(cb, stolen)
	tokenHits := h.idp.Hits("token")
	page := visit(t, attacker, cb.String())
	h.mustFail(page, "state_replayed")
	if h.idp.Hits("token") != tokenHits {
		t.Fatal("a replayed callback redeemed its code again")
	}
	if _, status := h.session(attacker); status != http.StatusUnauthorized {
		t.Fatal("a replayed callback made a session")
	}
}

func TestCallbackWithoutFlowCookie(t *testing.T) {
	h := newHarness(t)
	cb := toCallback(t, h, oauthlogintest.NewBrowser(), "test")
	other := oauthlogintest.NewBrowser() // login CSRF: the victim's browser has no flow
	page := visit(t, other, cb.String())
	if page.Status != http.StatusBadRequest || !strings.Contains(string(page.Body), "state_mismatch") {
		t.Fatalf("callback without a flow = %d %s, want 400 state_mismatch", page.Status, page.Body)
	}
	if h.idp.Hits("token") != 0 {
		t.Fatal("the code was redeemed")
	}
	if _, status := h.session(other); status != http.StatusUnauthorized {
		t.Fatal("a session was made")
	}
}

func TestCallbackForAnotherProvider(t *testing.T) {
	h := newHarness(t)
	h.register("other", providers.Config{})
	b := oauthlogintest.NewBrowser()
	cb := toCallback(t, h, b, "test")
	cb.Path = "/auth/other/callback"
	h.mustFail(visit(t, b, cb.String()), "provider_mismatch")
	h.mustHaveNoSession(b)
	if h.idp.Hits("token") != 0 {
		t.Fatal("the code was redeemed")
	}
}

func TestCallbackCodeMissing(t *testing.T) {
	h := newHarness(t)
	b := oauthlogintest.NewBrowser()
	cb := toCallback(t, h, b, "test")
	q := cb.Query()
	q.Del("code")
	cb.RawQuery = q.Encode()
	h.mustFail(visit(t, b, cb.String()), "code_missing")
	h.mustHaveNoSession(b)
}

func TestCallbackRepeatedParameter(t *testing.T) {
	for _, param := range []string{"code", "iss", "state"} {
		h := newHarness(t)
		b := oauthlogintest.NewBrowser()
		cb := toCallback(t, h, b, "test")
		cb.RawQuery += "&" + param + "=" + url.QueryEscape(cb.Query().Get(param)+"x")
		page := visit(t, b, cb.String())
		h.mustFail(page, "invalid_response")
		h.mustHaveNoSession(b)
		if h.idp.Hits("token") != 0 {
			t.Fatalf("repeated %s: the code was redeemed", param)
		}
	}
}

func TestForgedFlowCookie(t *testing.T) {
	h := newHarness(t)
	b := oauthlogintest.NewBrowser()
	cb := toCallback(t, h, b, "test")
	var forged []*http.Cookie
	for _, c := range b.Client.Jar.Cookies(cb) {
		c.Value = tamper(c.Value)
		forged = append(forged, c)
	}
	b.Client.Jar.SetCookies(cb, forged)
	page := visit(t, b, cb.String())
	if page.Status != http.StatusBadRequest {
		t.Fatalf("forged flow cookie: %d %s", page.Status, page.Body)
	}
	h.mustHaveNoSession(b)
}

func TestUnknownProvider(t *testing.T) {
	h := newHarness(t)
	b := oauthlogintest.NewBrowser()
	for _, path := range []string{"/auth/nope", "/auth/nope/callback?state=x&code=y"} {
		resp := h.do(b, "GET", path)
		var v map[string]string
		decode(t, resp, &v)
		if resp.StatusCode != http.StatusNotFound || v["error"] != oauthlogin.ErrUnknownProvider.Code() {
			t.Fatalf("GET %s = %d %v", path, resp.StatusCode, v)
		}
	}
}

func TestBeginRefusesBadInput(t *testing.T) {
	h := newHarness(t, func(c *oauthlogin.Config) { c.RedirectOrigins = []string{"https://app.example.com"} })
	appHostPort := strings.TrimPrefix(h.app.URL, "http://")
	for _, tc := range []struct {
		name  string
		query url.Values
		code  string
	}{
		{"OtherHost", url.Values{"success": {"https://evil.example.com/"}}, "redirect_not_allowed"},
		{"OtherScheme", url.Values{"success": {"http://app.example.com/"}}, "redirect_not_allowed"},
		{"OtherPort", url.Values{"failure": {"https://app.example.com:8443/"}}, "redirect_not_allowed"},
		{"Subdomain", url.Values{"success": {"https://evil.app.example.com/"}}, "redirect_not_allowed"},
		{"SuffixHost", url.Values{"success": {"https://app.example.com.evil.com/"}}, "redirect_not_allowed"},
		{"UserInfo", url.Values{"success": {"https://app.example.com@evil.com/"}}, "redirect_not_allowed"},
		{"UserInfoAllowedLooking", url.Values{"success": {"https://evil.com@app.example.com/"}}, "redirect_not_allowed"},
		{"Backslash", url.Values{"success": {"https://app.example.com\\@evil.com/"}}, "redirect_not_allowed"},
		{"Relative", url.Values{"success": {"done"}}, "redirect_not_allowed"},
		{"SchemeRelative", url.Values{"success": {"//evil.com/"}}, "redirect_not_allowed"},
		{"PathBackslash", url.Values{"success": {"/\\evil.com/"}}, "redirect_not_allowed"},
		{"PathControl", url.Values{"failure": {"/done\r\nSet-Cookie: x=y"}}, "redirect_not_allowed"},
		{"JavaScript", url.Values{"failure": {"javascript:alert(1)"}}, "redirect_not_allowed"},
		{"Data", url.Values{"failure": {"data:text/html,hi"}}, "redirect_not_allowed"},
		{"AppOtherPort", url.Values{"success": {"http://" + strings.Split(appHostPort, ":")[0] + ":1/"}}, "redirect_not_allowed"},
		{"Scope", url.Values{"scopes": {"admin"}}, "scope_not_allowed"},
		{"ScopeAmongAllowed", url.Values{"scopes": {"repo,admin"}}, "scope_not_allowed"},
		{"ScopeRepeated", url.Values{"scopes": {"repo", "admin"}}, "scope_not_allowed"},
		{"Implicit", url.Values{"response_type": {"token"}}, "unsupported_response_type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := oauthlogintest.NewBrowser()
			resp := h.do(b, "GET", "/auth/test?"+tc.query.Encode())
			var v map[string]string
			decode(t, resp, &v)
			if resp.StatusCode != http.StatusBadRequest || v["error"] != tc.code || v["message"] == "" {
				t.Fatalf("= %d %v, want 400 %s", resp.StatusCode, v, tc.code)
			}
			if loc := resp.Header.Get("Location"); loc != "" {
				t.Fatalf("redirected to %s", loc)
			}
			if len(b.Client.Jar.Cookies(mustParse(t, h.app.URL+"/auth/"))) != 0 {
				t.Fatal("a flow cookie was set")
			}
		})
	}
	if h.idp.Hits("authorize") != 0 {
		t.Fatal("a refused begin reached the provider")
	}
}

func TestAllowedRedirectElsewhere(t *testing.T) {
	// An allowed origin other than the app's own: the begin accepts it,
	// normalising the default port.
	h := newHarness(t, func(c *oauthlogin.Config) { c.RedirectOrigins = []string{"https://App.Example.com:443"} })
	q := url.Values{"success": {"https://app.example.com/welcome?x=1"}, "failure": {"https://app.example.com/oops"}}
	b := oauthlogintest.NewBrowser()
	page, err := b.Visit(context.Background(), h.app.URL+"/auth/test?"+q.Encode(), func(u *url.URL) bool { return u.Host == "app.example.com" })
	if err != nil {
		t.Fatal(err)
	}
	if page.Location == nil || page.Location.String() != "https://app.example.com/welcome?x=1" {
		t.Fatalf("ended at %v", page.Location)
	}
}

func visit(t testing.TB, b *oauthlogintest.Browser, u string) *oauthlogintest.Page {
	t.Helper()
	page, err := b.Visit(context.Background(), u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return page
}

// tamper changes the last character of s to another base64url character.
func tamper(s string) string {
	last := "A"
	if strings.HasSuffix(s, last) {
		last = "B"
	}
	return s[:len(s)-1] + last
}
