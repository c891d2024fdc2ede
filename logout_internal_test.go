package oauthlogin

import (
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// Only an identity's sealed tokens keep the ID token (the id_token_hint
// of RP-initiated logout); a session's, which may travel in a cookie, do
// not carry it. Opening gives it back as the token's id_token extra.
func TestIDTokenSealedWithIdentityOnly(t *testing.T) {
	k, err := newKeyring([]CookieKey{GenerateCookieKey()}, nil, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	tok := (&oauth2.Token{AccessToken: "at", RefreshToken: "rt"}).WithExtra(map[string]any{"id_token": "the.id.token"})
	for aad, want := range map[string]string{"identity:i-1": "the.id.token", "session:s-1": ""} {
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

// keepIDToken: a refresh answer without an ID token keeps the previous
// one; one with an ID token keeps its own.
func TestKeepIDToken(t *testing.T) {
	prev := (&oauth2.Token{}).WithExtra(map[string]any{"id_token": "old"})
	if raw, _ := keepIDToken(&oauth2.Token{AccessToken: "a"}, prev).Extra("id_token").(string); raw != "old" {
		t.Fatalf("kept %q, want old", raw)
	}
	fresh := (&oauth2.Token{AccessToken: "a"}).WithExtra(map[string]any{"id_token": "new"})
	if raw, _ := keepIDToken(fresh, prev).Extra("id_token").(string); raw != "new" {
		t.Fatalf("kept %q, want new", raw)
	}
	if got := keepIDToken(fresh, nil); got != fresh {
		t.Fatal("keepIDToken changed a token with nothing to keep")
	}
}
