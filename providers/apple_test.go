package providers_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/providers"
)

const (
	appleTeamID = "TEAM123456"
	appleKeyID  = "KEY1234567"
)

// appleSettings makes a Sign in with Apple key and returns the catalogue
// settings for it, and a check of client secrets signed with it.
func appleSettings(t testing.TB) (map[string]string, func(string) error) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	p8 := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	values := map[string]string{"team_id": appleTeamID, "key_id": appleKeyID, "private_key": string(p8)}
	return values, func(secret string) error { return checkAppleSecret(&key.PublicKey, secret, time.Now()) }
}

// checkAppleSecret verifies a client secret as Apple documents it: an
// ES256 JWT with kid, signed by the key, iss the team id, sub the client
// id, aud https://appleid.apple.com, and an exp after now and at most six
// months after iat.
func checkAppleSecret(pub *ecdsa.PublicKey, secret string, now time.Time) error {
	parts := strings.Split(secret, ".")
	if len(parts) != 3 {
		return errors.New("client secret is not a compact JWS")
	}
	enc := base64.RawURLEncoding
	var header struct{ Alg, Kid string }
	var claims struct {
		Iss, Sub, Aud string
		Iat, Exp      int64
	}
	h, err1 := enc.DecodeString(parts[0])
	c, err2 := enc.DecodeString(parts[1])
	sig, err3 := enc.DecodeString(parts[2])
	if err := errors.Join(err1, err2, err3, json.Unmarshal(h, &header), json.Unmarshal(c, &claims)); err != nil {
		return err
	}
	if header.Alg != "ES256" || header.Kid != appleKeyID {
		return fmt.Errorf("header %+v", header)
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if len(sig) != 64 || !ecdsa.Verify(pub, sum[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		return errors.New("bad ES256 signature")
	}
	switch {
	case claims.Iss != appleTeamID || claims.Sub != fakeClientID || claims.Aud != "https://appleid.apple.com":
		return fmt.Errorf("claims %+v", claims)
	case claims.Exp <= now.Unix() || claims.Exp <= claims.Iat || claims.Exp-claims.Iat > 15777000:
		return fmt.Errorf("lifetime iat %d exp %d at %d", claims.Iat, claims.Exp, now.Unix())
	}
	return nil
}

// TestAppleClientSecret checks the secret outside a login: a valid JWT,
// the same one while it is fresh.
func TestAppleClientSecret(t *testing.T) {
	values, check := appleSettings(t)
	f := newFake(t, loadFixture(t, "apple"))
	p, err := providers.Apple(t.Context(), providers.AppleKey{TeamID: values["team_id"], KeyID: values["key_id"], PrivateKey: []byte(values["private_key"])},
		providers.Config{ClientID: fakeClientID, ClientSecret: "ignored", HTTPClient: f.client()})
	if err != nil {
		t.Fatal(err)
	}
	s1, err := p.ClientSecret()
	if err != nil {
		t.Fatal(err)
	}
	if err := check(s1); err != nil {
		t.Fatal(err)
	}
	if s2, _ := p.ClientSecret(); s2 != s1 {
		t.Error("a fresh client secret was signed again")
	}
	if got := p.OAuth2Config().ClientSecret; got != "" {
		t.Errorf("OAuth2Config().ClientSecret = %q, want none: the secret is set per request", got)
	}
	if got := p.AuthParams().Get("response_mode"); got != "form_post" {
		t.Errorf("response_mode = %q, want form_post", got)
	}
}

// TestAppleStringClaims: Apple's string booleans count for Apple.
func TestAppleStringClaims(t *testing.T) {
	values, secret := appleSettings(t)
	got, _ := runLogin(t, loginCase{entry: "apple", values: values, config: noSecret, secret: secret})
	if !providers.ApplePrivateEmail(got) {
		t.Error(`ApplePrivateEmail = false for is_private_email "true"`)
	}
	if !got.EmailVerified {
		t.Error(`EmailVerified = false for email_verified "true"`)
	}
	got, _ = runLogin(t, loginCase{entry: "apple", fixture: "apple-unverified", values: values, config: noSecret, secret: secret})
	if providers.ApplePrivateEmail(got) || got.EmailVerified || got.Name != "" {
		t.Errorf("profile %+v, want unverified, not private, no name (no user field)", got)
	}
}

// TestAppleWrongSecretRefused: the fake refuses a secret signed with
// another key, so the login test's check is real.
func TestAppleWrongSecretRefused(t *testing.T) {
	values, _ := appleSettings(t)
	_, other := appleSettings(t)
	f := newFake(t, loadFixture(t, "apple"))
	f.secret = other
	f.t = quietT{t}
	a, err := newApp(t, f, "apple", providers.Settings{Config: providers.Config{ClientID: fakeClientID}, Values: values})
	if err != nil {
		t.Fatal(err)
	}
	if _, code := a.login(t, "apple"); code != oauthlogin.ErrTokenExchange.Code() {
		t.Errorf("login with a secret from another key: %q, want %s", code, oauthlogin.ErrTokenExchange.Code())
	}
}

// TestAppleRefresh redeems a refresh token with a client secret signed
// for the request, which the fake checks like Apple does.
func TestAppleRefresh(t *testing.T) {
	values, check := appleSettings(t)
	f := newFake(t, loadFixture(t, "apple"))
	f.secret = check
	p, err := providers.Apple(t.Context(), providers.AppleKey{TeamID: values["team_id"], KeyID: values["key_id"], PrivateKey: []byte(values["private_key"])},
		providers.Config{ClientID: fakeClientID, HTTPClient: f.client()})
	if err != nil {
		t.Fatal(err)
	}
	cfg := p.OAuth2Config()
	tok, err := p.Refresh(contextWithClient(t.Context(), f.client()), &cfg, "rt-old")
	if err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	if tok.AccessToken != f.fx.AccessToken {
		t.Errorf("AccessToken = %q, want %q", tok.AccessToken, f.fx.AccessToken)
	}
	if n := f.hit(f.fx.Token); n != 1 {
		t.Errorf("token endpoint hit %d times, want 1", n)
	}

	// A provider that expects another key refuses the secret: the refresh
	// fails.
	_, other := appleSettings(t)
	refusing := newFake(t, loadFixture(t, "apple"))
	refusing.secret, refusing.t = other, quietT{t}
	cfg = p.OAuth2Config()
	if _, err := p.Refresh(contextWithClient(t.Context(), refusing.client()), &cfg, "rt-old"); err == nil {
		t.Error("a refresh with a secret Apple would refuse succeeded")
	}
}
