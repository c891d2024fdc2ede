package providers_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/internal/testapp"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
	"github.com/oauthlogin/oauthlogin/providers"
)

// Identify states when and how the user authenticated: Profile.AuthTime
// from auth_time and Profile.ACR from acr (OpenID Connect Core §2), also
// when userinfo adds to the profile; a non-string acr is refused.
func TestOIDCIdentifyLoginFacts(t *testing.T) {
	idp := testapp.NewIdP(t)
	idp.SetUser(oauthlogintest.User{Subject: "u-1", ACR: "urn:example:mfa"})
	at := time.Now().Add(-time.Hour).Truncate(time.Second)
	idp.SetAuthTime(at)
	p := newOIDC(t, idp, providers.Config{})
	got, err := p.Identify(t.Context(), login(t, p, "n"), "n")
	if err != nil {
		t.Fatal(err)
	}
	if !got.AuthTime.Equal(at) || got.ACR != "urn:example:mfa" {
		t.Errorf("AuthTime, ACR = %v, %q; want %v, urn:example:mfa", got.AuthTime, got.ACR, at)
	}
	idp.Behave(oauthlogintest.Behavior{Claims: map[string]any{"auth_time": nil, "acr": nil}})
	if got, err = p.Identify(t.Context(), login(t, p, "n"), "n"); err != nil || !got.AuthTime.IsZero() || got.ACR != "" {
		t.Errorf("without the claims: %+v, %v; want zero AuthTime and empty ACR", got, err)
	}
	idp.Behave(oauthlogintest.Behavior{Claims: map[string]any{"acr": 2}})
	if _, err := p.Identify(t.Context(), login(t, p, "n"), "n"); !errors.Is(err, oauthlogin.ErrInvalidIDToken) {
		t.Errorf("acr 2: %v, want ErrInvalidIDToken", err)
	}
}

// RFC 9126 §5: PushedAuthorization reports discovery's endpoint, and
// pushes when the host asks or discovery requires it.
func TestOIDCPushedAuthorization(t *testing.T) {
	idp := testapp.NewIdP(t)
	cfg := providers.Config{ClientID: idp.ClientID, ClientSecret: idp.ClientSecret}
	for _, tc := range []struct {
		name    string
		host    bool
		require bool
		push    bool
	}{{"Off", false, false, false}, {"Host", true, false, true}, {"Required", false, true, true}} {
		idp.Behave(oauthlogintest.Behavior{RequirePAR: tc.require})
		cfg.PushAuthorizationRequests = tc.host
		p, err := providers.OIDC(context.Background(), "oidc", idp.URL, cfg)
		if err != nil {
			t.Fatal(err)
		}
		endpoint, push := p.PushedAuthorization()
		if endpoint != idp.URL+"/par" || push != tc.push {
			t.Errorf("%s: PushedAuthorization = %q, %v; want %s/par, %v", tc.name, endpoint, push, idp.URL, tc.push)
		}
	}
}
