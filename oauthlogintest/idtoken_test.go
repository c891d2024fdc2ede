package oauthlogintest_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oauthlogin/oauthlogin/internal/testapp"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
)

// TestIDTokenRejectedByGoOIDC checks that each way of breaking the ID
// token makes a careful verifier refuse it.
func TestIDTokenRejectedByGoOIDC(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		behavior oauthlogintest.Behavior
		check    func(t *testing.T, header, claims map[string]any)
	}{
		{"wrong issuer", oauthlogintest.Behavior{IDTokenIssuer: "https://evil.example"}, func(t *testing.T, _, c map[string]any) {
			if c["iss"] != "https://evil.example" {
				t.Errorf("iss = %v", c["iss"])
			}
		}},
		{"wrong audience", oauthlogintest.Behavior{IDTokenAudience: "another-client"}, func(t *testing.T, _, c map[string]any) {
			if c["aud"] != "another-client" {
				t.Errorf("aud = %v", c["aud"])
			}
		}},
		{"wrong audience list", oauthlogintest.Behavior{IDTokenAudience: []string{"a", "b"}}, nil},
		{"expired", oauthlogintest.Behavior{ExpiresIn: -time.Minute}, func(t *testing.T, _, c map[string]any) {
			if exp, _ := c["exp"].(float64); int64(exp) >= time.Now().Unix() {
				t.Errorf("exp = %v is not in the past", c["exp"])
			}
		}},
		{"bad signature", oauthlogintest.Behavior{BadSignature: true}, nil},
		{"alg none", oauthlogintest.Behavior{AlgNone: true}, func(t *testing.T, h, _ map[string]any) {
			if h["alg"] != "none" {
				t.Errorf("alg = %v", h["alg"])
			}
		}},
		{"alg None", oauthlogintest.Behavior{AlgNone: true, AlgNoneCase: "None"}, func(t *testing.T, h, _ map[string]any) {
			if h["alg"] != "None" {
				t.Errorf("alg = %v", h["alg"])
			}
		}},
		{"unknown kid", oauthlogintest.Behavior{UnknownKID: true}, func(t *testing.T, h, _ map[string]any) {
			if kid, _ := h["kid"].(string); kid == "" || strings.HasPrefix(kid, "key-") {
				t.Errorf("kid = %v", h["kid"])
			}
		}},
		{"numeric sub", oauthlogintest.Behavior{Claims: map[string]any{"sub": 42}}, func(t *testing.T, _, c map[string]any) {
			if c["sub"] != float64(42) {
				t.Errorf("sub = %v", c["sub"])
			}
		}},
		{"no exp", oauthlogintest.Behavior{Claims: map[string]any{"exp": nil}}, func(t *testing.T, _, c map[string]any) {
			if _, ok := c["exp"]; ok {
				t.Error("exp still present")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			idp := testapp.NewIdP(t)
			idp.Behave(tt.behavior)
			raw := rawIDToken(t, login(t, clientConfig(idp)))
			if _, err := verifier(t, idp).Verify(t.Context(), raw); err == nil {
				t.Fatal("go-oidc accepted the token")
			}
			if tt.check != nil {
				header, claims := decodeJWT(t, raw)
				tt.check(t, header, claims)
			}
		})
	}
}

func TestUnknownKIDMakesTheClientRefetchJWKS(t *testing.T) {
	t.Parallel()
	idp := testapp.NewIdP(t)
	cfg := clientConfig(idp)
	v := verifier(t, idp)
	if _, err := v.Verify(t.Context(), rawIDToken(t, login(t, cfg))); err != nil {
		t.Fatal(err)
	}
	before := idp.Hits("jwks")
	idp.Behave(oauthlogintest.Behavior{UnknownKID: true})
	if _, err := v.Verify(t.Context(), rawIDToken(t, login(t, cfg))); err == nil {
		t.Fatal("go-oidc accepted a token signed with an unpublished key")
	}
	if idp.Hits("jwks") <= before {
		t.Error("the verifier did not look for the unknown kid in the JWKS")
	}
}

