package oauthlogin

import (
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

func newFlowManager(t *testing.T) *Manager {
	t.Helper()
	m, err := New(Config{BaseURL: "http://localhost:8080", CookieKeys: []CookieKey{GenerateCookieKey()}})
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
	if _, _, err := m.findFlow(r, "test", randomToken(32)); !errors.Is(err, ErrStateMismatch) {
		t.Errorf("findFlow with another state: %v, want ErrStateMismatch", err)
	}
}

// TestFlowCookieEarlierFormat reads a flow sealed with its state, as
// earlier versions did: it still ends its login, and its state is checked
// against the callback's even though the name matched.
func TestFlowCookieEarlierFormat(t *testing.T) {
	m := newFlowManager(t)
	f := testFlow()
	state := f.State
	name := m.flowCookieName(state)

	for _, tt := range []struct {
		sealed string
		want   error
	}{
		{state, nil},
		{randomToken(32), ErrStateMismatch}, // named after one state, sealing another
	} {
		old := *f
		old.State = tt.sealed
		value, err := m.keys.encodeCookie(name, &old)
		if err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest("GET", "http://localhost:8080/auth/test/callback", nil)
		r.Header.Set("Cookie", name+"="+value)
		got, _, err := m.findFlow(r, "test", state)
		if !errors.Is(err, tt.want) || (tt.want == nil && got.Nonce != f.Nonce) {
			t.Errorf("sealed state %q: findFlow = %+v, %v; want %v", tt.sealed, got, err, tt.want)
		}
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
