package providers

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// testKeys are generated once: RSA key generation is slow under -race.
var testKeys = sync.OnceValues(func() ([]*rsa.PrivateKey, error) {
	var keys []*rsa.PrivateKey
	for range 3 {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, nil
})

func rsaKeys(t *testing.T) (good, other, rogue *rsa.PrivateKey) {
	t.Helper()
	keys, err := testKeys()
	if err != nil {
		t.Fatal(err)
	}
	return keys[0], keys[1], keys[2]
}

// signTest signs a small payload with key as alg under kid (none when
// empty).
func signTest(t *testing.T, alg jose.SignatureAlgorithm, key any, kid string) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: kid}}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	obj, err := s.Sign([]byte(`{"sub":"user-1"}`))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// publicJWK is the JSON of key's public half, with use and alg.
func publicJWK(t testing.TB, key any, kid, use, alg string) string {
	t.Helper()
	b, err := json.Marshal(jose.JSONWebKey{Key: key, KeyID: kid, Use: use, Algorithm: alg})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// jwksServer serves *doc as the JWKS and counts its requests.
func jwksServer(t testing.TB, doc *atomic.Pointer[string]) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, *doc.Load())
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// TestKeySetBadEntries: RFC 7517 §5 says a JWK Set member a client cannot
// use (unknown kty, unsupported members) is to be ignored, not to fail the
// set. Each bad entry below sits before the provider's good key, under the
// same kid where it has one; tokens the good key signed, with and without
// kid, must still verify, and a token signed by the bad entry's own key,
// where it has one, must be refused.
func TestKeySetBadEntries(t *testing.T) {
	good, other, _ := rsaKeys(t)
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	oversized := publicJWK(t, &other.PublicKey, "k1", "sig", "RS256")
	oversized = strings.Replace(oversized, "{", `{"x-pad":"`+strings.Repeat("a", maxJWK)+`",`, 1)
	privateJWK, err := json.Marshal(jose.JSONWebKey{Key: other, KeyID: "k1", Use: "sig", Algorithm: "RS256"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		entry string
		key   any // the bad entry's signing key, if it has one
		alg   jose.SignatureAlgorithm
	}{
		{"Unparseable", `{"kty":"RSA","kid":"k1","n":"%%%","e":"AQAB"}`, nil, ""},
		{"NotAnObject", `"a string"`, nil, ""},
		{"UnknownKty", `{"kty":"XYZ","kid":"k1","x":"AAAA"}`, nil, ""},
		{"UnknownCurve", `{"kty":"EC","kid":"k1","crv":"P-192","x":"AAAA","y":"AAAA"}`, nil, ""},
		{"UseEnc", publicJWK(t, &other.PublicKey, "k1", "enc", "RS256"), other, jose.RS256},
		{"DuplicateKid", publicJWK(t, &other.PublicKey, "k1", "sig", "RS256"), nil, ""},
		{"Oversized", oversized, other, jose.RS256},
		// Even were HS256 allowed, a symmetric entry is never a key.
		{"Symmetric", `{"kty":"oct","kid":"k1","k":"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA"}`, []byte("secret-secret-secret-secret-secret"), jose.HS256},
		{"Private", string(privateJWK), other, jose.RS256},
		{"RSATooSmall", publicJWK(t, &small.PublicKey, "k1", "sig", "RS256"), small, jose.RS256},
		{"OtherAlg", publicJWK(t, &ec.PublicKey, "k1", "sig", "ES256"), nil, ""},
		// A key published for RS384 does not verify RS256 (RFC 7517 §4.4).
		{"KeyForAnotherAlg", publicJWK(t, &other.PublicKey, "k1", "sig", "RS384"), other, jose.RS256},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var doc atomic.Pointer[string]
			set := `{"keys":[` + tc.entry + `,` + publicJWK(t, &good.PublicKey, "k1", "sig", "RS256") + `]}`
			doc.Store(&set)
			srv, _ := jwksServer(t, &doc)
			algs := []string{"RS256"}
			if tc.alg != "" && tc.alg != jose.RS256 {
				algs = append(algs, string(tc.alg))
			}
			ks := newKeySet(srv.URL, limited(defaultClient()), algs)
			for _, kid := range []string{"k1", ""} {
				if _, err := ks.VerifySignature(t.Context(), signTest(t, jose.RS256, good, kid)); err != nil {
					t.Errorf("kid %q: a token of the good key was refused: %v", kid, err)
				}
			}
			if tc.key != nil {
				if _, err := ks.VerifySignature(t.Context(), signTest(t, tc.alg, tc.key, "k1")); err == nil {
					t.Error("a token signed by the unusable entry's key was accepted")
				}
			}
		})
	}
}

