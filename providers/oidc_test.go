package providers_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/internal/testapp"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
	"github.com/oauthlogin/oauthlogin/providers"
)

func TestOIDCConfig(t *testing.T) {
	idp := testapp.NewIdP(t)
	params := url.Values{"prompt": {"consent"}}
	p, err := providers.OIDC(t.Context(), "fake", idp.URL, providers.Config{
		ClientID:      idp.ClientID,
		ClientSecret:  idp.ClientSecret,
		AllowedScopes: []string{"groups"},
		AuthParams:    params,
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := p.OAuth2Config()
	checks := []struct {
		what      string
		got, want any
	}{
		{"Name", p.Name(), "fake"},
		{"Issuer", p.Issuer(), idp.URL},
		{"IssuerInResponse", p.IssuerInResponse(), true},
		{"ClientID", cfg.ClientID, idp.ClientID},
		{"ClientSecret", cfg.ClientSecret, idp.ClientSecret},
		{"AuthURL", cfg.Endpoint.AuthURL, idp.URL + "/authorize"},
		{"TokenURL", cfg.Endpoint.TokenURL, idp.URL + "/token"},
		{"AuthStyle", cfg.Endpoint.AuthStyle, oauth2.AuthStyleInHeader},
		{"Scopes", cfg.Scopes, []string{"openid", "email", "profile"}},
		{"RedirectURL", cfg.RedirectURL, ""},
		{"AllowedScopes", p.AllowedScopes(), []string{"groups"}},
		{"AuthParams", p.AuthParams().Get("prompt"), "consent"},
	}
	for _, c := range checks {
		if !equal(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
}

func equal(a, b any) bool {
	as, aok := a.([]string)
	bs, bok := b.([]string)
	if aok && bok {
		return slices.Equal(as, bs)
	}
	return a == b
}

func TestOIDCScopes(t *testing.T) {
	idp := testapp.NewIdP(t)
	scopes := []string{"openid", "groups"}
	p := newOIDC(t, idp, providers.Config{Scopes: scopes})
	scopes[1] = "changed-after-construction"
	if got, want := p.OAuth2Config().Scopes, []string{"openid", "groups"}; !slices.Equal(got, want) {
		t.Errorf("Scopes = %v, want %v (a copy of Config.Scopes)", got, want)
	}
	allowed := []string{"extra"}
	p = newOIDC(t, idp, providers.Config{AllowedScopes: allowed})
	allowed[0] = "changed"
	if got := p.AllowedScopes(); !slices.Equal(got, []string{"extra"}) {
		t.Errorf("AllowedScopes = %v, want a copy of Config.AllowedScopes", got)
	}
	// An empty, non-nil list replaces the defaults too.
	p = newOIDC(t, idp, providers.Config{Scopes: []string{}})
	if got := p.OAuth2Config().Scopes; len(got) != 0 {
		t.Errorf("Scopes = %v, want none", got)
	}
}

func TestOIDCAuthStyleOverride(t *testing.T) {
	idp := testapp.NewIdP(t)
	p := newOIDC(t, idp, providers.Config{AuthStyle: oauth2.AuthStyleInParams})
	if got := p.OAuth2Config().Endpoint.AuthStyle; got != oauth2.AuthStyleInParams {
		t.Errorf("AuthStyle = %v, want AuthStyleInParams from Config", got)
	}
}

func TestOIDCDiscoveryIssuerMismatch(t *testing.T) {
	idp := testapp.NewIdP(t)
	idp.Behave(oauthlogintest.Behavior{DiscoveryIssuer: "https://other.example"})
	p, err := providers.OIDC(t.Context(), "test", idp.URL, providers.Config{ClientID: idp.ClientID})
	if err == nil || p != nil {
		t.Fatalf("OIDC = %v, %v; want an error for a discovery document of another issuer", p, err)
	}
	// The provider is fine once its discovery document is.
	idp.Behave(oauthlogintest.Behavior{})
	newOIDC(t, idp, providers.Config{})
}

func TestOIDCIssuerTrailingSlash(t *testing.T) {
	idp := testapp.NewIdP(t)
	// The issuer must match exactly (OpenID Connect Discovery §4.3).
	if _, err := providers.OIDC(t.Context(), "test", idp.URL+"/", providers.Config{ClientID: idp.ClientID}); err == nil {
		t.Error("OIDC accepted an issuer URL that differs from the discovered issuer by a slash")
	}
}

func TestOIDCUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer := "http://" + l.Addr().String()
	l.Close()
	p, err := providers.OIDC(t.Context(), "test", issuer, providers.Config{ClientID: "c"})
	if err == nil || p != nil {
		t.Fatalf("OIDC(%s) = %v, %v; want an error", issuer, p, err)
	}
}

func TestOIDCCanceledContext(t *testing.T) {
	idp := testapp.NewIdP(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := providers.OIDC(ctx, "test", idp.URL, providers.Config{ClientID: idp.ClientID}); !errors.Is(err, context.Canceled) {
		t.Errorf("OIDC with a canceled context: %v, want context.Canceled", err)
	}
}

func TestOIDCEmptyClientID(t *testing.T) {
	idp := testapp.NewIdP(t)
	p, err := providers.OIDC(t.Context(), "test", idp.URL, providers.Config{ClientSecret: "s"})
	if !errors.Is(err, oauthlogin.ErrConfig) || p != nil {
		t.Fatalf("OIDC without ClientID = %v, %v; want ErrConfig", p, err)
	}
}

func TestOIDCUsesHTTPClient(t *testing.T) {
	idp := testapp.NewIdP(t)
	var mu sync.Mutex
	var seen []string
	client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		mu.Lock()
		seen = append(seen, r.URL.Path)
		mu.Unlock()
		return http.DefaultTransport.RoundTrip(r)
	})}
	p := newOIDC(t, idp, providers.Config{HTTPClient: client})
	if _, err := p.Identify(t.Context(), login(t, p, "n"), "n"); err != nil {
		t.Fatal(err)
	}
	if err := p.Revoke(t.Context(), "some-token", ""); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, path := range []string{"/.well-known/openid-configuration", "/jwks", "/userinfo", "/revoke"} {
		if !slices.Contains(seen, path) {
			t.Errorf("Config.HTTPClient did not request %s (saw %v)", path, seen)
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestOIDCDiscoveryOnce(t *testing.T) {
	idp := testapp.NewIdP(t)
	p := newOIDC(t, idp, providers.Config{})
	if n := idp.Hits("discovery"); n != 1 {
		t.Fatalf("discovery hits after OIDC = %d, want 1", n)
	}
	for i := range 3 {
		nonce := "nonce-" + string(rune('a'+i))
		if _, err := p.Identify(t.Context(), login(t, p, nonce), nonce); err != nil {
			t.Fatal(err)
		}
		p.OAuth2Config()
		p.Issuer()
	}
	if n := idp.Hits("discovery"); n != 1 {
		t.Errorf("discovery hits after three logins = %d, want 1", n)
	}
}

func TestOIDCIdentify(t *testing.T) {
	idp := testapp.NewIdP(t)
	idp.SetUser(oauthlogintest.User{
		Subject:       "u-42",
		Email:         "grace@example.com",
		EmailVerified: true,
		Name:          "Grace Hopper",
		Username:      "grace",
		Picture:       "https://example.com/grace.png",
	})
	p := newOIDC(t, idp, providers.Config{})
	tok := login(t, p, "nonce-1")
	got, err := p.Identify(t.Context(), tok, "nonce-1")
	if err != nil {
		t.Fatal(err)
	}
	want := oauthlogin.Profile{
		Subject:       "u-42",
		Email:         "grace@example.com",
		EmailVerified: true,
		Name:          "Grace Hopper",
		Username:      "grace",
		AvatarURL:     "https://example.com/grace.png",
	}
	raw := got.Raw
	got.Raw = nil
	if !equalProfile(*got, want) {
		t.Errorf("Identify = %+v, want %+v", *got, want)
	}
	// Raw is the userinfo document, not the ID token's claims.
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("Raw is not JSON: %v", err)
	}
	wantDoc := map[string]any{
		"sub": "u-42", "email": "grace@example.com", "email_verified": true, "name": "Grace Hopper",
		"preferred_username": "grace", "picture": "https://example.com/grace.png",
	}
	if len(doc) != len(wantDoc) {
		t.Errorf("Raw = %s, want the userinfo document %v", raw, wantDoc)
	}
	for k, v := range wantDoc {
		if doc[k] != v {
			t.Errorf("Raw[%q] = %v, want %v", k, doc[k], v)
		}
	}
	if n := idp.Hits("userinfo"); n != 1 {
		t.Errorf("userinfo hits = %d, want 1", n)
	}
}

func equalProfile(a, b oauthlogin.Profile) bool {
	return a.Subject == b.Subject && a.Email == b.Email && a.EmailVerified == b.EmailVerified &&
		a.Name == b.Name && a.Username == b.Username && a.AvatarURL == b.AvatarURL
}

func TestOIDCIdentifyUnverifiedEmail(t *testing.T) {
	idp := testapp.NewIdP(t)
	idp.SetUser(oauthlogintest.User{Subject: "u-1", Email: "u@example.com"})
	p := newOIDC(t, idp, providers.Config{})
	got, err := p.Identify(t.Context(), login(t, p, "n"), "n")
	if err != nil {
		t.Fatal(err)
	}
	if got.Email != "u@example.com" || got.EmailVerified {
		t.Errorf("Identify = %+v, want the email, unverified", got)
	}
}

func TestOIDCIdentifyNonce(t *testing.T) {
	idp := testapp.NewIdP(t)
	p := newOIDC(t, idp, providers.Config{})
	tok := login(t, p, "the-nonce")
	if _, err := p.Identify(t.Context(), tok, "another-nonce"); !errors.Is(err, oauthlogin.ErrInvalidIDToken) {
		t.Errorf("Identify with the wrong nonce: %v, want ErrInvalidIDToken", err)
	}
	if _, err := p.Identify(t.Context(), tok, "the-nonce"); err != nil {
		t.Errorf("Identify with the right nonce: %v", err)
	}

	idp.Behave(oauthlogintest.Behavior{IDTokenNonce: "forged"})
	tok = login(t, p, "the-nonce")
	if _, err := p.Identify(t.Context(), tok, "the-nonce"); !errors.Is(err, oauthlogin.ErrInvalidIDToken) {
		t.Errorf("Identify of a token with another nonce: %v, want ErrInvalidIDToken", err)
	}

	idp.Behave(oauthlogintest.Behavior{OmitNonce: true})
	tok = login(t, p, "the-nonce")
	if _, err := p.Identify(t.Context(), tok, "the-nonce"); !errors.Is(err, oauthlogin.ErrInvalidIDToken) {
		t.Errorf("Identify of a token without nonce: %v, want ErrInvalidIDToken", err)
	}
}

func TestOIDCIdentifyNoIDToken(t *testing.T) {
	idp := testapp.NewIdP(t)
	p := newOIDC(t, idp, providers.Config{})
	idp.Behave(oauthlogintest.Behavior{OmitIDToken: true})
	tok := login(t, p, "n")
	if _, err := p.Identify(t.Context(), tok, "n"); !errors.Is(err, oauthlogin.ErrInvalidIDToken) {
		t.Errorf("Identify without id_token: %v, want ErrInvalidIDToken", err)
	}
	if n := idp.Hits("userinfo"); n != 0 {
		t.Errorf("userinfo hits = %d, want 0: nothing is read before the ID token is verified", n)
	}
}

func TestOIDCIdentifyAccessTokenHash(t *testing.T) {
	idp := testapp.NewIdP(t)
	p := newOIDC(t, idp, providers.Config{})
	tok := login(t, p, "n")
	// Another access token than the one the ID token's at_hash names.
	other := *tok
	other.AccessToken = login(t, p, "m").AccessToken
	swapped := other.WithExtra(map[string]any{"id_token": tok.Extra("id_token")})
	if _, err := p.Identify(t.Context(), swapped, "n"); !errors.Is(err, oauthlogin.ErrInvalidIDToken) {
		t.Errorf("Identify with a substituted access token: %v, want ErrInvalidIDToken", err)
	}
}

func TestOIDCJWKSFetchedOnce(t *testing.T) {
	idp := testapp.NewIdP(t)
	p := newOIDC(t, idp, providers.Config{})
	if n := idp.Hits("jwks"); n != 0 {
		t.Errorf("jwks hits after OIDC = %d, want 0 (keys are fetched when first needed)", n)
	}
	for _, nonce := range []string{"a", "b", "c", "d"} {
		if _, err := p.Identify(t.Context(), login(t, p, nonce), nonce); err != nil {
			t.Fatal(err)
		}
	}
	if n := idp.Hits("jwks"); n != 1 {
		t.Errorf("jwks hits after four logins = %d, want 1", n)
	}
}

func TestOIDCKeyRotation(t *testing.T) {
	idp := testapp.NewIdP(t)
	p := newOIDC(t, idp, providers.Config{})
	old := login(t, p, "n")
	if _, err := p.Identify(t.Context(), old, "n"); err != nil {
		t.Fatal(err)
	}
	if n := idp.Hits("jwks"); n != 1 {
		t.Fatalf("jwks hits = %d, want 1", n)
	}

	idp.RotateKey()
	for i, nonce := range []string{"r1", "r2", "r3"} {
		if _, err := p.Identify(t.Context(), login(t, p, nonce), nonce); err != nil {
			t.Fatalf("Identify of a token signed with the new key: %v", err)
		}
		if n := idp.Hits("jwks"); n != 2 {
			t.Fatalf("jwks hits after %d logins with the new key = %d, want 2", i+1, n)
		}
	}
	// Tokens signed before the rotation still verify, from the cache.
	if _, err := p.VerifyIDToken(t.Context(), old.Extra("id_token").(string), "n"); err != nil {
		t.Errorf("VerifyIDToken of a token signed with the old key: %v", err)
	}
	if n := idp.Hits("jwks"); n != 2 {
		t.Errorf("jwks hits = %d, want 2", n)
	}
}

func TestOIDCUnknownKID(t *testing.T) {
	idp := testapp.NewIdP(t)
	p := newOIDC(t, idp, providers.Config{})
	idp.Behave(oauthlogintest.Behavior{UnknownKID: true})
	if _, err := p.Identify(t.Context(), login(t, p, "n"), "n"); !errors.Is(err, oauthlogin.ErrInvalidIDToken) {
		t.Errorf("Identify of a token signed with an unpublished key: %v, want ErrInvalidIDToken", err)
	}
}

func TestOIDCOmitKID(t *testing.T) {
	idp := testapp.NewIdP(t)
	p := newOIDC(t, idp, providers.Config{})
	idp.Behave(oauthlogintest.Behavior{OmitKID: true})
	got, err := p.Identify(t.Context(), login(t, p, "n"), "n")
	if err != nil {
		t.Fatalf("Identify of a token without kid, one key published: %v", err)
	}
	if got.Subject != "user-1" {
		t.Errorf("Subject = %q, want user-1", got.Subject)
	}

	idp.Behave(oauthlogintest.Behavior{OmitKID: true, BadSignature: true})
	if _, err := p.Identify(t.Context(), login(t, p, "n"), "n"); !errors.Is(err, oauthlogin.ErrInvalidIDToken) {
		t.Errorf("Identify of a token without kid and a bad signature: %v, want ErrInvalidIDToken", err)
	}
}

func TestOIDCTrustedAudiences(t *testing.T) {
	const other = "other-app"
	tests := []struct {
		name    string
		trusted []string
		aud     []string
		azp     string
		ok      bool
	}{
		{"TrustedWithAzp", []string{other}, []string{"CLIENT", other}, "CLIENT", true},
		{"TrustedWithoutAzp", []string{other}, []string{"CLIENT", other}, "", false},
		{"TrustedAzpIsOther", []string{other}, []string{"CLIENT", other}, other, false},
		{"UntrustedWithAzp", nil, []string{"CLIENT", other}, "CLIENT", false},
		{"AnotherUntrusted", []string{other}, []string{"CLIENT", "stranger"}, "CLIENT", false},
		{"OnlyTrustedNotClient", []string{other}, []string{other}, "CLIENT", false},
		{"SingleAudienceAzpClient", nil, []string{"CLIENT"}, "CLIENT", true},
		{"SingleAudienceAzpOther", []string{other}, []string{"CLIENT"}, other, false},
	}
	idp := testapp.NewIdP(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			aud := slices.Clone(tt.aud)
			for i := range aud {
				if aud[i] == "CLIENT" {
					aud[i] = idp.ClientID
				}
			}
			azp := tt.azp
			if azp == "CLIENT" {
				azp = idp.ClientID
			}
			p := newOIDC(t, idp, providers.Config{TrustedAudiences: tt.trusted})
			idp.Behave(oauthlogintest.Behavior{IDTokenAudience: aud, IDTokenAzp: azp})
			tok := login(t, p, "n")
			idp.Behave(oauthlogintest.Behavior{})
			_, err := p.Identify(t.Context(), tok, "n")
			switch {
			case tt.ok && err != nil:
				t.Errorf("Identify (aud %v, azp %q): %v", aud, azp, err)
			case !tt.ok && !errors.Is(err, oauthlogin.ErrInvalidIDToken):
				t.Errorf("Identify (aud %v, azp %q): %v, want ErrInvalidIDToken", aud, azp, err)
			}
		})
	}
}

func TestOIDCUserInfoSubjectMismatch(t *testing.T) {
	idp := testapp.NewIdP(t)
	p := newOIDC(t, idp, providers.Config{})
	tok := login(t, p, "n")
	idp.Behave(oauthlogintest.Behavior{UserInfoSubject: "someone-else"})
	if _, err := p.Identify(t.Context(), tok, "n"); !errors.Is(err, oauthlogin.ErrProfileUnavailable) {
		t.Errorf("Identify with another userinfo sub: %v, want ErrProfileUnavailable", err)
	}
}

func TestOIDCUserInfoFailure(t *testing.T) {
	for _, status := range []int{http.StatusUnauthorized, http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			idp := testapp.NewIdP(t)
			p := newOIDC(t, idp, providers.Config{})
			tok := login(t, p, "n")
			idp.Behave(oauthlogintest.Behavior{UserInfoStatus: status})
			_, err := p.Identify(t.Context(), tok, "n")
			if !errors.Is(err, oauthlogin.ErrProfileUnavailable) {
				t.Errorf("Identify with userinfo %d: %v, want ErrProfileUnavailable", status, err)
			}
			if errors.Is(err, oauthlogin.ErrInvalidIDToken) {
				t.Errorf("Identify with userinfo %d: %v, the ID token was fine", status, err)
			}
		})
	}
}

