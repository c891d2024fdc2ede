package providers_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/providers"
)

// Catalogue providers whose quirks defeat JWT client authentication are
// refused Config.ClientAuth at construction:
//
//   - Figma redeems refresh tokens at an endpoint of its own, where the
//     Manager's transport adds no assertion and the secret is gone: every
//     refresh would be an unauthenticated token request, which RFC 6749 §6
//     forbids ("the client MUST authenticate").
//   - Disqus and Etsy send the client secret with every API request (a
//     query parameter, a header), which client_secret_jwt must never send
//     (RFC 7523 §2.2; OpenID Connect Core §9): it would land in access
//     logs and proxies.
//   - Notion and Podio send token requests as JSON, which carries no
//     client assertion: every login would fail.
func TestAttackV4QuirkyProvidersRefuseClientAuth(t *testing.T) {
	secretJWT, err := providers.ClientSecretJWT(providers.JWTOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := providers.Config{ClientID: "client-1", ClientSecret: strings.Repeat("s", 40), ClientAuth: secretJWT}
	for name, build := range map[string]func(providers.Config) (*providers.OAuth2Provider, error){
		"figma":  providers.Figma,
		"disqus": providers.Disqus,
		"etsy":   providers.Etsy,
		"notion": providers.Notion,
		"podio":  providers.Podio,
	} {
		if p, err := build(cfg); !errors.Is(err, oauthlogin.ErrConfig) || !strings.Contains(err.Error(), "ClientAuth") {
			t.Errorf("%s with ClientAuth = %v, %v; want ErrConfig naming ClientAuth", name, p, err)
		}
		plain := cfg
		plain.ClientAuth = nil
		if _, err := build(plain); err != nil {
			t.Errorf("%s without ClientAuth: %v", name, err)
		}
	}
}
