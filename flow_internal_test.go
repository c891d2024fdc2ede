package oauthlogin

import (
	"crypto/sha256"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

func newFlowManager(t *testing.T) *Manager {
	t.Helper()
	m, err := New(Config{BaseURL: "http://localhost:8080", Keys: Keys{Cookie: []CookieKey{GenerateCookieKey()}}})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func testFlow() *flow {
	return &flow{Provider: "test", State: randomToken(32), Verifier: oauth2.GenerateVerifier(), Nonce: "in-memory-only",
		Success: "http://localhost:8080/done", Failure: "http://localhost:8080/failed", Expires: time.Now().Add(time.Hour).Unix()}
}

// TestFlowCookieSealsNeitherStateNorNonce opens a flow cookie with the
// Manager's key: the state and nonce are not in it, the rest is, and the
// callback's state is what findFlow hands back.
func TestFlowCookieSealsNeitherStateNorNonce(t *testing.T) {
	m := newFlowManager(t)
	f := testFlow()
	w := httptest.NewRecorder()
	if err := m.setFlowCookie(w, f, false); err != nil {
		t.Fatal(err)
	}
	c := w.Result().Cookies()[0]
	if c.Name != m.flowCookieName(f.State) {
		t.Fatalf("cookie %q, want it named after the state", c.Name)
	}
	var raw map[string]any
	if err := m.keys.decodeCookie(c.Name, c.Value, &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"s", "n"} {
		if _, ok := raw[k]; ok {
			t.Errorf("the sealed flow has %q: %v", k, raw)
		}
	}
	if raw["v"] != f.Verifier || raw["p"] != "test" {
		t.Errorf("the sealed flow lost its verifier or provider: %v", raw)
	}

	r := httptest.NewRequest("GET", "http://localhost:8080/auth/test/callback", nil)
	r.AddCookie(c)
	got, name, err := m.findFlow(r, "test", f.State)
	if err != nil || name != c.Name || got.State != f.State || got.Verifier != f.Verifier {
		t.Fatalf("findFlow = %+v, %q, %v", got, name, err)
	}
	// Another state names another cookie: the flow is not found by it.
	if _, _, err := m.findFlow(r, "test", randomToken(32)); !errors.Is(err, errStateMismatch) {
		t.Errorf("findFlow with another state: %v, want errStateMismatch", err)
	}
}

// TestFlowCookieEarlierFormat reads flows sealed as earlier versions did:
// named after a 96-bit digest of the state, which they seal with the
// nonce. Such a flow, begun before an upgrade, still ends its login, and
// its sealed state is checked against the callback's.
func TestFlowCookieEarlierFormat(t *testing.T) {
	m := newFlowManager(t)
	f := testFlow()
	f.Nonce = "sealed-nonce"
	state := f.State
	sum := sha256.Sum256([]byte(state))
	earlier := m.digestCookieName(sum[:earlierFlowDigest]) // the name earlier versions gave it

	for _, tt := range []struct {
		what   string
		name   string
		sealed string
		want   error
	}{
		{"earlier name", earlier, state, nil},
		{"earlier name, another state sealed", earlier, randomToken(32), errStateMismatch},
		{"current name, another state sealed", m.flowCookieName(state), randomToken(32), errStateMismatch},
	} {
		old := *f
		old.State = tt.sealed
		value, err := m.keys.encodeCookie(tt.name, &old)
		if err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest("GET", "http://localhost:8080/auth/test/callback", nil)
		r.Header.Set("Cookie", tt.name+"="+value)
		got, name, err := m.findFlow(r, "test", state)
		wantName := tt.name
		if tt.want != nil {
			wantName = "" // another state's flow: not this callback's to end
		}
		if !errors.Is(err, tt.want) || got == nil || name != wantName {
			t.Errorf("%s: findFlow = %+v, %q, %v; want %v", tt.what, got, name, err, tt.want)
			continue
		}
		if tt.want == nil && (got.Nonce != "sealed-nonce" || got.nonce(&registered{oidc: openIDStub{}}) != "sealed-nonce") {
			t.Errorf("%s: nonce %q, want the sealed one", tt.what, got.Nonce)
		}
	}

	// An earlier-named cookie without a sealed state is not a flow this
	// or an earlier version made.
	name := earlier
	stateless := *f
	stateless.State = ""
	value, err := m.keys.encodeCookie(name, &stateless)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "http://localhost:8080/auth/test/callback", nil)
	r.Header.Set("Cookie", name+"="+value)
	if _, _, err := m.findFlow(r, "test", state); err == nil {
		t.Error("an earlier-named flow without its state was accepted")
	}
}

// TestFlowNonce checks the derived nonce: fixed for a verifier, different
// for another, not the public PKCE challenge, and kept from an earlier
// cookie that sealed one.
func TestFlowNonce(t *testing.T) {
	oidcRP, plain := &registered{oidc: openIDStub{}}, &registered{}
	f := testFlow()
	f.Nonce = ""
	n := f.nonce(oidcRP)
	if n == "" || n != flowNonce(f.Verifier) || len(n) != 43 {
		t.Fatalf("nonce = %q", n)
	}
	// The derivation is fixed: a flow begun before an upgrade ends after it.
	if known := flowNonce("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"); known != "4aItpcTYiaw-Wp8ci6p2pgxmpgMhIXuU9447aUrqvnw" {
		t.Errorf("flowNonce of a known verifier = %q: the derivation changed", known)
	}
	if n == oauth2.S256ChallengeFromVerifier(f.Verifier) {
		t.Error("the nonce is the PKCE challenge, which the authorization request makes public")
	}
	if flowNonce(oauth2.GenerateVerifier()) == n {
		t.Error("two verifiers gave one nonce")
	}
	if got := f.nonce(plain); got != "" {
		t.Errorf("a plain OAuth 2 provider got nonce %q", got)
	}
	f.Nonce = "sealed-earlier"
	if got := f.nonce(oidcRP); got != "sealed-earlier" {
		t.Errorf("nonce = %q, want the sealed one", got)
	}
}

// openIDStub makes a registered provider an OpenID one.
type openIDStub struct{ OpenIDProvider }

// success and failure may be paths, resolved against BaseURL; nothing that
// a browser could read as another host, or that resolves to one, passes.
// With a BaseURL path ("/app/"), a path must stay under it (issue 16,
// attack report, defect 7): the same paths, written under /app, resolve
// the same way, and those that climb out of it are refused.
func TestPathRedirectTargets(t *testing.T) {
	for _, tc := range []struct{ base, under string }{{"https://app.example.com", ""}, {"https://app.example.com/app/", "/app"}} {
		m, err := New(Config{BaseURL: tc.base, Keys: Keys{Cookie: []CookieKey{GenerateCookieKey()}}, RedirectOrigins: []string{"https://good.example"}})
		if err != nil {
			t.Fatal(err)
		}
		base, p := tc.base, tc.under
		for raw, want := range map[string]string{
			"/":              "https://app.example.com/",
			"/me":            "https://app.example.com/me",
			"/me?tab=1#top":  "https://app.example.com/me?tab=1#top",
			"/a/../me":       "https://app.example.com/me",
			"/%2F%2Fevil":    "https://app.example.com/%2F%2Fevil",
			"/%5Cevil":       "https://app.example.com/%5Cevil",
			"/@evil.example": "https://app.example.com/@evil.example",
			"/me?q=%22x%22":  "https://app.example.com/me?q=%22x%22",
		} {
			want = strings.Replace(want, "app.example.com", "app.example.com"+p, 1)
			got, err := m.redirectTarget(p + raw)
			if err != nil || got != want {
				t.Errorf("BaseURL %s: redirectTarget(%q) = %q, %v; want %q", base, p+raw, got, err, want)
			}
		}
		if p == "" {
			for raw, want := range map[string]string{"/..": "https://app.example.com/", "/../../me": "https://app.example.com/me"} {
				if got, err := m.redirectTarget(raw); err != nil || got != want {
					t.Errorf("BaseURL %s: redirectTarget(%q) = %q, %v; want %q", base, raw, got, err, want)
				}
			}
		}
		refused := []string{
			"//evil.example", "//evil.example/me", "/\\evil.example", "\\\\evil.example", "\\/evil.example",
			"/me\\..\\..\\evil", "/me\r\nLocation: https://evil.example", "/\tevil", "/me\x00", "/me\x7f", "/ me",
			"me", "./me", "../me", "?x=1", "#x", "evil.example/me", "/" + strings.Repeat("a", maxRedirect),
		}
		if p != "" {
			refused = append(refused, "/", "/me", "/..", "/../../me", p+"/..", p+"/../me", p+"/%2e%2e/me", p+"le", p+"%2Fme")
		}
		for _, raw := range refused {
			if got, err := m.redirectTarget(raw); !errors.Is(err, errRedirectNotAllowed) || got != "" {
				t.Errorf("BaseURL %s: redirectTarget(%q) = %q, %v; want errRedirectNotAllowed", base, raw, got, err)
			}
		}
	}
}

// Token mode's app redirects stay absolute: a path is not one of them.
func TestAppRedirectTargetRefusesPaths(t *testing.T) {
	m, err := New(Config{BaseURL: "https://app.example.com", Keys: Keys{Cookie: []CookieKey{GenerateCookieKey()}}, NativeApps: NativeApps{Schemes: []string{"com.example.app"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := m.appRedirectTarget("/me"); !errors.Is(err, errRedirectNotAllowed) {
		t.Fatalf("appRedirectTarget(/me) = %q, %v", got, err)
	}
	if _, err := m.appRedirectTarget("https://app.example.com/me"); err != nil {
		t.Fatalf("the absolute form is refused: %v", err)
	}
}

// A flow cookie past its Expires (on the Manager's clock) ends the login
// with flow_expired, even if the browser still sends it.
func TestFlowExpired(t *testing.T) {
	m, err := New(Config{BaseURL: "http://localhost", Keys: Keys{Cookie: []CookieKey{GenerateCookieKey()}}, Sessions: SessionOptions{FlowLifetime: time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	m.now = func() time.Time { return now }
	f := &flow{Provider: "p", State: randomToken(32), Success: "http://localhost/ok", Failure: "http://localhost/failed", Expires: now.Add(time.Minute).Unix()}
	w := httptest.NewRecorder()
	if err := m.setFlowCookie(w, f, false); err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/auth/p/callback?state="+f.State, nil)
	for _, c := range w.Result().Cookies() {
		r.AddCookie(c)
	}
	if _, _, err := m.findFlow(r, "p", f.State); err != nil {
		t.Fatalf("live flow: %v", err)
	}
	m.now = func() time.Time { return now.Add(time.Minute) }
	got, _, err := m.findFlow(r, "p", f.State)
	if !errors.Is(err, errFlowExpired) || got == nil {
		t.Fatalf("expired flow: %v, %v; want the flow and errFlowExpired", got, err)
	}
}