// A race test for the provider's shared state (the key cache above all):
// run it with -race. Tokens are obtained first, half of them signed with a
// key the provider has not seen yet, so that the verifications race each
// other to refetch the JWKS while the provider rotates its key again.
// Every fetch starts after the first rotation, so the outcome does not
// depend on scheduling.
func TestOIDCIdentifyConcurrentRotation(t *testing.T) {
	const n = 16
	idp := testapp.NewIdP(t)
	p := newOIDC(t, idp, providers.Config{})
	if _, err := p.Identify(t.Context(), login(t, p, "warm"), "warm"); err != nil {
		t.Fatal(err)
	}
	toks := make([]*oauth2.Token, n)
	for i := range n {
		if i == n/2 {
			idp.RotateKey()
		}
		toks[i] = login(t, p, "n")
	}

	start := make(chan struct{})
	errs := make([]error, n)
	profiles := make([]*oauthlogin.Profile, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			profiles[i], errs[i] = p.Identify(t.Context(), toks[i], "n")
		})
	}
	wg.Go(func() {
		<-start
		idp.RotateKey()
	})
	close(start)
	wg.Wait()

	for i, err := range errs {
		if err != nil {
			t.Errorf("Identify #%d: %v", i, err)
		} else if profiles[i].Subject != "user-1" {
			t.Errorf("Identify #%d: Subject = %q", i, profiles[i].Subject)
		}
	}
	if hits := idp.Hits("jwks"); hits != 2 {
		t.Errorf("jwks hits = %d, want one refetch for the new key, shared", hits)
	}
	// The key of the concurrent rotation works too, once the refetch
	// window has passed.
	now := time.Now().Add(providers.RefetchWindow)
	providers.SetNow(p, func() time.Time { return now })
	if _, err := p.Identify(t.Context(), login(t, p, "after"), "after"); err != nil {
		t.Errorf("Identify after the concurrent rotation: %v", err)
	}
}
