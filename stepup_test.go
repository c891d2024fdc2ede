package oauthlogin_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/internal/testapp"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
	"github.com/oauthlogin/oauthlogin/providers"
)

// beginAt begins a login in b and stops at the redirect to the provider;
// it returns the begin's answer.
func (h *harness) beginAt(b *oauthlogintest.Browser, provider string, extra ...string) *oauthlogintest.Page {
	h.t.Helper()
	page, err := b.Visit(context.Background(), h.beginURL(provider, extra...), func(*url.URL) bool { return true })
	if err != nil {
		h.t.Fatal(err)
	}
	return page
}

// lastSession returns the newest stored session of the fake's user-1.
func (h *harness) lastSession() *oauthlogin.Session {
	h.t.Helper()
	ctx := context.Background()
	id, err := h.store.Identity(ctx, h.idp.URL, "user-1")
	if err != nil {
		h.t.Fatal(err)
	}
	sessions, err := h.store.UserSessions(ctx, id.UserID)
	if err != nil || len(sessions) == 0 {
		h.t.Fatalf("no session: %v", err)
	}
	last := sessions[0]
	for _, s := range sessions {
		if s.Created.After(last.Created) {
			last = s
		}
	}
	return last
}

// OpenID Connect Core §3.1.2.1: prompt, login_hint, max_age, acr_values and
// ui_locales are authorization request parameters; begin passes them on.
func TestBeginLoginParamsSent(t *testing.T) {
	h := newHarness(t)
	page := h.beginAt(oauthlogintest.NewBrowser(), "test",
		"prompt", "login consent", "login_hint", "ada@example.com", "max_age", "0300",
		"acr_values", "urn:mace:incommon:iap:silver mfa", "ui_locales", "fr-CA en")
	if page.Status != http.StatusFound || page.Location == nil {
		t.Fatalf("begin answered %d: %s", page.Status, page.Body)
	}
	q := page.Location.Query()
	want := map[string]string{
		"prompt": "login consent", "login_hint": "ada@example.com", "max_age": "300",
		"acr_values": "urn:mace:incommon:iap:silver mfa", "ui_locales": "fr-CA en",
		"client_id": h.idp.ClientID, "response_type": "code", "code_challenge_method": "S256",
		"redirect_uri": h.app.URL + "/auth/test/callback", "scope": "openid email profile",
	}
	for k, v := range want {
		if got := q[k]; len(got) != 1 || got[0] != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	for _, k := range []string{"state", "nonce", "code_challenge"} {
		if len(q.Get(k)) != 43 {
			t.Errorf("%s = %q", k, q.Get(k))
		}
	}
}

// The begin's own prompt replaces the provider's (Google's prompt=consent
// with OfflineAccess, say); the provider's other parameters stay.
func TestBeginLoginParamsOverrideProviderAuthParams(t *testing.T) {
	h := newHarness(t)
	h.register("fixed", providers.Config{AuthParams: url.Values{"prompt": {"consent"}, "hd": {"example.com"}}})
	q := h.beginAt(oauthlogintest.NewBrowser(), "fixed", "prompt", "select_account").Location.Query()
	if !slices.Equal(q["prompt"], []string{"select_account"}) || q.Get("hd") != "example.com" {
		t.Errorf("prompt = %q, hd = %q; want [select_account], example.com", q["prompt"], q.Get("hd"))
	}
	q = h.beginAt(oauthlogintest.NewBrowser(), "fixed").Location.Query()
	if !slices.Equal(q["prompt"], []string{"consent"}) {
		t.Errorf("without a begin prompt, prompt = %q, want [consent]", q["prompt"])
	}
}

// Anything malformed is refused with 400 invalid_auth_param, and no flow
// is begun.
func TestBeginLoginParamsMalformed(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct{ name, key, value string }{
		{"PromptNoneNotAlone", "prompt", "none login"},
		{"PromptUnknown", "prompt", "create"},
		{"PromptRepeatedValue", "prompt", "login login"},
		{"PromptDoubleSpace", "prompt", "login  consent"},
		{"LoginHintNewline", "login_hint", "ada@example.com\r\nX: y"},
		{"LoginHintNonASCII", "login_hint", "adä@example.com"},
		{"LoginHintTooLong", "login_hint", strings.Repeat("a", 257)},
		{"MaxAgeNegative", "max_age", "-1"},
		{"MaxAgePlus", "max_age", "+5"},
		{"MaxAgeExponent", "max_age", "1e3"},
		{"MaxAgeOverAYear", "max_age", "31536001"},
		{"MaxAgeHuge", "max_age", "99999999999999999999"},
		{"ACRDoubleSpace", "acr_values", "a  b"},
		{"ACRQuote", "acr_values", `a"b`},
		{"ACRTwice", "acr_values", "mfa mfa"},
		{"ACRTooLong", "acr_values", strings.Repeat("a", 257)},
		{"UILocaleUnderscore", "ui_locales", "en_US"},
		{"UILocaleLongSubtag", "ui_locales", "en-abcdefghi"},
		{"UILocaleDigitFirst", "ui_locales", "1en"},
		{"UILocalesTooLong", "ui_locales", strings.Repeat("en ", 43) + "en"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := h.do(oauthlogintest.NewBrowser(), http.MethodGet, strings.TrimPrefix(h.beginURL("test", tc.key, tc.value), h.app.URL))
			mustAnswerCode(t, resp, http.StatusBadRequest, "invalid_auth_param")
			if len(resp.Cookies()) != 0 {
				t.Errorf("a refused begin set cookies: %v", resp.Cookies())
			}
		})
	}
	t.Run("Repeated", func(t *testing.T) {
		resp := h.do(oauthlogintest.NewBrowser(), http.MethodGet,
			strings.TrimPrefix(h.beginURL("test", "login_hint", "a", "login_hint", "b"), h.app.URL))
		mustAnswerCode(t, resp, http.StatusBadRequest, "invalid_auth_param")
	})
}

