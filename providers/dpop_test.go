package providers_test

import (
	"context"
	"errors"
	"testing"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/internal/testapp"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
	"github.com/oauthlogin/oauthlogin/providers"
)

var _ oauthlogin.DPoPProvider = (*providers.OIDCProvider)(nil)

// Config.DPoP is what DPoP reports; off by default.
func TestDPoPOptIn(t *testing.T) {
	idp := testapp.NewIdP(t)
	if newOIDC(t, idp, providers.Config{}).DPoP() {
		t.Fatal("DPoP is on without Config.DPoP")
	}
	if !newOIDC(t, idp, providers.Config{DPoP: true}).DPoP() {
		t.Fatal("DPoP is off with Config.DPoP")
	}
}

// RFC 9449 §5.1: dpop_signing_alg_values_supported lists the algorithms
// the server accepts proofs in; the Manager signs with ES256 only, so a
// provider that lists others but not ES256 is refused at construction.
// One that lists none may still do DPoP (its token_type tells).
func TestDPoPRefusedWithoutES256(t *testing.T) {
	for _, tc := range []struct {
		algs any
		ok   bool
	}{
		{[]string{"RS256", "PS256"}, false},
		{[]string{}, false},
		{[]string{"RS256", "ES256"}, true},
		{nil, true}, // the member deleted: not advertised
	} {
		idp := testapp.NewIdP(t)
		idp.Behave(oauthlogintest.Behavior{Discovery: map[string]any{"dpop_signing_alg_values_supported": tc.algs}})
		_, err := providers.OIDC(context.Background(), "test", idp.URL, providers.Config{ClientID: idp.ClientID, DPoP: true})
		if tc.ok != (err == nil) || err != nil && !errors.Is(err, oauthlogin.ErrConfig) {
			t.Errorf("algs %v: %v", tc.algs, err)
		}
		// Without DPoP the member does not matter.
		if _, err := providers.OIDC(context.Background(), "test", idp.URL, providers.Config{ClientID: idp.ClientID}); err != nil {
			t.Errorf("algs %v, DPoP off: %v", tc.algs, err)
		}
	}
}

// DPoP is for OpenID providers: a plain OAuth 2.0 provider's requests
// (user info with its own scheme, emails) are not DPoP-aware.
func TestDPoPRefusedForOAuth2(t *testing.T) {
	spec := providers.Spec{UserInfoURL: "https://example.com/me"}
	spec.Endpoint.AuthURL, spec.Endpoint.TokenURL = "https://example.com/a", "https://example.com/t"
	if _, err := providers.OAuth2("plain", spec, providers.Config{ClientID: "c", DPoP: true}); !errors.Is(err, oauthlogin.ErrConfig) {
		t.Fatalf("OAuth2 with DPoP: %v, want ErrConfig", err)
	}
}
