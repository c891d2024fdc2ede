package providers

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Bounds of a provider's key set.
const (
	// refetchWindow is the least time between two JWKS refetches caused by
	// tokens the cached keys do not verify: a flood of forged kids costs
	// the provider one request per window.
	refetchWindow = 30 * time.Second
	// maxJWK is the largest JWKS entry read; longer ones are skipped.
	maxJWK = 16 << 10
	// maxKeys is how many usable keys are kept, so that a token without
	// kid is tried against a bounded number of keys.
	maxKeys = 64
	// maxKeyAge is how long fetched keys are used before the set is
	// fetched again, so that a key the provider withdraws (after a
	// compromise, say) stops verifying even while tokens still name it.
	maxKeyAge = 24 * time.Hour
	// minRSABits is the smallest RSA key used (RFC 7518 §3.3: 2048 bits or
	// larger); maxRSABits bounds the cost of one verification.
	minRSABits, maxRSABits = 2048, 8192
)

// errRefetchLimited is returned when a token needs keys the cache lacks
// and the JWKS was refetched less than refetchWindow ago.
var errRefetchLimited = errors.New("providers: no published key verifies the token, and the key set was refetched moments ago")

// keySet implements go-oidc's KeySet over a provider's JWKS (RFC 7517),
// fetched through the provider's bounded client. Each entry is parsed on
// its own and skipped when it is unusable (malformed, unknown kty, not a
// signing key, private or symmetric, oversized), so one bad entry never
// hides the good ones. Keys in the token's header (jwk, jku, x5u, x5c) are
// never used: only published keys verify.
type keySet struct {
	url    string
	client *http.Client
	algs   []jose.SignatureAlgorithm
	now    func() time.Time

	mu          sync.Mutex
	keys        []jose.JSONWebKey
	loaded      bool      // keys holds a fetched set
	loadedAt    time.Time // when keys were fetched
	tried       bool      // a fetch was started
	lastRefetch time.Time // when the last fetch after the first started
	inflight    *keyFetch // the fetch under way, shared by concurrent callers
}

// keyFetch is one JWKS request and its result.
type keyFetch struct {
	done chan struct{}
	keys []jose.JSONWebKey
	err  error
}

func newKeySet(url string, client *http.Client, algs []string) *keySet {
	ks := &keySet{url: url, client: client, now: time.Now}
	for _, a := range algs {
		ks.algs = append(ks.algs, jose.SignatureAlgorithm(a))
	}
	return ks
}

