package conformance_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
	"github.com/oauthlogin/oauthlogin/providers"
)

// badCallback is a case where the authorization response is refused
// before the code is redeemed: the token endpoint is never asked.
type badCallback struct {
	name   string
	behave oauthlogintest.Behavior
	edit   func(q url.Values) // changes the callback's query; nil for none
	raw    string             // appended to the callback's raw query
	code   string
}

// TestAuthorizationResponse covers the authorization request and response
// rules of RFC 6749, RFC 9700 (OAuth 2.0 Security BCP), RFC 9207 (iss) and
// RFC 7636 (PKCE).
func TestAuthorizationResponse(t *testing.T) {
	for _, tc := range []badCallback{
		{name: "StateMissing", behave: oauthlogintest.Behavior{OmitState: true}, code: "state_missing"},
		{name: "StateEmpty", edit: func(q url.Values) { q.Set("state", "") }, code: "state_missing"},
		{name: "StateWrong", edit: func(q url.Values) { q.Set("state", flip(q.Get("state"))) }, code: "state_mismatch"},
		{name: "StatePrefix", edit: func(q url.Values) { q.Set("state", q.Get("state")[:20]) }, code: "state_mismatch"},
		{name: "StateDuplicate", raw: "state=other-state-value", code: "invalid_response"},
		{name: "CodeDuplicate", raw: "code=other-code-value", code: "invalid_response"},
		{name: "IssDuplicate", raw: "iss=https%3A%2F%2Fattacker.example", code: "invalid_response"},
		{name: "ErrorDuplicate", raw: "error=access_denied&error=server_error", code: "invalid_response"},
		{name: "CodeMissing", edit: func(q url.Values) { q.Del("code") }, code: "code_missing"},
		{name: "IssuerWrong", behave: oauthlogintest.Behavior{AuthorizeIssuer: "https://attacker.example"}, code: "issuer_mismatch"},
		{name: "IssuerTrailingSlash", edit: func(q url.Values) { q.Set("iss", q.Get("iss")+"/") }, code: "issuer_mismatch"},
		{name: "IssuerMissingWhenRequired", behave: oauthlogintest.Behavior{OmitAuthorizeIssuer: true}, code: "issuer_mismatch"},
		{name: "IssuerWrongOnError", behave: oauthlogintest.Behavior{AuthorizeError: "access_denied", AuthorizeIssuer: "https://attacker.example"}, code: "issuer_mismatch"},
		{name: "ProviderDenied", behave: oauthlogintest.Behavior{AuthorizeError: "access_denied"}, code: oauthlogin.ErrProviderDenied.Code()},
		{name: "ProviderErrorOther", behave: oauthlogintest.Behavior{AuthorizeError: "temporarily_unavailable"}, code: "provider_error"},
		{name: "ErrorWithCode", raw: "error=access_denied", code: oauthlogin.ErrProviderDenied.Code()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.behave(tc.behave)
			b := oauthlogintest.NewBrowser()
			cb := h.toCallback(b, "test")
			if tc.edit != nil {
				q := cb.Query()
				tc.edit(q)
				cb.RawQuery = q.Encode()
			}
			if tc.raw != "" {
				cb.RawQuery += "&" + tc.raw
			}
			h.refused(b, h.visit(b, cb.String()), tc.code)
			h.hits("token", 0)
			h.hits("userinfo", 0)
		})
	}

	// A login attacker's callback URL (login CSRF), opened in the victim's
	// browser while the victim has a login of its own under way.
	t.Run("StateFromAnotherBrowser", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		attacker, victim := oauthlogintest.NewBrowser(), oauthlogintest.NewBrowser()
		cb := h.toCallback(attacker, "test")
		h.toCallback(victim, "test")
		h.refused(victim, h.visit(victim, cb.String()), "state_mismatch")
		// Without a login of its own, the victim has no failure URL to go to.
		fresh := oauthlogintest.NewBrowser()
		if page := h.visit(fresh, cb.String()); page.Status != http.StatusBadRequest || page.Header.Get("Location") != "" {
			t.Fatalf("callback in a browser without a flow = %d %s", page.Status, page.Header.Get("Location"))
		}
		h.noSession(fresh)
		h.hits("token", 0)
	})

	t.Run("StateExpired", func(t *testing.T) {
		t.Parallel()
		// A flow lifetime under a second has passed by the callback, and
		// nothing needs to wait for it.
		h := newHarness(t, withConfig(func(c *oauthlogin.Config) { c.Sessions.FlowLifetime = 1 }))
		b := oauthlogintest.NewBrowser()
		h.refused(b, h.login(b), "flow_expired")
		h.hits("token", 0)
	})

	t.Run("StateReplayed", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		b := oauthlogintest.NewBrowser()
		cb := h.toCallback(b, "test")
		stolen := b.Client.Jar.Cookies(cb)
		h.mustSucceed(b, h.visit(b, cb.String()))
		attacker := oauthlogintest.NewBrowser()
		attacker.Client.Jar.SetCookies(cb, stolen)
		page := h.visit(attacker, cb.String())
		if page.URL.Query().Get("error") != "state_replayed" {
			t.Fatalf("replay ended at %s", page.URL)
		}
		if _, status := h.session(attacker); status != http.StatusUnauthorized {
			t.Fatal("a replayed callback made a session")
		}
		h.hits("token", 1)
	})

	// Several instances share the one-time store: a callback replayed on
	// another instance is refused there too.
	t.Run("StateReplayedOnAnotherInstance", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		twin, err := oauthlogin.New(h.cfg)
		if err != nil {
			t.Fatal(err)
		}
		h.register(twin, h.idp, "test", providers.Config{})
		b := oauthlogintest.NewBrowser()
		cb := h.toCallback(b, "test")
		stolen := b.Client.Jar.Cookies(cb)
		h.mustSucceed(b, h.visit(b, cb.String()))
		resp := serve(twin, "GET", cb.String(), stolen)
		loc := mustParse(t, resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusFound || loc.Query().Get("error") != "state_replayed" {
			t.Fatalf("replay on another instance = %d %s", resp.StatusCode, loc)
		}
		for _, c := range resp.Cookies() {
			if strings.Contains(c.Name, "session") && c.Value != "" {
				t.Fatal("a replay on another instance made a session")
			}
		}
		h.hits("token", 1)
	})

	// state and nonce come from the Manager's random source, never from
	// the begin request.
	t.Run("InboundStateAndNonceIgnored", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		const planted = "attacker-chosen-value-attacker-chosen-value"
		b := oauthlogintest.NewBrowser()
		resp := h.do(b, "GET", strings.TrimPrefix(h.beginURL("test", "state", planted, "nonce", planted,
			"code_challenge", planted, "code_challenge_method", "plain", "redirect_uri", "https://attacker.example/cb"), h.app.URL), nil)
		loc := resp.Header.Get("Location")
		if resp.StatusCode != http.StatusFound || strings.Contains(loc, planted) || strings.Contains(loc, "attacker.example") {
			t.Fatalf("begin = %d, Location %s", resp.StatusCode, loc)
		}
		q := mustParse(t, loc).Query()
		if q.Get("code_challenge_method") != "S256" || len(q["state"]) != 1 || len(q["nonce"]) != 1 {
			t.Fatalf("authorization request %v", q)
		}
		h.mustSucceed(b, h.visit(b, loc))
	})

	// PKCE with S256, always: whatever the discovery document says.
	for _, tc := range []struct {
		name    string
		methods any
	}{
		{"PKCEWhenDiscoveryListsS256", []string{"S256"}},
		{"PKCEWhenDiscoveryListsPlainOnly", []string{"plain"}},
		{"PKCEWhenDiscoveryListsNothing", nil},
		{"PKCEWhenDiscoveryListsEmpty", []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, withDiscovery(oauthlogintest.Behavior{Discovery: map[string]any{"code_challenge_methods_supported": tc.methods}}))
			b := oauthlogintest.NewBrowser()
			resp := h.do(b, "GET", strings.TrimPrefix(h.beginURL("test"), h.app.URL), nil)
			q := mustParse(t, resp.Header.Get("Location")).Query()
			if q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 {
				t.Fatalf("PKCE = %q %q", q.Get("code_challenge_method"), q.Get("code_challenge"))
			}
			// The fake checks the verifier against the challenge.
			h.mustSucceed(b, h.visit(b, resp.Header.Get("Location")))
		})
	}

	// Parameters the authorization response has no business carrying are
	// ignored: the code is redeemed with the registered redirect URI and
	// the flow's own verifier, and the tokens come from the token endpoint.
	t.Run("CallbackExtrasIgnored", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		b := oauthlogintest.NewBrowser()
		cb := h.toCallback(b, "test")
		q := cb.Query()
		q.Set("redirect_uri", "https://attacker.example/cb")
		q.Set("code_verifier", strings.Repeat("v", 64))
		q.Set("access_token", "injected-access-token")
		q.Set("id_token", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhdHRhY2tlciJ9.")
		q.Set("token_type", "bearer")
		cb.RawQuery = q.Encode()
		s := h.mustSucceed(b, h.visit(b, cb.String()))
		if s["providerUid"] != "user-1" || s["providerAccessToken"] == "injected-access-token" {
			t.Fatalf("session %v", s)
		}
	})

	// Without authorization_response_iss_parameter_supported, a response
	// without iss is accepted; a wrong one never is.
	t.Run("IssuerMissingWhenNotAdvertised", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, withDiscovery(oauthlogintest.Behavior{Discovery: map[string]any{"authorization_response_iss_parameter_supported": nil}}))
		h.behave(oauthlogintest.Behavior{OmitAuthorizeIssuer: true})
		b := oauthlogintest.NewBrowser()
		h.mustSucceed(b, h.login(b))
	})
	t.Run("IssuerWrongWhenNotAdvertised", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, withDiscovery(oauthlogintest.Behavior{Discovery: map[string]any{"authorization_response_iss_parameter_supported": false}}))
		h.behave(oauthlogintest.Behavior{AuthorizeIssuer: "https://attacker.example"})
		b := oauthlogintest.NewBrowser()
		h.refused(b, h.login(b), "issuer_mismatch")
		h.hits("token", 0)
	})

	// Mix-up (RFC 9700 §4.4): two providers, A ("test") and B ("other").
	t.Run("MixUpCallbackOnOtherProviderRoute", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		other := h.addIDP("other")
		b := oauthlogintest.NewBrowser()
		cb := h.toCallback(b, "test")
		cb.Path = "/auth/other/callback"
		page := h.visit(b, cb.String())
		if page.URL.Query().Get("error") != "provider_mismatch" {
			t.Fatalf("ended at %s (%d)", page.URL, page.Status)
		}
		h.noSession(b)
		h.hits("token", 0)
		if other.Hits("token") != 0 {
			t.Fatal("provider B redeemed A's code")
		}
	})
	t.Run("MixUpOtherProviderResponseOnThisRoute", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		other := h.addIDP("other")
		// The attacker's provider B answers a login of its own ...
		bcb := h.toCallback(oauthlogintest.NewBrowser(), "other")
		// ... and its code and iss are put into the victim's login at A.
		b := oauthlogintest.NewBrowser()
		cb := h.toCallback(b, "test")
		q := cb.Query()
		q.Set("code", bcb.Query().Get("code"))
		q.Set("iss", bcb.Query().Get("iss"))
		cb.RawQuery = q.Encode()
		h.refused(b, h.visit(b, cb.String()), "issuer_mismatch")
		h.hits("token", 0)
		if other.Hits("token") != 0 {
			t.Fatal("B's code was redeemed")
		}
	})

	// A provider's error response is turned into a short code; its
	// error_description (or anything else it sends) is never reflected.
	for name, desc := range map[string]string{
		"HTML": `<script>alert(document.cookie)</script><img src=x onerror=alert(1)>`,
		"CRLF": "x\r\nSet-Cookie: pwned=1\r\nLocation: https://attacker.example/",
		// Long, yet within the callback's bound (8 KiB once encoded);
		// an oversized one is refused unread (TestCallbackBounds).
		"3KB": strings.Repeat("<b>A</b>", 3<<10/8),
	} {
		t.Run("ErrorDescriptionNotReflected"+name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.behave(oauthlogintest.Behavior{AuthorizeError: "access_denied"})
			b := oauthlogintest.NewBrowser()
			cb := h.toCallback(b, "test")
			q := cb.Query()
			q.Set("error_description", desc)
			q.Set("error_uri", "javascript:alert(1)")
			cb.RawQuery = q.Encode()
			resp := h.do(b, "GET", cb.RequestURI(), nil)
			body := readAll(t, resp)
			loc := resp.Header.Get("Location")
			if resp.StatusCode != http.StatusFound || strings.ContainsAny(loc, "<>\r\n") || strings.Contains(loc, "pwned") || strings.Contains(loc, "javascript") {
				t.Fatalf("callback = %d, Location %q", resp.StatusCode, loc)
			}
			for k, vs := range resp.Header {
				for _, v := range vs {
					if strings.Contains(v, "pwned") || strings.Contains(v, "<script>") || strings.Contains(k, "pwned") {
						t.Fatalf("header %s: %s", k, v)
					}
				}
			}
			if strings.Contains(body, "script") || strings.Contains(body, "pwned") || strings.Contains(body, "AAAA") {
				t.Fatalf("body reflects the description: %.200s", body)
			}
			if h.log.contains("<script>") || h.log.contains("pwned") {
				t.Fatal("the log holds the description")
			}
			h.refused(b, h.visit(b, loc), oauthlogin.ErrProviderDenied.Code())
		})
	}

	// The error code itself is not reflected either, however hostile.
	t.Run("ErrorCodeNotReflected", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.behave(oauthlogintest.Behavior{AuthorizeError: "<script>alert(1)</script>\r\nX-Pwned: 1"})
		b := oauthlogintest.NewBrowser()
		h.refused(b, h.login(b), "provider_error")
		if h.log.contains("\r\nX-Pwned") {
			t.Fatal("the log holds a raw CR LF from the provider")
		}
	})

	// Redirects to the provider are 302 (GET) or 303 (POST): never 307 or
	// 308, which would make the browser repeat a POST, body and all.
	t.Run("RedirectStatus", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.addIDP("other")
		b := oauthlogintest.NewBrowser()
		resp := h.do(b, "GET", strings.TrimPrefix(h.beginURL("test"), h.app.URL), nil)
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("begin (GET) = %d", resp.StatusCode)
		}
		h.mustSucceed(b, h.login(b))
		form := url.Values{"link": {"1"}, "success": {h.app.URL + "/done"}, "failure": {h.app.URL + "/failed"}}
		resp = h.do(b, "POST", "/auth/other", strings.NewReader(form.Encode()),
			"Content-Type", "application/x-www-form-urlencoded", "Sec-Fetch-Site", "same-origin")
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("begin (POST, link) = %d", resp.StatusCode)
		}
		// The callback's own redirect, on success and on failure.
		cb := h.toCallback(b, "test")
		if resp := h.do(b, "GET", cb.RequestURI(), nil); resp.StatusCode != http.StatusFound {
			t.Fatalf("callback = %d", resp.StatusCode)
		}
		cb = h.toCallback(b, "test")
		if resp := h.do(b, "GET", cb.RequestURI()+"&code=x", nil); resp.StatusCode != http.StatusFound {
			t.Fatalf("failed callback = %d", resp.StatusCode)
		}
	})

	// Every callback answer, success, failure or no flow at all, keeps the
	// URL (which holds the code) out of caches and Referer headers.
	t.Run("CallbackHeaders", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		b := oauthlogintest.NewBrowser()
		check := func(what string, resp *http.Response) {
			t.Helper()
			if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
				t.Errorf("%s: Cache-Control %q", what, cc)
			}
			if rp := resp.Header.Get("Referrer-Policy"); rp != "no-referrer" {
				t.Errorf("%s: Referrer-Policy %q", what, rp)
			}
		}
		cb := h.toCallback(b, "test")
		check("success", h.do(b, "GET", cb.RequestURI(), nil))
		cb = h.toCallback(b, "test")
		q := cb.Query()
		q.Del("code")
		check("failure", h.do(b, "GET", cb.Path+"?"+q.Encode(), nil))
		check("no flow", h.do(oauthlogintest.NewBrowser(), "GET", cb.RequestURI(), nil))
		check("POST", h.do(b, "POST", cb.Path, strings.NewReader(cb.RawQuery), "Content-Type", "application/x-www-form-urlencoded"))
	})

	// The implicit and hybrid flows are refused at begin (RFC 9700 §2.1.2).
	t.Run("ImplicitFlowRefused", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		for _, rt := range []string{"token", "id_token", "code id_token", "code token", "none"} {
			b := oauthlogintest.NewBrowser()
			resp := h.do(b, "GET", strings.TrimPrefix(h.beginURL("test", "response_type", rt), h.app.URL), nil)
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" || !strings.Contains(readAll(t, resp), "unsupported_response_type") {
				t.Fatalf("response_type=%s: %d", rt, resp.StatusCode)
			}
		}
		h.hits("authorize", 0)
	})
}

// flip changes the first character of s.
func flip(s string) string {
	if strings.HasPrefix(s, "A") {
		return "B" + s[1:]
	}
	return "A" + s[1:]
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	var b strings.Builder
	if _, err := io.Copy(&b, resp.Body); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
