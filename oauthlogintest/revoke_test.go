package oauthlogintest_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/oauthlogin/oauthlogin/internal/testapp"
)

func TestRevokeAccessToken(t *testing.T) {
	t.Parallel()
	idp := testapp.NewIdP(t)
	cfg := clientConfig(idp)
	tok := login(t, cfg)
	resp := postForm(t, idp.URL+"/revoke", url.Values{"token": {tok.AccessToken}, "token_type_hint": {"access_token"}}, func(r *http.Request) {
		r.SetBasicAuth(idp.ClientID, idp.ClientSecret)
	})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("revoke: %d", resp.StatusCode)
	}
	if !idp.Revoked(tok.AccessToken) || idp.Revoked(tok.RefreshToken) {
		t.Errorf("Revoked: access %v, refresh %v", idp.Revoked(tok.AccessToken), idp.Revoked(tok.RefreshToken))
	}
	if got := userInfoStatus(t, idp, tok.AccessToken); got != http.StatusUnauthorized {
		t.Errorf("revoked access token: userinfo %d", got)
	}
	if _, err := refresh(t, cfg, tok.RefreshToken); err != nil {
		t.Errorf("refresh token stopped working after revoking the access token: %v", err)
	}
	if idp.Hits("revoke") != 1 {
		t.Errorf("revoke hits = %d", idp.Hits("revoke"))
	}
}

func TestRevokeRefreshTokenEndsTheGrant(t *testing.T) {
	t.Parallel()
	idp := testapp.NewIdP(t)
	cfg := clientConfig(idp)
	tok := login(t, cfg)
	resp := postForm(t, idp.URL+"/revoke", url.Values{
		"token":         {tok.RefreshToken},
		"client_id":     {idp.ClientID},
		"client_secret": {idp.ClientSecret},
	}, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("revoke: %d", resp.StatusCode)
	}
	if !idp.Revoked(tok.RefreshToken) {
		t.Error("Revoked(refresh token) = false")
	}
	_, err := refresh(t, cfg, tok.RefreshToken)
	if code := errorCode(t, err); code != "invalid_grant" {
		t.Errorf("refresh after revocation: %q, want invalid_grant", code)
	}
	if got := userInfoStatus(t, idp, tok.AccessToken); got != http.StatusUnauthorized {
		t.Errorf("access token of a revoked grant: userinfo %d", got)
	}
}

func TestRevokeNeedsClientAuth(t *testing.T) {
	t.Parallel()
	idp := testapp.NewIdP(t)
	resp := postForm(t, idp.URL+"/revoke", url.Values{"token": {"t"}}, func(r *http.Request) {
		r.SetBasicAuth(idp.ClientID, "wrong")
	})
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("status %d, want 401", resp.StatusCode)
	}
	if idp.Revoked("t") {
		t.Error("unauthenticated revocation was recorded")
	}
	resp = postForm(t, idp.URL+"/revoke", url.Values{"token": {"unknown"}}, func(r *http.Request) {
		r.SetBasicAuth(idp.ClientID, idp.ClientSecret)
	})
	if resp.StatusCode != http.StatusOK || !idp.Revoked("unknown") {
		t.Errorf("unknown token: status %d, revoked %v", resp.StatusCode, idp.Revoked("unknown"))
	}
}
