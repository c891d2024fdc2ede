package providers_test

import (
	"context"
	"os"
	"testing"

	"golang.org/x/oauth2"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/internal/testapp"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
	"github.com/oauthlogin/oauthlogin/providers"
)

// The providers implement the capabilities the Manager looks for.
var (
	_ oauthlogin.OpenIDProvider = (*providers.OIDCProvider)(nil)
	_ oauthlogin.ScopeAllower   = (*providers.OIDCProvider)(nil)
	_ oauthlogin.AuthParamser   = (*providers.OIDCProvider)(nil)
	_ oauthlogin.Revoker        = (*providers.OIDCProvider)(nil)
	_ oauthlogin.Provider       = (*providers.OAuth2Provider)(nil)
	_ oauthlogin.Revoker        = (*providers.OAuth2Provider)(nil)
	_ providers.ProfileMapper   = providers.Fields{}
	_ providers.ProfileMapper   = providers.ProfileFunc(nil)
)

// redirectURI is where the fake provider sends the browser back. Nothing
// listens there: the Browser stops before requesting it.
const redirectURI = "http://127.0.0.1:1/cb"

// newOIDC returns an OIDC provider for idp with cfg, its credentials
// filled in from idp unless cfg sets them.
func newOIDC(t testing.TB, idp *oauthlogintest.Server, cfg providers.Config) *providers.OIDCProvider {
	t.Helper()
	if cfg.ClientID == "" {
		cfg.ClientID = idp.ClientID
	}
	if cfg.ClientSecret == "" {
		cfg.ClientSecret = idp.ClientSecret
	}
	p, err := providers.OIDC(context.Background(), "test", idp.URL, cfg)
	if err != nil {
		t.Fatalf("OIDC: %v", err)
	}
	return p
}

// newOAuth2 returns a plain OAuth 2.0 provider for idp's endpoints,
// without the openid scope, so that no ID token is issued.
func newOAuth2(t testing.TB, idp *oauthlogintest.Server, spec providers.Spec) *providers.OAuth2Provider {
	t.Helper()
	spec.Endpoint.AuthURL = idp.URL + "/authorize"
	spec.Endpoint.TokenURL = idp.URL + "/token"
	spec.UserInfoURL = idp.URL + "/userinfo"
	if spec.Scopes == nil {
		spec.Scopes = []string{"email", "profile"}
	}
	p, err := providers.OAuth2("plain", spec, providers.Config{ClientID: idp.ClientID, ClientSecret: idp.ClientSecret})
	if err != nil {
		t.Fatalf("OAuth2: %v", err)
	}
	return p
}

// configurer is what login needs of a provider.
type configurer interface{ OAuth2Config() oauth2.Config }

// login runs the authorization code flow with PKCE against the fake
// provider with p's client configuration and returns the token response.
// A non-empty nonce is sent in the authorization request.
func login(t testing.TB, p configurer, nonce string) *oauth2.Token {
	t.Helper()
	tok, err := tryLogin(t.Context(), p.OAuth2Config(), nonce)
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	return tok
}

// tryLogin is login for a given client configuration, returning the
// exchange's error.
func tryLogin(ctx context.Context, cfg oauth2.Config, nonce string) (*oauth2.Token, error) {
	cfg.RedirectURL = redirectURI
	return testapp.CodeFlow(ctx, cfg, nonce)
}

// TestMain runs the tests with an http.DefaultTransport that keeps no idle
// connections (see testapp.RunWithoutKeepAlives): tests here run in
// parallel and some talk through the default client.
func TestMain(m *testing.M) { os.Exit(testapp.RunWithoutKeepAlives(m)) }