// TestKeySetRefetchWindow: a flood of tokens under kids the JWKS lacks
// costs the provider at most one refetch per refetchWindow, shared by
// concurrent verifications; the first unknown kid after the window is
// answered by one fetch, which finds a rotated key. The clock is the key
// set's own.
func TestKeySetRefetchWindow(t *testing.T) {
	good, next, rogue := rsaKeys(t)
	var doc atomic.Pointer[string]
	set := `{"keys":[` + publicJWK(t, &good.PublicKey, "k1", "sig", "RS256") + `]}`
	doc.Store(&set)
	srv, hits := jwksServer(t, &doc)
	ks := newKeySet(srv.URL, limited(defaultClient()), []string{"RS256"})
	var mu sync.Mutex
	now := time.Unix(1_700_000_000, 0)
	ks.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	want := func(n int32) {
		t.Helper()
		if got := hits.Load(); got != n {
			t.Fatalf("JWKS requests: %d, want %d", got, n)
		}
	}

	if _, err := ks.VerifySignature(t.Context(), signTest(t, jose.RS256, good, "k1")); err != nil {
		t.Fatal(err)
	}
	want(1)
	forged := make([]string, 20)
	for i := range forged {
		forged[i] = signTest(t, jose.RS256, rogue, fmt.Sprintf("forged-%d", i))
	}
	for _, tok := range forged {
		if _, err := ks.VerifySignature(t.Context(), tok); err == nil {
			t.Fatal("a forged token was accepted")
		}
	}
	want(2) // the first unknown kid refetched; the rest within the window did not
	noKid := signTest(t, jose.RS256, rogue, "")
	if _, err := ks.VerifySignature(t.Context(), noKid); err == nil {
		t.Fatal("a forged token without kid was accepted")
	}
	want(2)

	// The provider rotates; a token of the new key within the window is
	// refused without a request, the first one after it is answered by
	// one fetch.
	set2 := `{"keys":[` + publicJWK(t, &next.PublicKey, "k2", "sig", "RS256") + `,` + publicJWK(t, &good.PublicKey, "k1", "sig", "RS256") + `]}`
	doc.Store(&set2)
	rotated := signTest(t, jose.RS256, next, "k2")
	advance(refetchWindow - time.Nanosecond)
	if _, err := ks.VerifySignature(t.Context(), rotated); err == nil {
		t.Fatal("verified without a fetch")
	}
	want(2)
	advance(time.Nanosecond)
	if _, err := ks.VerifySignature(t.Context(), rotated); err != nil {
		t.Fatalf("the first unknown kid after the window: %v", err)
	}
	want(3)

	// Concurrent logins after the next window: forged and honest tokens
	// race; one refetch is shared, the honest ones verify from the cache.
	advance(refetchWindow)
	var wg sync.WaitGroup
	errs := make([]error, 2*len(forged))
	for i := range forged {
		wg.Go(func() { _, errs[2*i] = ks.VerifySignature(t.Context(), forged[i]) })
		wg.Go(func() { _, errs[2*i+1] = ks.VerifySignature(t.Context(), rotated) })
	}
	wg.Wait()
	for i, err := range errs {
		if (i%2 == 0) != (err != nil) {
			t.Errorf("verification %d: %v", i, err)
		}
	}
	want(4)

	// After the next window the provider rotates again and concurrent
	// logins all bring the new kid: one fetch, held open until they have
	// all started, answers every one of them.
	advance(refetchWindow)
	_, _, third := rsaKeys(t)
	set3 := `{"keys":[` + publicJWK(t, &third.PublicKey, "k3", "sig", "RS256") + `]}`
	doc.Store(&set3)
	newest := signTest(t, jose.RS256, third, "k3")
	const n = 16
	var started sync.WaitGroup
	started.Add(n)
	release := make(chan struct{})
	hold := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		srv.Config.Handler.ServeHTTP(w, r)
	}))
	t.Cleanup(hold.Close)
	ks.mu.Lock()
	ks.url = hold.URL
	ks.mu.Unlock()
	errs = make([]error, n)
	for i := range n {
		wg.Go(func() {
			started.Done()
			_, errs[i] = ks.VerifySignature(t.Context(), newest)
		})
	}
	started.Wait()
	close(release)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("concurrent login %d with the new kid: %v", i, err)
		}
	}
	want(5)
}

