package providers_test

import (
	"errors"
	"testing"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/internal/testapp"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
	"github.com/oauthlogin/oauthlogin/providers"
)

// Guard: a member whose name folds to sub (U+017F long s, sorted after
// "sub" so that it is the last) moves the ID token's subject for go-oidc
// and the profile alike: the userinfo answer for the real sub is then
// refused (OpenID Connect Core §5.3.2), and one for the folded sub gives
// a profile whose subject is the one the ID token verified with.
func TestAttackV7FoldedSubConsistentEndToEnd(t *testing.T) {
	idp := testapp.NewIdP(t)
	idp.SetUser(oauthlogintest.User{Subject: "u-1"})
	p := newOIDC(t, idp, providers.Config{})
	idp.Behave(oauthlogintest.Behavior{Claims: map[string]any{"ſub": "attacker"}})
	if got, err := p.Identify(t.Context(), login(t, p, "n"), "n"); !errors.Is(err, oauthlogin.ErrProfileUnavailable) {
		t.Fatalf("ID token sub folded to attacker, userinfo sub u-1: %+v, %v; want ErrProfileUnavailable", got, err)
	}
	idp.Behave(oauthlogintest.Behavior{Claims: map[string]any{"ſub": "attacker"}, UserInfoSubject: "attacker"})
	tok := login(t, p, "n")
	got, err := p.Identify(t.Context(), tok, "n")
	if err != nil {
		t.Fatal(err)
	}
	idt, err := p.VerifyIDToken(t.Context(), tok.Extra("id_token").(string), "n")
	if err != nil {
		t.Fatal(err)
	}
	if got.Subject != idt.Subject {
		t.Fatalf("profile subject %q, verified ID token subject %q", got.Subject, idt.Subject)
	}
}
