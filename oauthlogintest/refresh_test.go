package oauthlogintest_test

import (
	"net/http"
	"net/url"
	"testing"

	"golang.org/x/oauth2"

	"github.com/oauthlogin/oauthlogin/internal/testapp"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
)

// refresh runs the refresh_token grant with refreshToken.
func refresh(t *testing.T, cfg *oauth2.Config, refreshToken string) (*oauth2.Token, error) {
	t.Helper()
	return cfg.TokenSource(t.Context(), &oauth2.Token{RefreshToken: refreshToken}).Token()
}

func TestRefreshWithoutRotation(t *testing.T) {
	t.Parallel()
	idp := testapp.NewIdP(t)
	cfg := clientConfig(idp)
	tok := login(t, cfg)
	for range 2 {
		next, err := refresh(t, cfg, tok.RefreshToken)
		if err != nil {
			t.Fatal(err)
		}
		if next.AccessToken == tok.AccessToken || next.AccessToken == "" {
			t.Errorf("refresh gave access token %q", next.AccessToken)
		}
		if next.RefreshToken != tok.RefreshToken {
			t.Errorf("refresh token changed without rotation")
		}
		if next.Extra("id_token") != nil {
			t.Error("id_token in refresh response without IDTokenOnRefresh")
		}
		if got := userInfoStatus(t, idp, next.AccessToken); got != 200 {
			t.Errorf("refreshed access token: userinfo %d", got)
		}
	}
}

func TestRefreshWithRotation(t *testing.T) {
	t.Parallel()
	idp := testapp.NewIdP(t)
	cfg := clientConfig(idp)
	tok := login(t, cfg)
	idp.Behave(oauthlogintest.Behavior{RotateRefreshTokens: true})

	next, err := refresh(t, cfg, tok.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if next.RefreshToken == "" || next.RefreshToken == tok.RefreshToken {
		t.Fatalf("rotation gave refresh token %q", next.RefreshToken)
	}
	third, err := refresh(t, cfg, next.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}

	// Reusing a spent refresh token fails and ends the whole login.
	_, err = refresh(t, cfg, tok.RefreshToken)
	if code := errorCode(t, err); code != "invalid_grant" {
		t.Errorf("reuse: %q, want invalid_grant", code)
	}
	_, err = refresh(t, cfg, third.RefreshToken)
	if code := errorCode(t, err); code != "invalid_grant" {
		t.Errorf("after reuse: %q, want invalid_grant", code)
	}
	if got := userInfoStatus(t, idp, third.AccessToken); got != 401 {
		t.Errorf("access token after reuse: userinfo %d, want 401", got)
	}
}

func TestRefreshWithIDToken(t *testing.T) {
	t.Parallel()
	idp := testapp.NewIdP(t)
	cfg := clientConfig(idp)
	tok := login(t, cfg)
	idp.Behave(oauthlogintest.Behavior{IDTokenOnRefresh: true})
	next, err := refresh(t, cfg, tok.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	idt, err := verifier(t, idp).Verify(t.Context(), rawIDToken(t, next))
	if err != nil {
		t.Fatal(err)
	}
	if idt.Subject != "user-1" || idt.Nonce != "" {
		t.Errorf("refreshed id_token: sub %q nonce %q", idt.Subject, idt.Nonce)
	}
	if err := idt.VerifyAccessToken(next.AccessToken); err != nil {
		t.Errorf("at_hash: %v", err)
	}
}

func TestOmitRefreshToken(t *testing.T) {
	t.Parallel()
	idp := testapp.NewIdP(t)
	idp.Behave(oauthlogintest.Behavior{OmitRefreshToken: true})
	tok := login(t, clientConfig(idp))
	if tok.RefreshToken != "" {
		t.Errorf("refresh token %q despite OmitRefreshToken", tok.RefreshToken)
	}
}

func TestRefreshScopeCannotGrow(t *testing.T) {
	t.Parallel()
	idp := testapp.NewIdP(t)
	cfg := clientConfig(idp)
	tok := login(t, cfg)
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}
	basic := func(r *http.Request) { r.SetBasicAuth(idp.ClientID, idp.ClientSecret) }
	form.Set("scope", "openid admin")
	if resp := postForm(t, idp.URL+"/token", form, basic); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("wider scope: status %d, want 400", resp.StatusCode)
	}
	form.Set("scope", "openid")
	if resp := postForm(t, idp.URL+"/token", form, basic); resp.StatusCode != http.StatusOK {
		t.Errorf("narrower scope: status %d, want 200", resp.StatusCode)
	}
}
