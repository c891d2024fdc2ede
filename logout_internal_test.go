package oauthlogin

import (
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// Only a session's sealed tokens keep the ID token (its login's, the
// id_token_hint of its RP-initiated logout); an identity's, whose latest
// ID token may be another browser's, do not. Opening gives it back as the
// token's id_token extra.
func TestIDTokenSealedWithSessionOnly(t *testing.T) {
	k, err := newKeyring([]CookieKey{GenerateCookieKey()}, nil, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	tok := (&oauth2.Token{AccessToken: "at", RefreshToken: "rt"}).WithExtra(map[string]any{"id_token": "the.id.token"})
	for aad, want := range map[string]string{"identity:i-1": "", "session:s-1": "the.id.token"} {
		sealed, err := k.seal(tok, aad)
		if err != nil {
			t.Fatal(err)
		}
		var st sealedToken
		if err := k.openValue(sealed, aad, &st); err != nil || st.IDToken != want {
			t.Fatalf("%s: sealed ID token %q (%v), want %q", aad, st.IDToken, err, want)
		}
		got, err := k.open(sealed, aad)
		if err != nil {
			t.Fatal(err)
		}
		if raw, _ := got.Extra("id_token").(string); raw != want || got.AccessToken != "at" || got.RefreshToken != "rt" {
			t.Fatalf("%s: opened %+v with id_token %q, want %q", aad, got, raw, want)
		}
	}
}

// withIDToken sets or removes the ID token and keeps the DPoP key, which
// travels in the same extras.
func TestWithIDToken(t *testing.T) {
	key, err := newDPoPKey()
	if err != nil {
		t.Fatal(err)
	}
	tok := withTokenDPoPKey((&oauth2.Token{AccessToken: "a"}).WithExtra(map[string]any{"id_token": "old"}), key)
	got := withIDToken(tok, "new")
	if raw, _ := got.Extra("id_token").(string); raw != "new" || tokenDPoPKey(got) != key || got.AccessToken != "a" {
		t.Fatalf("withIDToken(new) = %+v, id_token %q", got, raw)
	}
	got = withIDToken(tok, "")
	if got.Extra("id_token") != nil || tokenDPoPKey(got) != key {
		t.Fatalf("withIDToken(\"\") kept id_token %v or lost the key", got.Extra("id_token"))
	}
}