// mustAnswerCode checks a JSON error answer.
func mustAnswerCode(t *testing.T, resp *http.Response, status int, code string) {
	t.Helper()
	var v struct{ Error string }
	if resp.StatusCode != status {
		t.Fatalf("status = %d, want %d", resp.StatusCode, status)
	}
	decode(t, resp, &v)
	if v.Error != code {
		t.Fatalf("error = %q, want %q", v.Error, code)
	}
}

// max_age and acr_values are checked against the ID token: a plain OAuth
// 2.0 provider has none, so they are refused for it; prompt is not.
func TestMaxAgeAndACRNeedOpenIDProvider(t *testing.T) {
	h := newHarness(t)
	h.plain("plain", func() string { return `{"sub": "p-1"}` })
	for _, kv := range [][2]string{{"max_age", "0"}, {"acr_values", "mfa"}} {
		resp := h.do(oauthlogintest.NewBrowser(), http.MethodGet, strings.TrimPrefix(h.beginURL("plain", kv[0], kv[1]), h.app.URL))
		mustAnswerCode(t, resp, http.StatusBadRequest, "invalid_auth_param")
	}
	if page := h.beginAt(oauthlogintest.NewBrowser(), "plain", "prompt", "login"); page.Status != http.StatusFound || page.Location.Query().Get("prompt") != "login" {
		t.Fatalf("prompt=login with a plain provider: %d %v", page.Status, page.Location)
	}
}

// OpenID Connect Core §3.1.2.1 (max_age): "the End-User's authentication
// ... older than max_age" makes the provider authenticate again, and the
// ID token then carries auth_time. A step-up with max_age=0 gets a fresh
// auth_time, which the session records.
func TestStepUpMaxAgeFresh(t *testing.T) {
	h := newHarness(t)
	b := oauthlogintest.NewBrowser()
	h.mustSucceed(h.login(b))
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	h.idp.SetAuthTime(old)
	h.mustSucceed(h.login(b))
	if got := h.lastSession().AuthTime; !got.Equal(old) {
		t.Fatalf("without max_age, session AuthTime = %v, want the provider session's %v", got, old)
	}
	before := time.Now().Truncate(time.Second)
	h.mustSucceed(h.login(b, "max_age", "0"))
	if got := h.lastSession().AuthTime; got.Before(before) {
		t.Fatalf("after max_age=0, session AuthTime = %v, want at least %v", got, before)
	}
}

