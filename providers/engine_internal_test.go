package providers

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/oauthlogin/oauthlogin"
)

func TestAppleSecretRenewedBeforeExpiry(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_700_000_000, 0)
	p := &AppleProvider{OIDCProvider: &OIDCProvider{}, teamID: "T", keyID: "K", key: key, now: func() time.Time { return now }}
	p.oauth.ClientID = "client"
	first, err := p.ClientSecret()
	if err != nil {
		t.Fatal(err)
	}
	exp := p.secretExp
	if exp != now.Add(appleSecretTTL) {
		t.Fatalf("exp = %v, want now + %v", exp, appleSecretTTL)
	}
	now = exp.Add(-appleSecretRenew - time.Second)
	if s, _ := p.ClientSecret(); s != first {
		t.Error("renewed with more than the margin left")
	}
	now = exp.Add(-appleSecretRenew)
	second, _ := p.ClientSecret()
	if second == first || !p.secretExp.After(exp) {
		t.Error("not renewed within the margin of expiry")
	}
}

func TestPickEmail(t *testing.T) {
	list := func(es ...emailEntry) []emailEntry { return es }
	tests := []struct {
		name     string
		doc      string
		entries  []emailEntry
		email    string
		verified bool
	}{
		{"PrimaryVerified", "public@example.com", list(emailEntry{"public@example.com", false, true}, emailEntry{"p@example.com", true, true}), "p@example.com", true},
		{"DocVerifiedSecondary", "public@example.com", list(emailEntry{"public@example.com", false, true}, emailEntry{"p@example.com", true, false}), "public@example.com", true},
		{"DocUnlisted", "public@example.com", list(emailEntry{"p@example.com", true, false}), "public@example.com", false},
		{"PrimaryUnverified", "", list(emailEntry{"p@example.com", true, false}, emailEntry{"s@example.com", false, true}), "p@example.com", false},
		{"Nothing", "", nil, "", false},
		{"DocClaimedVerifiedButUnlisted", "x@example.com", nil, "x@example.com", false},
	}
	for _, tt := range tests {
		p := &oauthlogin.Profile{Email: tt.doc, EmailVerified: true}
		pickEmail(p, tt.entries)
		if p.Email != tt.email || p.EmailVerified != tt.verified {
			t.Errorf("%s: %q %v, want %q %v", tt.name, p.Email, p.EmailVerified, tt.email, tt.verified)
		}
	}
}

func TestEmailListEntries(t *testing.T) {
	l := EmailList{List: "values", Email: "email", Primary: "is_primary", Verified: "is_confirmed"}
	got, err := l.entries([]byte(`{"values":[{"email":"a@example.com","is_primary":true,"is_confirmed":"true"},{"email":""},7,{"email":"b@example.com","is_confirmed":true}]}`))
	if err != nil {
		t.Fatal(err)
	}
	// A string "true" is not true; empty addresses and non-objects are skipped.
	want := []emailEntry{{"a@example.com", true, false}, {"b@example.com", false, true}}
	if !slices.Equal(got, want) {
		t.Errorf("entries = %+v, want %+v", got, want)
	}
	if _, err := l.entries([]byte(`{"values":{}}`)); err == nil {
		t.Error("a list that is not an array was accepted")
	}
	if got, err := (&EmailList{Email: "email"}).entries([]byte(`[{"email":"c@example.com"}]`)); err != nil || len(got) != 1 {
		t.Errorf("top-level array: %v, %v", got, err)
	}
}

func TestWithDefaults(t *testing.T) {
	params := url.Values{"owner": {"user"}}
	off := url.Values{"access_type": {"offline"}}
	cfg, scopes := withDefaults(Config{}, []string{"a"}, params, []string{"offline_access"}, off)
	if !slices.Equal(scopes, []string{"a"}) || cfg.AuthParams.Get("access_type") != "" || cfg.AuthParams.Get("owner") != "user" {
		t.Errorf("without OfflineAccess: %v %v", scopes, cfg.AuthParams)
	}
	cfg, scopes = withDefaults(Config{OfflineAccess: true, Scopes: []string{"b"}, AuthParams: url.Values{"owner": {"workspace"}}},
		[]string{"a"}, params, []string{"offline_access"}, off)
	if !slices.Equal(scopes, []string{"a", "offline_access"}) || !slices.Equal(cfg.Scopes, []string{"b", "offline_access"}) {
		t.Errorf("scopes %v, Config.Scopes %v", scopes, cfg.Scopes)
	}
	if cfg.AuthParams.Get("access_type") != "offline" || cfg.AuthParams.Get("owner") != "workspace" {
		t.Errorf("AuthParams %v: want offline and the host's owner", cfg.AuthParams)
	}
	params.Set("owner", "changed")
	if cfg.AuthParams.Get("owner") != "workspace" {
		t.Error("AuthParams shares the declaration's map")
	}
}

func TestFlattenNestedToken(t *testing.T) {
	out, err := flattenNestedToken([]byte(`{"access_token":{"token":"t1","expires_at":null},"user":{"id":1}}`))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(out, &doc); err != nil || doc["access_token"] != "t1" || doc["token_type"] != "Bearer" || doc["user"] == nil {
		t.Errorf("flattened %s (%v)", out, err)
	}
	plain := []byte(`{"access_token":"t2","token_type":"mac"}`)
	if out, err := flattenNestedToken(plain); err != nil || string(out) != string(plain) {
		t.Errorf("a standard response was changed: %s %v", out, err)
	}
	if _, err := flattenNestedToken([]byte(`{"access_token":{"user_id":1}}`)); err == nil {
		t.Error("a nested object without token was accepted")
	}
}

func TestIsGUID(t *testing.T) {
	for s, want := range map[string]bool{
		"72f988bf-86f1-41af-91ab-2d7cd011db47": true,
		"72F988BF-86F1-41AF-91AB-2D7CD011DB47": true,
		"72f988bf-86f1-41af-91ab-2d7cd011db4":  false,
		"72f988bf+86f1-41af-91ab-2d7cd011db47": false,
		"g2f988bf-86f1-41af-91ab-2d7cd011db47": false,
		"common":                               false,
	} {
		if isGUID(s) != want {
			t.Errorf("isGUID(%q) = %v", s, !want)
		}
	}
}

func TestMicrosoftProfile(t *testing.T) {
	p, err := microsoftProfile([]byte(`{"oid":"o","tid":"t","email":"e@example.com","xms_edov":"true"}`))
	if err != nil {
		t.Fatal(err)
	}
	if p.Subject != "t:o" || p.EmailVerified {
		t.Errorf("%+v: want subject t:o and a string xms_edov not trusted", p)
	}
	if _, err := microsoftProfile([]byte(`{"sub":"s","tid":"t"}`)); err == nil {
		t.Error("a token without oid was accepted")
	}
}