// TestKeySetAlgorithms: only the configured algorithms verify, whatever
// the key set publishes (OpenID Connect Core §3.1.3.7, step 7).
func TestKeySetAlgorithms(t *testing.T) {
	good, _, _ := rsaKeys(t)
	var doc atomic.Pointer[string]
	set := `{"keys":[` + publicJWK(t, &good.PublicKey, "k1", "sig", "") + `]}`
	doc.Store(&set)
	srv, _ := jwksServer(t, &doc)
	for _, alg := range []jose.SignatureAlgorithm{jose.RS384, jose.PS256} {
		tok := signTest(t, alg, good, "k1")
		if _, err := newKeySet(srv.URL, limited(defaultClient()), []string{"RS256"}).VerifySignature(t.Context(), tok); err == nil {
			t.Errorf("%s accepted by an RS256 client", alg)
		}
		if _, err := newKeySet(srv.URL, limited(defaultClient()), []string{string(alg)}).VerifySignature(t.Context(), tok); err != nil {
			t.Errorf("%s refused by a %s client: %v", alg, alg, err)
		}
	}
}

// A caller that gives up does not cancel the shared key fetch: a login
// aborted on purpose at startup (its context cancelled) would otherwise
// spend the refetch window on a failed fetch and leave the provider
// without keys for logins that follow.
func TestKeySetFetchOutlivesItsCaller(t *testing.T) {
	good, _, _ := rsaKeys(t)
	var doc atomic.Pointer[string]
	set := `{"keys":[` + publicJWK(t, &good.PublicKey, "k1", "sig", "RS256") + `]}`
	doc.Store(&set)
	srv, hits := jwksServer(t, &doc)
	ks := newKeySet(srv.URL, limited(defaultClient()), []string{"RS256"})
	now := time.Unix(1_700_000_000, 0)
	ks.now = func() time.Time { return now } // the window never passes
	gone, cancel := context.WithCancel(t.Context())
	cancel()
	tok := signTest(t, jose.RS256, good, "k1")
	if _, err := ks.VerifySignature(gone, tok); err != nil {
		t.Fatalf("the aborted caller's own verification: %v", err)
	}
	if _, err := ks.VerifySignature(t.Context(), tok); err != nil {
		t.Fatalf("a login after an aborted one cannot verify: %v", err)
	}
	if got := hits.Load(); got != 1 {
		t.Fatalf("JWKS requests: %d, want 1", got)
	}
}

// Keys are fetched again once they are maxKeyAge old, so that a key the
// provider withdrew (after a compromise, say) stops verifying even when
// tokens still name its kid; while the provider cannot answer, the keys
// at hand go on verifying (an outage must not stop every login).
func TestKeySetMaxAge(t *testing.T) {
	good, next, _ := rsaKeys(t)
	var doc atomic.Pointer[string]
	set := `{"keys":[` + publicJWK(t, &good.PublicKey, "k1", "sig", "RS256") + `]}`
	doc.Store(&set)
	var down atomic.Bool
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, *doc.Load())
	}))
	t.Cleanup(srv.Close)
	ks := newKeySet(srv.URL, limited(defaultClient()), []string{"RS256"})
	now := time.Unix(1_700_000_000, 0)
	ks.now = func() time.Time { return now }
	old := signTest(t, jose.RS256, good, "k1")
	if _, err := ks.VerifySignature(t.Context(), old); err != nil {
		t.Fatal(err)
	}

	// A day later the provider cannot answer: the keys at hand verify.
	now = now.Add(maxKeyAge)
	down.Store(true)
	if _, err := ks.VerifySignature(t.Context(), old); err != nil {
		t.Fatalf("aged keys during an outage: %v", err)
	}
	if got := hits.Load(); got != 2 {
		t.Fatalf("JWKS requests: %d, want 2 (one refetch of the aged set)", got)
	}

	// Back up, having withdrawn k1: once the refetch window has passed,
	// the aged set is fetched again and k1 no longer verifies.
	down.Store(false)
	set2 := `{"keys":[` + publicJWK(t, &next.PublicKey, "k2", "sig", "RS256") + `]}`
	doc.Store(&set2)
	now = now.Add(refetchWindow)
	if _, err := ks.VerifySignature(t.Context(), old); err == nil {
		t.Fatal("a withdrawn key still verifies a day after it was fetched")
	}
	if _, err := ks.VerifySignature(t.Context(), signTest(t, jose.RS256, next, "k2")); err != nil {
		t.Fatalf("the new key: %v", err)
	}
	if got := hits.Load(); got != 3 {
		t.Fatalf("JWKS requests: %d, want 3", got)
	}
}