// OpenID Connect Core §3.1.3.7 step 12: "If a max_age request is made,
// the Client SHOULD check the auth_time Claim value and request
// re-authentication if it determines too much time has elapsed". A
// provider that ignores max_age (an old auth_time) fails the login, past a
// two-minute leeway for clock skew.
func TestAuthTimeTooOld(t *testing.T) {
	h := newHarness(t)
	h.clock.stop()
	// The fake stamps auth_time now: the Manager's clock runs ahead.
	h.clock.advance(600*time.Second + 3*time.Minute)
	b := oauthlogintest.NewBrowser()
	h.mustFail(h.login(b, "max_age", "600"), "auth_too_old")
	h.mustHaveNoSession(b)

	h.clock.advance(-2 * time.Minute) // 600 s + 1 min: within the leeway
	h.mustSucceed(h.login(oauthlogintest.NewBrowser(), "max_age", "600"))
}

// §3.1.2.1: with max_age, auth_time is REQUIRED in the ID token. Without
// max_age its absence is no error.
func TestAuthTimeMissingWithMaxAge(t *testing.T) {
	h := newHarness(t)
	h.idp.Behave(oauthlogintest.Behavior{Claims: map[string]any{"auth_time": nil}})
	b := oauthlogintest.NewBrowser()
	h.mustFail(h.login(b, "max_age", "3600"), "auth_too_old")
	h.mustHaveNoSession(b)
	h.mustSucceed(h.login(b))
}

// acr_values are treated as essential (§5.5.1.1): the ID token's acr must
// be one of them. The honest fake steps up to the first value asked, and
// the session records it.
func TestStepUpACR(t *testing.T) {
	h := newHarness(t)
	h.idp.SetUser(oauthlogintest.User{Subject: "user-1", ACR: "pwd"})
	b := oauthlogintest.NewBrowser()
	h.mustSucceed(h.login(b))
	if got := h.lastSession().ACR; got != "pwd" {
		t.Fatalf("session ACR = %q, want pwd", got)
	}
	h.mustSucceed(h.login(b, "acr_values", "mfa phr"))
	s := h.lastSession()
	if got := s.ACR; got != "mfa" {
		t.Fatalf("after a step-up, session ACR = %q, want mfa", got)
	}
	// GET {prefix}session shows them, for a browser app's step-up check.
	v, status := h.session(b)
	if status != http.StatusOK || v["acr"] != "mfa" || v["authTime"] != s.AuthTime.UTC().Format(time.RFC3339) || s.AuthTime.IsZero() {
		t.Fatalf("GET session = %d %v, want acr mfa and authTime %v", status, v, s.AuthTime)
	}
}

// A provider that answers with a lower acr than asked, or none, fails the
// login: acr_not_satisfied, no session.
func TestACRNotSatisfied(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    oauthlogintest.Behavior
	}{
		{"Lower", oauthlogintest.Behavior{ACR: "pwd"}},
		{"Missing", oauthlogintest.Behavior{Claims: map[string]any{"acr": nil}}},
		{"CaseDiffers", oauthlogintest.Behavior{ACR: "MFA"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.idp.Behave(tc.b)
			b := oauthlogintest.NewBrowser()
			h.mustFail(h.login(b, "acr_values", "mfa phr"), "acr_not_satisfied")
			h.mustHaveNoSession(b)
		})
	}
}

// acr is a string (OpenID Connect Core §2); anything else is an invalid
// ID token.
func TestACRNotAString(t *testing.T) {
	h := newHarness(t)
	h.idp.Behave(oauthlogintest.Behavior{Claims: map[string]any{"acr": []string{"mfa"}}})
	b := oauthlogintest.NewBrowser()
	h.mustFail(h.login(b, "acr_values", "mfa"), "id_token_invalid")
	h.mustHaveNoSession(b)
}

