package providers_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/internal/testapp"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
	"github.com/oauthlogin/oauthlogin/providers"
)

// awkwardSecret has every character that must be form-encoded before it
// goes into HTTP Basic (RFC 6749 §2.3.1): ':' would split it, '%' and '+'
// would be misread when decoded, and non-ASCII needs UTF-8 escapes.
const awkwardSecret = "a:b%c+d é/="

func TestClientAuthentication(t *testing.T) {
	for _, style := range []struct {
		name  string
		style oauth2.AuthStyle
	}{
		{"Discovered", oauth2.AuthStyleAutoDetect},
		{"InHeader", oauth2.AuthStyleInHeader},
		{"InParams", oauth2.AuthStyleInParams},
	} {
		t.Run(style.name, func(t *testing.T) {
			idp := testapp.NewIdP(t)
			idp.SetClientSecret(awkwardSecret)
			p := newOIDC(t, idp, providers.Config{ClientSecret: awkwardSecret, AuthStyle: style.style})
			tok := login(t, p, "n")
			if _, err := p.Identify(t.Context(), tok, "n"); err != nil {
				t.Errorf("Identify: %v", err)
			}

			// The same client with another secret is refused: the
			// exchange above authenticated for real.
			wrong := newOIDC(t, idp, providers.Config{ClientSecret: "a:b%c+d", AuthStyle: style.style})
			var re *oauth2.RetrieveError
			if _, err := tryLogin(t.Context(), wrong.OAuth2Config(), "n"); !errors.As(err, &re) || re.Response.StatusCode != http.StatusUnauthorized {
				t.Errorf("exchange with a wrong secret: %v, want a 401 from the token endpoint", err)
			}
		})
	}
}

func TestRevoke(t *testing.T) {
	for _, style := range []struct {
		name  string
		style oauth2.AuthStyle
	}{
		{"InHeader", oauth2.AuthStyleInHeader},
		{"InParams", oauth2.AuthStyleInParams},
	} {
		t.Run(style.name, func(t *testing.T) {
			idp := testapp.NewIdP(t)
			idp.SetClientSecret(awkwardSecret)
			p := newOIDC(t, idp, providers.Config{ClientSecret: awkwardSecret, AuthStyle: style.style})
			tok := login(t, p, "n")

			if err := p.Revoke(t.Context(), tok.AccessToken, "access_token"); err != nil {
				t.Fatalf("Revoke access token: %v", err)
			}
			if !idp.Revoked(tok.AccessToken) {
				t.Error("the provider did not record the access token as revoked")
			}
			if _, err := p.Identify(t.Context(), tok, "n"); !errors.Is(err, oauthlogin.ErrProfileUnavailable) {
				t.Errorf("Identify with a revoked access token: %v, want ErrProfileUnavailable", err)
			}

			if err := p.Revoke(t.Context(), tok.RefreshToken, ""); err != nil {
				t.Fatalf("Revoke refresh token without hint: %v", err)
			}
			if !idp.Revoked(tok.RefreshToken) {
				t.Error("the provider did not record the refresh token as revoked")
			}
			if n := idp.Hits("revoke"); n != 2 {
				t.Errorf("revoke hits = %d, want 2", n)
			}
		})
	}
}

func TestRevokeRefused(t *testing.T) {
	idp := testapp.NewIdP(t)
	p := newOIDC(t, idp, providers.Config{ClientSecret: "not-the-secret"})
	err := p.Revoke(t.Context(), "some-token", "access_token")
	if err == nil {
		t.Fatal("Revoke with a wrong client secret succeeded")
	}
	if errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Revoke error %v claims the endpoint is missing", err)
	}
	if idp.Revoked("some-token") {
		t.Error("the provider revoked for an unauthenticated client")
	}
}

func TestRevokeUnreachable(t *testing.T) {
	idp := oauthlogintest.NewServer()
	p := newOIDC(t, idp, providers.Config{})
	idp.Close()
	if err := p.Revoke(t.Context(), "some-token", ""); err == nil || errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Revoke with the provider gone: %v, want a transport error", err)
	}
}

func TestRevokeOAuth2(t *testing.T) {
	idp := testapp.NewIdP(t)
	p := newOAuth2(t, idp, providers.Spec{})
	tok := login(t, p, "")
	err := p.Revoke(t.Context(), tok.AccessToken, "access_token")
	if !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Revoke without RevocationURL: %v, want errors.ErrUnsupported", err)
	}
	if n := idp.Hits("revoke"); n != 0 {
		t.Errorf("revoke hits = %d, want 0", n)
	}

	p = newOAuth2(t, idp, providers.Spec{RevocationURL: idp.URL + "/revoke"})
	if err := p.Revoke(t.Context(), tok.AccessToken, "access_token"); err != nil {
		t.Fatalf("Revoke with RevocationURL: %v", err)
	}
	if !idp.Revoked(tok.AccessToken) {
		t.Error("the provider did not record the access token as revoked")
	}
}

// noNetwork is a client whose every request fails the test: a constructor
// given a bad name must refuse it before any request.
func noNetwork(t *testing.T) *http.Client {
	return &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		t.Errorf("request to %s for a provider with a bad name", r.URL)
		return nil, errors.New("no network")
	})}
}

// A bad provider name fails at once, in every constructor, with the rule
// Manager.Register enforces.
func TestProviderNameRule(t *testing.T) {
	spec := providers.Spec{
		Endpoint:    oauth2.Endpoint{AuthURL: "https://idp.example/auth", TokenURL: "https://idp.example/token"},
		UserInfoURL: "https://idp.example/user",
	}
	for _, name := range []string{"Test Provider", "Google", "", "-x", "session", "a.b"} {
		cfg := providers.Config{ClientID: "id", ClientSecret: "secret", HTTPClient: noNetwork(t)}
		_, oidcErr := providers.OIDC(context.Background(), name, "https://idp.example", cfg)
		_, oauthErr := providers.OAuth2(name, spec, cfg)
		for ctor, err := range map[string]error{"OIDC": oidcErr, "OAuth2": oauthErr} {
			if !errors.Is(err, oauthlogin.ErrConfig) {
				t.Errorf("%s(%q): %v, want ErrConfig", ctor, name, err)
				continue
			}
			for _, want := range []string{fmt.Sprintf("%q", name), "a-z, 0-9", "starting with a letter or digit", "route names"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("%s(%q): %q does not say %q", ctor, name, err, want)
				}
			}
		}
	}
	if _, err := providers.OAuth2("my-idp_2", spec, providers.Config{ClientID: "id"}); err != nil {
		t.Fatalf("a good name is refused: %v", err)
	}
}
