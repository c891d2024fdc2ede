package oauthlogin

import (
	"net/url"
	"strings"
	"testing"
)

// Well-formed values pass unchanged (max_age normalized), and reach the
// flow where the callback checks them.
func TestLoginParamsAccepted(t *testing.T) {
	rp := &registered{name: "p"}
	for _, tc := range []struct{ key, value, want string }{
		{"prompt", "none", "none"},
		{"prompt", "select_account consent login", "select_account consent login"},
		{"login_hint", "ada@example.com", "ada@example.com"},
		{"login_hint", strings.Repeat("a", maxLoginHint), strings.Repeat("a", maxLoginHint)},
		{"ui_locales", "zh-Hant-TW en-GB x-private i-klingon de", "zh-Hant-TW en-GB x-private i-klingon de"},
		{"ui_locales", "es-419", "es-419"},
	} {
		f := &flow{}
		got, err := rp.loginParams(url.Values{tc.key: {tc.value}}, f)
		if err != nil || got.Get(tc.key) != tc.want || len(got) != 1 {
			t.Errorf("%s=%q: %v, %v; want %q", tc.key, tc.value, got, err, tc.want)
		}
	}
	if got, err := rp.loginParams(url.Values{"success": {"/"}, "prompt": {""}}, &flow{}); got != nil || err != nil {
		t.Errorf("no per-login parameters: %v, %v; want nil (the fast path)", got, err)
	}
}

// max_age and acr_values are sealed in the flow; max_age=0 is kept (it
// asks for a new authentication), not taken for "none".
func TestLoginParamsSealed(t *testing.T) {
	rp := &registered{name: "p", oidc: fakeOpenID{}}
	f := &flow{}
	got, err := rp.loginParams(url.Values{"max_age": {"000"}, "acr_values": {"urn:a b"}}, f)
	if err != nil || got.Get("max_age") != "0" || f.StepUp == nil || f.StepUp.MaxAge == nil || *f.StepUp.MaxAge != 0 || f.StepUp.ACRValues != "urn:a b" {
		t.Fatalf("loginParams = %v, %v; flow StepUp %+v", got, err, f.StepUp)
	}
}

// fakeOpenID is an OpenIDProvider for loginParams, which only tells one
// from a plain OAuth 2.0 provider.
type fakeOpenID struct{ OpenIDProvider }

// FuzzLoginParams: whatever a begin sends, loginParams does not panic,
// and what it accepts is bounded and has only VSCHAR bytes, so that it
// cannot break the authorization URL or the pushed form.
func FuzzLoginParams(f *testing.F) {
	f.Add("login consent", "ada@example.com", "0", "urn:a b", "en-GB fr")
	f.Add("none", "\x00", "-1", "a  b", "en_US")
	rp := &registered{name: "p", oidc: fakeOpenID{}}
	f.Fuzz(func(t *testing.T, prompt, hint, maxAge, acr, locales string) {
		q := url.Values{"prompt": {prompt}, "login_hint": {hint}, "max_age": {maxAge}, "acr_values": {acr}, "ui_locales": {locales}}
		got, err := rp.loginParams(q, &flow{})
		if err != nil {
			return
		}
		for k, vs := range got {
			if len(vs) != 1 || len(vs[0]) > 256 {
				t.Fatalf("%s = %q", k, vs)
			}
			if checkVSChars(k, vs[0], 256) != nil {
				t.Fatalf("%s = %q has a byte outside VSCHAR", k, vs[0])
			}
		}
	})
}
