package oauthlogintest_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/oauthlogin/oauthlogin/internal/testapp"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
)

func TestNewServerDefaults(t *testing.T) {
	t.Parallel()
	idp := testapp.NewIdP(t)
	u, err := url.Parse(idp.URL)
	if err != nil {
		t.Fatal(err)
	}
	if u.Scheme != "http" || u.Hostname() != "127.0.0.1" || strings.HasSuffix(idp.URL, "/") {
		t.Errorf("URL = %q", idp.URL)
	}
	if idp.ClientID != "oauthlogin-test-client" {
		t.Errorf("ClientID = %q", idp.ClientID)
	}
	if other := testapp.NewIdP(t); len(idp.ClientSecret) != 43 || other.ClientSecret == idp.ClientSecret {
		t.Errorf("ClientSecret = %q, not 32 random bytes", idp.ClientSecret)
	}
}

func TestDiscovery(t *testing.T) {
	t.Parallel()
	idp := testapp.NewIdP(t)
	resp, err := http.Get(idp.URL + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	for name, path := range map[string]string{
		"issuer":                 "",
		"authorization_endpoint": "/authorize",
		"token_endpoint":         "/token",
		"userinfo_endpoint":      "/userinfo",
		"jwks_uri":               "/jwks",
		"revocation_endpoint":    "/revoke",
	} {
		if doc[name] != idp.URL+path {
			t.Errorf("%s = %v", name, doc[name])
		}
	}
	lists := map[string][]any{
		"response_types_supported":              {"code"},
		"subject_types_supported":               {"public"},
		"id_token_signing_alg_values_supported": {"RS256"},
		"code_challenge_methods_supported":      {"S256"},
		"token_endpoint_auth_methods_supported": {"client_secret_basic", "client_secret_post"},
		"grant_types_supported":                 {"authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code", "client_credentials"},
	}
	for name, want := range lists {
		if got, _ := doc[name].([]any); !slices.Equal(got, want) {
			t.Errorf("%s = %v, want %v", name, doc[name], want)
		}
	}
	if doc["authorization_response_iss_parameter_supported"] != true {
		t.Error("authorization_response_iss_parameter_supported is not true")
	}
	if scopes, _ := doc["scopes_supported"].([]any); !slices.Contains(scopes, any("openid")) {
		t.Errorf("scopes_supported = %v", doc["scopes_supported"])
	}

	p, err := oidc.NewProvider(t.Context(), idp.URL)
	if err != nil {
		t.Fatal(err)
	}
	if p.Endpoint().TokenURL != idp.URL+"/token" || p.Endpoint().AuthURL != idp.URL+"/authorize" {
		t.Errorf("endpoint = %+v", p.Endpoint())
	}
}

func TestDiscoveryIssuerMismatch(t *testing.T) {
	t.Parallel()
	idp := testapp.NewIdP(t)
	idp.Behave(oauthlogintest.Behavior{DiscoveryIssuer: "https://evil.example"})
	if _, err := oidc.NewProvider(t.Context(), idp.URL); err == nil {
		t.Error("go-oidc accepted a discovery document for another issuer")
	}
}

func TestHits(t *testing.T) {
	t.Parallel()
	idp := testapp.NewIdP(t)
	cfg := clientConfig(idp)
	tok := login(t, cfg)
	p, err := oidc.NewProvider(t.Context(), idp.URL)
	if err != nil {
		t.Fatal(err)
	}
	v := p.Verifier(&oidc.Config{ClientID: idp.ClientID})
	if _, err := v.Verify(t.Context(), rawIDToken(t, tok)); err != nil {
		t.Fatal(err)
	}
	if _, err := p.UserInfo(t.Context(), oauth2.StaticTokenSource(tok)); err != nil {
		t.Fatal(err)
	}
	postForm(t, idp.URL+"/revoke", url.Values{"token": {tok.AccessToken}}, func(r *http.Request) {
		r.SetBasicAuth(idp.ClientID, idp.ClientSecret)
	})
	want := map[string]int{"discovery": 1, "jwks": 1, "authorize": 1, "token": 1, "userinfo": 1, "revoke": 1, "nope": 0}
	for endpoint, n := range want {
		if got := idp.Hits(endpoint); got != n {
			t.Errorf("Hits(%q) = %d, want %d", endpoint, got, n)
		}
	}
}

// TestConcurrentLogins runs many logins at once, while the key rotates
// and the behavior changes, for the race detector.
func TestConcurrentLogins(t *testing.T) {
	t.Parallel()
	idp := testapp.NewIdP(t)
	const n = 16
	raws := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			// A Config each: x/oauth2 caches the auth style in it
			// atomically, and codeFlow's copy of a shared one would race
			// with that (a race of the test, not of the server).
			cfg := clientConfig(idp)
			tok, err := codeFlow(t.Context(), cfg)
			if err != nil {
				t.Error(err)
				return
			}
			raws[i], _ = tok.Extra("id_token").(string)
			if _, err := cfg.TokenSource(t.Context(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err != nil {
				t.Error(err)
			}
			if i%4 == 0 {
				idp.Behave(oauthlogintest.Behavior{IDTokenAzp: idp.ClientID})
			}
		})
	}
	wg.Go(idp.RotateKey)
	wg.Wait()
	v := verifier(t, idp)
	// Verify afterwards: a verifier that joins a JWKS fetch begun before the
	// rotation would not find the new key, which is the client's business.
	for _, raw := range raws {
		if _, err := v.Verify(t.Context(), raw); err != nil {
			t.Error(err)
		}
	}
	if got := idp.Hits("authorize"); got != n {
		t.Errorf("authorize hits = %d, want %d", got, n)
	}
	if got := idp.Hits("token"); got != 2*n {
		t.Errorf("token hits = %d, want %d", got, 2*n)
	}
}
