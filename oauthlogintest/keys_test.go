package oauthlogintest_test

import (
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"sync"
	"testing"

	"github.com/oauthlogin/oauthlogin/internal/testapp"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
)

// jwks fetches the server's key set.
func jwks(t *testing.T, idp *oauthlogintest.Server) []map[string]string {
	t.Helper()
	resp, err := http.Get(idp.URL + "/jwks")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	return set.Keys
}

func TestJWKS(t *testing.T) {
	t.Parallel()
	idp := testapp.NewIdP(t)
	keys := jwks(t, idp)
	if len(keys) != 1 {
		t.Fatalf("%d keys, want 1", len(keys))
	}
	k := keys[0]
	if k["kty"] != "RSA" || k["use"] != "sig" || k["alg"] != "RS256" || k["kid"] != "key-1" || k["e"] != "AQAB" {
		t.Errorf("key = %v", k)
	}
	n, err := base64.RawURLEncoding.DecodeString(k["n"])
	if err != nil {
		t.Fatal(err)
	}
	pub := rsa.PublicKey{N: new(big.Int).SetBytes(n), E: 65537}
	if pub.Size() != 256 {
		t.Errorf("modulus is %d bytes, want 256", pub.Size())
	}
}

func TestRotateKey(t *testing.T) {
	t.Parallel()
	idp := testapp.NewIdP(t)
	cfg := clientConfig(idp)
	v := verifier(t, idp)
	before := rawIDToken(t, login(t, cfg))
	if _, err := v.Verify(t.Context(), before); err != nil {
		t.Fatal(err)
	}

	idp.RotateKey()
	keys := jwks(t, idp)
	if len(keys) != 2 || keys[0]["kid"] != "key-2" || keys[1]["kid"] != "key-1" {
		t.Fatalf("JWKS after rotation = %v", keys)
	}
	after := rawIDToken(t, login(t, cfg))
	if h, _ := decodeJWT(t, after); h["kid"] != "key-2" {
		t.Errorf("new token kid = %v, want key-2", h["kid"])
	}
	// The verifier has cached key-1 only; it must refetch to find key-2.
	if _, err := v.Verify(t.Context(), after); err != nil {
		t.Errorf("token signed with the new key: %v", err)
	}
	if _, err := v.Verify(t.Context(), before); err != nil {
		t.Errorf("token signed with the old key: %v", err)
	}
}

func TestConcurrentRotationGivesDistinctKIDs(t *testing.T) {
	t.Parallel()
	idp := testapp.NewIdP(t)
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(idp.RotateKey)
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, k := range jwks(t, idp) {
		seen[k["kid"]] = true
	}
	for _, kid := range []string{"key-1", "key-2", "key-3", "key-4"} {
		if !seen[kid] {
			t.Errorf("JWKS lacks %s: %v", kid, seen)
		}
	}
}
