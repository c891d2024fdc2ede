package providers_test

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"testing"

	"golang.org/x/oauth2"

	"github.com/oauthlogin/oauthlogin"
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

// newIDP starts a fake provider that is closed when the test ends.
func newIDP(t testing.TB) *oauthlogintest.Server {
	t.Helper()
	idp := oauthlogintest.NewServer()
	t.Cleanup(idp.Close)
	return idp
}

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
	verifier := oauth2.GenerateVerifier()
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier)}
	if nonce != "" {
		opts = append(opts, oauth2.SetAuthURLParam("nonce", nonce))
	}
	back, _ := url.Parse(redirectURI)
	page, err := oauthlogintest.NewBrowser().Visit(ctx, cfg.AuthCodeURL("state-1", opts...),
		func(u *url.URL) bool { return u.Host == back.Host })
	if err != nil {
		return nil, err
	}
	if page.Location == nil {
		return nil, &loginError{"the provider did not redirect back: " + string(page.Body)}
	}
	q := page.Location.Query()
	if q.Get("code") == "" {
		return nil, &loginError{"no code in the redirect: " + page.Location.String()}
	}
	return cfg.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
}

type loginError struct{ msg string }

func (e *loginError) Error() string { return "login: " + e.msg }

// TestMain runs the tests with an http.DefaultTransport that keeps no idle
// connections. Tests here run in parallel and some talk through the
// default client (x/oauth2 and go-oidc use it without a client in their
// context), and every httptest.Server.Close closes the default transport's
// idle connections, which can break a connection another test has just
// taken from the pool ("http: CloseIdleConnections called").
func TestMain(m *testing.M) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DisableKeepAlives = true
	http.DefaultTransport = tr
	os.Exit(m.Run())
}
