package oauthlogintest_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/oauthlogin/oauthlogin/internal/testapp"
	"golang.org/x/oauth2"
)

func TestCodeFlowWithPKCE(t *testing.T) {
	t.Parallel()
	idp := testapp.NewIdP(t)
	cfg := clientConfig(idp)
	verifierStr := oauth2.GenerateVerifier()

	q := authorize(t, cfg.AuthCodeURL("state-1", oauth2.S256ChallengeOption(verifierStr), oidc.Nonce("nonce-1")))
	if q.Get("state") != "state-1" {
		t.Errorf("state = %q, want state-1", q.Get("state"))
	}
	if q.Get("iss") != idp.URL {
		t.Errorf("iss = %q, want %q", q.Get("iss"), idp.URL)
	}
	tok, err := cfg.Exchange(t.Context(), q.Get("code"), oauth2.VerifierOption(verifierStr))
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken == "" || tok.RefreshToken == "" || tok.TokenType != "Bearer" {
		t.Fatalf("token = %+v", tok)
	}
	if scope, _ := tok.Extra("scope").(string); scope != "openid email profile" {
		t.Errorf("scope = %q", scope)
	}
	if !tok.Valid() {
		t.Error("fresh token is not valid")
	}

	idt, err := verifier(t, idp).Verify(t.Context(), rawIDToken(t, tok))
	if err != nil {
		t.Fatal(err)
	}
	if idt.Nonce != "nonce-1" {
		t.Errorf("nonce = %q, want nonce-1", idt.Nonce)
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Errorf("at_hash: %v", err)
	}
	var claims struct {
		Sub, Email, Name, Picture string
		EmailVerified             bool   `json:"email_verified"`
		Username                  string `json:"preferred_username"`
		AuthTime                  int64  `json:"auth_time"`
	}
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if claims.Sub != "user-1" || claims.Email != "ada@example.com" || !claims.EmailVerified ||
		claims.Name != "Ada Lovelace" || claims.Username != "ada" ||
		claims.Picture != "https://example.com/ada.png" || claims.AuthTime == 0 {
		t.Errorf("claims = %+v", claims)
	}
}

func TestWrongVerifierIsInvalidGrant(t *testing.T) {
	t.Parallel()
	idp := testapp.NewIdP(t)
	cfg := clientConfig(idp)
	q := authorize(t, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	_, err := cfg.Exchange(t.Context(), q.Get("code"), oauth2.VerifierOption(oauth2.GenerateVerifier()))
	if code := errorCode(t, err); code != "invalid_grant" {
		t.Errorf("error = %q, want invalid_grant", code)
	}
}

func TestMissingVerifierIsInvalidGrant(t *testing.T) {
	t.Parallel()
	idp := testapp.NewIdP(t)
	cfg := clientConfig(idp)
	q := authorize(t, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	_, err := cfg.Exchange(t.Context(), q.Get("code"))
	if code := errorCode(t, err); code != "invalid_grant" {
		t.Errorf("error = %q, want invalid_grant", code)
	}
}

func TestVerifierWithoutChallengeIsInvalidGrant(t *testing.T) {
	t.Parallel()
	idp := testapp.NewIdP(t)
	cfg := clientConfig(idp)
	q := authorize(t, cfg.AuthCodeURL("s"))
	_, err := cfg.Exchange(t.Context(), q.Get("code"), oauth2.VerifierOption(oauth2.GenerateVerifier()))
	if code := errorCode(t, err); code != "invalid_grant" {
		t.Errorf("error = %q, want invalid_grant", code)
	}
}

func TestCodeWithoutPKCE(t *testing.T) {
	t.Parallel()
	idp := testapp.NewIdP(t)
	cfg := clientConfig(idp)
	q := authorize(t, cfg.AuthCodeURL("s"))
	if _, err := cfg.Exchange(t.Context(), q.Get("code")); err != nil {
		t.Fatal(err)
	}
}

func TestCodeReplayRevokesTokens(t *testing.T) {
	t.Parallel()
	idp := testapp.NewIdP(t)
	cfg := clientConfig(idp)
	verifierStr := oauth2.GenerateVerifier()
	q := authorize(t, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(verifierStr)))
	tok, err := cfg.Exchange(t.Context(), q.Get("code"), oauth2.VerifierOption(verifierStr))
	if err != nil {
		t.Fatal(err)
	}
	if status := userInfoStatus(t, idp, tok.AccessToken); status != http.StatusOK {
		t.Fatalf("userinfo before replay: %d", status)
	}
	_, err = cfg.Exchange(t.Context(), q.Get("code"), oauth2.VerifierOption(verifierStr))
	if code := errorCode(t, err); code != "invalid_grant" {
		t.Errorf("replay error = %q, want invalid_grant", code)
	}
	if status := userInfoStatus(t, idp, tok.AccessToken); status != http.StatusUnauthorized {
		t.Errorf("userinfo after replay: %d, want 401", status)
	}
	_, err = cfg.TokenSource(t.Context(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if code := errorCode(t, err); code != "invalid_grant" {
		t.Errorf("refresh after replay: %q, want invalid_grant", code)
	}
}

func TestRedirectURIMismatchIsInvalidGrant(t *testing.T) {
	t.Parallel()
	idp := testapp.NewIdP(t)
	cfg := clientConfig(idp)
	q := authorize(t, cfg.AuthCodeURL("s"))
	other := *cfg
	other.RedirectURL = callbackURL + "/other"
	_, err := other.Exchange(t.Context(), q.Get("code"))
	if code := errorCode(t, err); code != "invalid_grant" {
		t.Errorf("error = %q, want invalid_grant", code)
	}
}

func TestUnknownCodeIsInvalidGrant(t *testing.T) {
	t.Parallel()
	idp := testapp.NewIdP(t)
	_, err := clientConfig(idp).Exchange(t.Context(), "no-such-code")
	if code := errorCode(t, err); code != "invalid_grant" {
		t.Errorf("error = %q, want invalid_grant", code)
	}
}

func TestNoIDTokenWithoutOpenIDScope(t *testing.T) {
	t.Parallel()
	idp := testapp.NewIdP(t)
	cfg := clientConfig(idp)
	cfg.Scopes = []string{"email"}
	tok := login(t, cfg)
	if tok.Extra("id_token") != nil {
		t.Error("id_token issued without the openid scope")
	}
}

func TestTokenEndpointResponseHeadersAndGrantTypes(t *testing.T) {
	t.Parallel()
	idp := testapp.NewIdP(t)
	resp := postForm(t, idp.URL+"/token", url.Values{"grant_type": {"password"}, "username": {"ada"}}, func(r *http.Request) {
		r.SetBasicAuth(idp.ClientID, idp.ClientSecret)
	})
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("password grant: status %d", resp.StatusCode)
	}
	if got := resp.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", got)
	}

	cfg := clientConfig(idp)
	cfg.Endpoint.AuthStyle = oauth2.AuthStyleInHeader
	_, err := cfg.PasswordCredentialsToken(t.Context(), "ada", "secret")
	if code := errorCode(t, err); code != "unsupported_grant_type" {
		t.Errorf("error = %q, want unsupported_grant_type", code)
	}
}