// OpenID Connect Core §3.1.2.6: a prompt=none request that the provider
// cannot answer without the user gets login_required (nobody signed in),
// consent_required, interaction_required or account_selection_required;
// each lands on the failure URL under its own code, so that the app can
// fall back to an interactive login.
func TestPromptNoneErrors(t *testing.T) {
	h := newHarness(t)
	b := oauthlogintest.NewBrowser()
	h.mustFail(h.login(b, "prompt", "none"), "login_required")
	h.mustHaveNoSession(b)
	h.mustSucceed(h.login(b)) // the interactive fallback signs in at the provider
	h.mustSucceed(h.login(oauthlogintest.NewBrowser(), "prompt", "none"))
	for _, code := range []string{"consent_required", "interaction_required", "account_selection_required", "login_required"} {
		h.idp.Behave(oauthlogintest.Behavior{PromptNoneError: code})
		h.mustFail(h.login(oauthlogintest.NewBrowser(), "prompt", "none"), code)
	}
}

// A provider configured to send acr_values or max_age with every login
// (providers.Config.AuthParams) gets them checked like a begin's: an
// answer that ignores them is refused (OpenID Connect Core §3.1.2.1 makes
// acr_values voluntary for the provider, so only the check enforces
// them), and a begin may only tighten them.
func TestProviderAuthParamsStepUpChecked(t *testing.T) {
	h := newHarness(t)
	h.idp.SetUser(oauthlogintest.User{Subject: "user-1", ACR: "pwd"})
	h.register("strict", providers.Config{AuthParams: url.Values{"acr_values": {"mfa"}}})
	h.idp.Behave(oauthlogintest.Behavior{ACR: "pwd"})
	b := oauthlogintest.NewBrowser()
	h.mustFail(testapp.Visit(context.Background(), t, b, h.beginURL("strict")), "acr_not_satisfied")
	h.mustHaveNoSession(b)
	// A begin may only tighten them: acr_values among the provider's
	// (here its only one), a max_age no larger. Looser is a 400.
	if page := testapp.Visit(context.Background(), t, b, h.beginURL("strict", "acr_values", "pwd")); page.Status != http.StatusBadRequest {
		t.Fatalf("a begin loosening acr_values = %d, want 400", page.Status)
	}
	h.idp.Behave(oauthlogintest.Behavior{ACR: "mfa"})
	h.mustSucceed(testapp.Visit(context.Background(), t, b, h.beginURL("strict", "acr_values", "mfa")))

	h.register("fresh", providers.Config{AuthParams: url.Values{"max_age": {"60"}}})
	h.idp.SetAuthTime(time.Now().Add(-time.Hour))
	h.idp.Behave(oauthlogintest.Behavior{Claims: map[string]any{"auth_time": time.Now().Add(-time.Hour).Unix()}})
	b = oauthlogintest.NewBrowser()
	h.mustFail(testapp.Visit(context.Background(), t, b, h.beginURL("fresh")), "auth_too_old")
	if _, status := h.session(b); status != http.StatusUnauthorized {
		t.Fatalf("after auth_too_old, GET session = %d, want 401", status)
	}
}

// Malformed step-up parameters among a provider's own, or any on a plain
// OAuth 2.0 provider, are refused at Register.
func TestProviderAuthParamsStepUpRefused(t *testing.T) {
	h := newHarness(t)
	for _, params := range []url.Values{
		{"max_age": {"soon"}},
		{"acr_values": {"a\"b"}},
		{"max_age": {"1", "2"}},
	} {
		p, err := providers.OIDC(t.Context(), "bad", h.idp.URL, providers.Config{ClientID: h.idp.ClientID, ClientSecret: h.idp.ClientSecret, AuthParams: params})
		if err != nil {
			t.Fatal(err)
		}
		if err := h.m.Register(p); !errors.Is(err, oauthlogin.ErrConfig) {
			t.Errorf("AuthParams %v: Register = %v, want ErrConfig", params, err)
		}
	}
}

// A sid or acr over 256 bytes is refused with the ID token: every session
// record (a cookie, a store's index key) would carry it.
func TestLoginFactsBounded(t *testing.T) {
	for _, claim := range []string{"sid", "acr"} {
		h := newHarness(t)
		h.idp.Behave(oauthlogintest.Behavior{Claims: map[string]any{claim: strings.Repeat("x", 257)}})
		b := oauthlogintest.NewBrowser()
		h.mustFail(h.login(b), "id_token_invalid")
		h.mustHaveNoSession(b)
	}
}