// TestIDTokenClaimKnobs checks knobs that a signature check alone does not
// catch: the claims are what the Behavior promised.
func TestIDTokenClaimKnobs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		behavior oauthlogintest.Behavior
		check    func(t *testing.T, header, claims map[string]any)
	}{
		{"audience list", oauthlogintest.Behavior{IDTokenAudience: []string{"oauthlogin-test-client", "other"}}, func(t *testing.T, _, c map[string]any) {
			aud, _ := c["aud"].([]any)
			if !slices.Equal(aud, []any{"oauthlogin-test-client", "other"}) {
				t.Errorf("aud = %v", c["aud"])
			}
		}},
		{"azp", oauthlogintest.Behavior{IDTokenAzp: "someone"}, func(t *testing.T, _, c map[string]any) {
			if c["azp"] != "someone" {
				t.Errorf("azp = %v", c["azp"])
			}
		}},
		{"nonce", oauthlogintest.Behavior{IDTokenNonce: "replayed"}, func(t *testing.T, _, c map[string]any) {
			if c["nonce"] != "replayed" {
				t.Errorf("nonce = %v", c["nonce"])
			}
		}},
		{"no nonce", oauthlogintest.Behavior{OmitNonce: true}, func(t *testing.T, _, c map[string]any) {
			if _, ok := c["nonce"]; ok {
				t.Errorf("nonce = %v", c["nonce"])
			}
		}},
		{"iat in the future", oauthlogintest.Behavior{IssuedAtOffset: time.Hour}, func(t *testing.T, _, c map[string]any) {
			if iat, _ := c["iat"].(float64); int64(iat) < time.Now().Add(59*time.Minute).Unix() {
				t.Errorf("iat = %v", c["iat"])
			}
		}},
		{"no iat", oauthlogintest.Behavior{OmitIssuedAt: true}, func(t *testing.T, _, c map[string]any) {
			if _, ok := c["iat"]; ok {
				t.Error("iat present")
			}
		}},
		{"long lifetime", oauthlogintest.Behavior{ExpiresIn: 48 * time.Hour}, func(t *testing.T, _, c map[string]any) {
			if exp, _ := c["exp"].(float64); int64(exp) < time.Now().Add(47*time.Hour).Unix() {
				t.Errorf("exp = %v", c["exp"])
			}
		}},
		{"no kid", oauthlogintest.Behavior{OmitKID: true}, func(t *testing.T, h, _ map[string]any) {
			if _, ok := h["kid"]; ok {
				t.Error("kid present")
			}
		}},
		{"no sub", oauthlogintest.Behavior{Claims: map[string]any{"sub": nil, "extra": "x"}}, func(t *testing.T, _, c map[string]any) {
			if _, ok := c["sub"]; ok || c["extra"] != "x" {
				t.Errorf("claims = %v", c)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			idp := testapp.NewIdP(t)
			idp.Behave(tt.behavior)
			raw := rawIDToken(t, login(t, clientConfig(idp)))
			header, claims := decodeJWT(t, raw)
			tt.check(t, header, claims)
		})
	}
}

func TestNonceMismatchIsVisible(t *testing.T) {
	t.Parallel()
	idp := testapp.NewIdP(t)
	idp.Behave(oauthlogintest.Behavior{IDTokenNonce: "replayed"})
	// go-oidc leaves the nonce comparison to the caller; show it differs.
	idt, err := verifier(t, idp).Verify(t.Context(), rawIDToken(t, login(t, clientConfig(idp))))
	if err != nil {
		t.Fatal(err)
	}
	if idt.Nonce == "n-1" || idt.Nonce != "replayed" {
		t.Errorf("nonce = %q", idt.Nonce)
	}
}

func TestOmitKIDStillVerifies(t *testing.T) {
	t.Parallel()
	idp := testapp.NewIdP(t)
	idp.Behave(oauthlogintest.Behavior{OmitKID: true})
	if _, err := verifier(t, idp).Verify(t.Context(), rawIDToken(t, login(t, clientConfig(idp)))); err != nil {
		t.Errorf("a token without kid, signed by a published key: %v", err)
	}
}

func TestOmitIDToken(t *testing.T) {
	t.Parallel()
	idp := testapp.NewIdP(t)
	idp.Behave(oauthlogintest.Behavior{OmitIDToken: true})
	if tok := login(t, clientConfig(idp)); tok.Extra("id_token") != nil {
		t.Error("id_token despite OmitIDToken")
	}
}
