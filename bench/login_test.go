package bench

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestLogin proves that each driver really logs in: the app ends at its
// success URL with a session that opens its private page, the provider's
// token and userinfo endpoints were asked, and each library sent what it
// says it sends (a nonce, an S256 PKCE challenge whose verifier the fake
// checked at the token endpoint).
func TestLogin(t *testing.T) {
	w := getWorld(t)
	want := map[string]struct{ nonce, pkce bool }{
		"floor":      {true, true},
		"oauthlogin": {true, true},
		"goth":       {false, false},
		"zitadel":    {false, true},
		"cap":        {true, true},
	}
	for _, name := range rows {
		t.Run(name, func(t *testing.T) {
			app := w.apps[name]
			b := NewBrowser(w.browsers)
			w.fake.ResetCounters()
			if err := b.Login(app, w.fake); err != nil {
				t.Fatal(err)
			}
			nonce, method := w.fake.LastRequest()
			if got := nonce != ""; got != want[name].nonce {
				t.Errorf("sends a nonce: %v, want %v", got, want[name].nonce)
			}
			if got := method == "S256" && w.fake.PKCEVerified() == 1; got != want[name].pkce {
				t.Errorf("PKCE S256 checked at the token endpoint: %v, want %v", got, want[name].pkce)
			}
			if w.fake.Hits(Token) != 1 || w.fake.Hits(UserInfo) != 1 {
				t.Errorf("token requests %d, userinfo requests %d; want 1 and 1", w.fake.Hits(Token), w.fake.Hits(UserInfo))
			}
			if status, _, err := b.Get(app.PrivateURL); err != nil || status != http.StatusOK {
				t.Errorf("private page after login: %d %v", status, err)
			}
			if status, _, err := NewBrowser(w.browsers).Get(app.PrivateURL); err != nil || status != http.StatusUnauthorized {
				t.Errorf("private page without a session: %d %v", status, err)
			}
		})
	}
}

// attacks are the bad provider answers each library is tried with.
var attacks = []struct {
	name string
	bad  Misbehavior
}{
	{"signature", Misbehavior{BadSignature: true}},
	{"nonce", Misbehavior{ReplayNonce: true}},
	{"iss", Misbehavior{Issuer: "https://evil.example"}},
	{"aud", Misbehavior{Audience: "another-client"}},
	{"exp", Misbehavior{Expired: true}},
	{"at_hash", Misbehavior{BadAtHash: true}},
	{"userinfo-sub", Misbehavior{UserInfoSub: "someone-else"}},
	{"state", Misbehavior{State: "forged-state"}},
	{"iss-param", Misbehavior{IssParam: "https://evil.example"}},
}

// refuses is what each library is expected to refuse, by attack. A
// library that accepts a bad answer skipped that check; its benchmark row
// is not doing that work.
var refuses = map[string]map[string]bool{
	"floor":      {"signature": true, "nonce": true, "iss": true, "aud": true, "exp": true, "at_hash": true, "userinfo-sub": true, "state": true, "iss-param": true},
	"oauthlogin": {"signature": true, "nonce": true, "iss": true, "aud": true, "exp": true, "at_hash": true, "userinfo-sub": true, "state": true, "iss-param": true},
	// goth decodes the ID token without checking its signature, sends no
	// nonce, and ignores at_hash and RFC 9207's iss.
	"goth": {"iss": true, "aud": true, "exp": true, "userinfo-sub": true, "state": true},
	// zitadel rp sends no nonce (so an ID token of another login passes)
	// and ignores RFC 9207's iss.
	"zitadel": {"signature": true, "iss": true, "aud": true, "exp": true, "at_hash": true, "userinfo-sub": true, "state": true},
	// cap ignores RFC 9207's iss.
	"cap": {"signature": true, "nonce": true, "iss": true, "aud": true, "exp": true, "at_hash": true, "userinfo-sub": true, "state": true},
}

// TestChecks runs every library against every attack and prints what
// each one verifies.
func TestChecks(t *testing.T) {
	w := getWorld(t)
	t.Cleanup(func() { w.fake.Behave(Misbehavior{}) })
	var table strings.Builder
	fmt.Fprintf(&table, "%-13s", "check")
	for _, name := range rows {
		fmt.Fprintf(&table, " %-10s", name)
	}
	table.WriteString("\n")
	for _, at := range attacks {
		fmt.Fprintf(&table, "%-13s", at.name)
		for _, name := range rows {
			w.fake.Behave(at.bad)
			err := NewBrowser(w.browsers).Login(w.apps[name], w.fake)
			refused := errors.Is(err, ErrRefused)
			if err != nil && !refused {
				t.Errorf("%s/%s: %v", name, at.name, err)
			}
			if refused != refuses[name][at.name] {
				t.Errorf("%s/%s: refused %v, want %v", name, at.name, refused, refuses[name][at.name])
			}
			mark := "accepts"
			if refused {
				mark = "refuses"
			}
			fmt.Fprintf(&table, " %-10s", mark)
		}
		table.WriteString("\n")
	}
	w.fake.Behave(Misbehavior{})
	for _, name := range rows {
		if err := NewBrowser(w.browsers).Login(w.apps[name], w.fake); err != nil {
			t.Errorf("%s: honest login after the attacks: %v", name, err)
		}
	}
	t.Logf("what each library refuses:\n%s", table.String())
}