// VerifySignature implements oidc.KeySet: it returns the payload of a
// compact JWS signed, in one of the configured algorithms, by a published
// key. A token whose kid the cached set lacks, or without kid and verified
// by no cached key, makes one refetch, at most one per refetchWindow.
func (ks *keySet) VerifySignature(ctx context.Context, raw string) ([]byte, error) {
	jws, err := jose.ParseSignedCompact(raw, ks.algs)
	if err != nil {
		return nil, fmt.Errorf("providers: malformed JWS: %w", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, errors.New("providers: a JWS must have exactly one signature")
	}
	h := jws.Signatures[0].Header
	keys, fresh, err := ks.cached(ctx)
	if err != nil {
		return nil, err
	}
	if payload, ok := verifyWith(jws, h, keys); ok {
		return payload, nil
	}
	if fresh || (h.KeyID != "" && hasKID(keys, h.KeyID)) {
		// Just fetched, or the key the token names is known: refetching
		// would change nothing.
		return nil, errors.New("providers: no published key verifies the token's signature")
	}
	if keys, err = ks.fetch(ctx, false); err != nil {
		return nil, err
	}
	if payload, ok := verifyWith(jws, h, keys); ok {
		return payload, nil
	}
	return nil, errors.New("providers: no published key verifies the token's signature")
}

// verifyWith tries the keys that may have signed a token with header h:
// those of its kid (all of them when it has none) whose alg, when set, is
// the token's.
func verifyWith(jws *jose.JSONWebSignature, h jose.Header, keys []jose.JSONWebKey) ([]byte, bool) {
	for i := range keys {
		k := &keys[i]
		if (h.KeyID != "" && k.KeyID != h.KeyID) || (k.Algorithm != "" && k.Algorithm != h.Algorithm) {
			continue
		}
		if payload, err := jws.Verify(k.Key); err == nil {
			return payload, true
		}
	}
	return nil, false
}

func hasKID(keys []jose.JSONWebKey, kid string) bool {
	for i := range keys {
		if keys[i].KeyID == kid {
			return true
		}
	}
	return false
}

// cached returns the cached keys, fetching them first when there are none
// yet, or when they are older than maxKeyAge; fresh tells that they were
// fetched by this call. Keys past their age that cannot be fetched again
// (the provider down, or a refetch moments ago) are used meanwhile: an
// outage must not stop every login.
func (ks *keySet) cached(ctx context.Context) (keys []jose.JSONWebKey, fresh bool, err error) {
	ks.mu.Lock()
	keys, stale := ks.keys, ks.loaded
	if ks.loaded && ks.now().Sub(ks.loadedAt) < maxKeyAge {
		ks.mu.Unlock()
		return keys, false, nil
	}
	ks.mu.Unlock()
	fetched, err := ks.fetch(ctx, !stale)
	if err != nil && stale {
		return keys, false, nil
	}
	return fetched, true, err
}

// fetch downloads the key set, or waits for the download under way. Every
// fetch but the first is a refetch: at most one per refetchWindow starts.
// With first set, keys loaded meanwhile are returned as they are.
func (ks *keySet) fetch(ctx context.Context, first bool) ([]jose.JSONWebKey, error) {
	ks.mu.Lock()
	if f := ks.inflight; f != nil {
		ks.mu.Unlock()
		select {
		case <-f.done:
			return f.keys, f.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if first && ks.loaded {
		keys := ks.keys
		ks.mu.Unlock()
		return keys, nil
	}
	if ks.tried {
		now := ks.now()
		if !ks.lastRefetch.IsZero() && now.Before(ks.lastRefetch.Add(refetchWindow)) {
			ks.mu.Unlock()
			return nil, errRefetchLimited
		}
		ks.lastRefetch = now
	}
	ks.tried = true
	f := &keyFetch{done: make(chan struct{})}
	ks.inflight = f
	ks.mu.Unlock()

	// The fetch is shared, and it spends the refetch window: a caller
	// that gives up (a login aborted on purpose) must not cancel it for
	// the others, nor leave the window spent on nothing. The client's
	// timeout bounds it.
	f.keys, f.err = ks.download(context.WithoutCancel(ctx))
	ks.mu.Lock()
	if f.err == nil {
		ks.keys, ks.loaded, ks.loadedAt = f.keys, true, ks.now()
	}
	ks.inflight = nil
	ks.mu.Unlock()
	close(f.done)
	return f.keys, f.err
}

// download reads the JWKS and keeps its usable signing keys.
func (ks *keySet) download(ctx context.Context) ([]jose.JSONWebKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ks.url, nil)
	if err != nil {
		return nil, fmt.Errorf("providers: keys: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := ks.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("providers: keys: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("providers: keys: %w", err)
	}
	if len(body) > maxBody {
		return nil, fmt.Errorf("providers: keys: %w", errBodyTooLarge)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("providers: keys: status %d", resp.StatusCode)
	}
	keys, err := parseJWKS(body)
	if err != nil {
		return nil, fmt.Errorf("providers: keys: %w", err)
	}
	return keys, nil
}

// parseJWKS returns the usable signing keys of a JWK Set document, each
// entry parsed on its own: an entry that is malformed, oversized, of an
// unknown kty or curve, for another use than "sig", private or symmetric,
// or an RSA key outside 2048–8192 bits is skipped. A set with no usable
// key is an error.
func parseJWKS(body []byte) ([]jose.JSONWebKey, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("malformed JWK set: %w", err)
	}
	var keys []jose.JSONWebKey
	for _, raw := range doc.Keys {
		if len(keys) == maxKeys {
			break
		}
		if len(raw) > maxJWK {
			continue
		}
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(raw); err != nil || !k.Valid() || (k.Use != "" && k.Use != "sig") {
			continue
		}
		switch pub := k.Key.(type) {
		case *rsa.PublicKey:
			if n := pub.N.BitLen(); n < minRSABits || n > maxRSABits {
				continue
			}
		case *ecdsa.PublicKey, ed25519.PublicKey:
		default: // symmetric or private keys: never verification keys here
			continue
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New("the JWK set has no usable signing key")
	}
	return keys, nil
}
