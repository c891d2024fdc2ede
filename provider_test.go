package oauthlogin_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
	"github.com/oauthlogin/oauthlogin/providers"
)

func TestRegisterRefusesBadProviders(t *testing.T) {
	idp := oauthlogintest.NewServer()
	t.Cleanup(idp.Close)
	m, err := oauthlogin.New(oauthlogin.Config{BaseURL: "http://localhost:8080", Keys: oauthlogin.Keys{Cookie: []oauthlogin.CookieKey{oauthlogin.GenerateCookieKey()}}})
	if err != nil {
		t.Fatal(err)
	}
	newProvider := func(name string, pc providers.Config) oauthlogin.Provider {
		pc.ClientID = idp.ClientID
		p, err := providers.OIDC(context.Background(), name, idp.URL, pc)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	if err := m.Register(newProvider("test", providers.Config{})); err != nil {
		t.Fatal(err)
	}
	for name, p := range map[string]oauthlogin.Provider{
		"Duplicate":       newProvider("test", providers.Config{}),
		"Reserved":        namedProvider("session"),
		"UpperCase":       namedProvider("Test"),
		"Slash":           namedProvider("a/b"),
		"Space":           namedProvider("Test Provider"),
		"OverridesState":  newProvider("p1", providers.Config{AuthParams: url.Values{"state": {"fixed"}}}),
		"OverridesPKCE":   newProvider("p2", providers.Config{AuthParams: url.Values{"code_challenge_method": {"plain"}}}),
		"OverridesScopes": newProvider("p3", providers.Config{AuthParams: url.Values{"scope": {"admin"}}}),
	} {
		if err := m.Register(p); !errors.Is(err, oauthlogin.ErrConfig) {
			t.Errorf("%s: Register = %v, want ErrConfig", name, err)
		}
	}
	if got := m.Providers(); len(got) != 1 || got[0] != "test" {
		t.Fatalf("Providers() = %v", got)
	}
	// The error states the rule, the same one the providers constructors
	// enforce (TestProviderNameRuleAgrees).
	err = m.Register(namedProvider("Test Provider"))
	for _, want := range []string{`"Test Provider"`, "a-z, 0-9", "starting with a letter or digit", "route names"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Register(\"Test Provider\") = %v: does not say %q", err, want)
		}
	}
}

// namedProvider is a provider with a name the providers constructors would
// refuse, for Register's own check.
type namedProvider string

func (p namedProvider) Name() string { return string(p) }

func (p namedProvider) OAuth2Config() oauth2.Config {
	return oauth2.Config{ClientID: "id", Endpoint: oauth2.Endpoint{AuthURL: "https://idp.example/auth", TokenURL: "https://idp.example/token"}}
}

func (p namedProvider) Identify(context.Context, *oauth2.Token, string) (*oauthlogin.Profile, error) {
	return nil, errors.New("not used")
}

// Register and the providers constructors accept and refuse the same names.
func TestProviderNameRuleAgrees(t *testing.T) {
	spec := providers.Spec{
		Endpoint:    oauth2.Endpoint{AuthURL: "https://idp.example/auth", TokenURL: "https://idp.example/token"},
		UserInfoURL: "https://idp.example/user",
	}
	for _, name := range []string{"google", "a", "0", "my-idp_2", strings.Repeat("z", 64), strings.Repeat("z", 65),
		"", "Test Provider", "Google", "-a", "_a", "a.b", "a/b", "é", "session", "sessions", "refresh", "identities", "token", "device", "logout"} {
		m, err := oauthlogin.New(oauthlogin.Config{BaseURL: "http://localhost:8080", Keys: oauthlogin.Keys{Cookie: []oauthlogin.CookieKey{oauthlogin.GenerateCookieKey()}}})
		if err != nil {
			t.Fatal(err)
		}
		regErr := m.Register(namedProvider(name))
		_, ctorErr := providers.OAuth2(name, spec, providers.Config{ClientID: "id"})
		if (regErr == nil) != (ctorErr == nil) {
			t.Errorf("name %q: Register = %v, providers.OAuth2 = %v", name, regErr, ctorErr)
		}
	}
}
