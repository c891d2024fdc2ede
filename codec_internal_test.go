package oauthlogin

import (
	"errors"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

func TestSealOpen(t *testing.T) {
	k1, k2 := GenerateCookieKey(), GenerateCookieKey()
	old, err := newKeyring([]CookieKey{k1}, nil, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := newKeyring([]CookieKey{k2, k1}, nil, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	tok := &oauth2.Token{AccessToken: "access", RefreshToken: "refresh", TokenType: "Bearer"}
	sealed, err := old.seal(tok, "session:a")
	if err != nil {
		t.Fatal(err)
	}
	for name, k := range map[string]*keyring{"same keys": old, "rotated keys": rotated} {
		got, err := k.open(sealed, "session:a")
		if err != nil || got.AccessToken != "access" || got.RefreshToken != "refresh" || got.TokenType != "Bearer" {
			t.Fatalf("%s: open = %+v, %v", name, got, err)
		}
	}
	again, _ := old.seal(tok, "session:a")
	if string(again) == string(sealed) {
		t.Fatal("sealing twice gave the same bytes: the nonce is not random")
	}
	if _, err := old.open(sealed, "session:b"); !errors.Is(err, errUnseal) {
		t.Fatalf("open under another record: %v", err)
	}
	tampered := append([]byte(nil), sealed...)
	tampered[len(tampered)-1] ^= 1
	if _, err := old.open(tampered, "session:a"); !errors.Is(err, errUnseal) {
		t.Fatalf("open tampered: %v", err)
	}
	newOnly, _ := newKeyring([]CookieKey{k2}, nil, time.Minute)
	if _, err := newOnly.open(sealed, "session:a"); !errors.Is(err, errUnseal) {
		t.Fatalf("open after the key was dropped: %v", err)
	}
	if _, err := old.open(sealed[:3], "session:a"); !errors.Is(err, errUnseal) {
		t.Fatalf("open truncated: %v", err)
	}
	if got, err := old.open(nil, "session:a"); got != nil || err != nil {
		t.Fatalf("open(nil) = %v, %v", got, err)
	}
}
