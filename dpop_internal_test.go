package oauthlogin

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"
)

// RFC 9449 §4.2: htu is the target URI without query and fragment.
func TestDPoPHTU(t *testing.T) {
	u, _ := url.Parse("https://user:pw@idp.example:8443/a/b%2Fc?x=1&y=2#frag")
	if got, want := htu(u), "https://idp.example:8443/a/b%2Fc"; got != want {
		t.Fatalf("htu = %q, want %q", got, want)
	}
}

// RFC 9449 §4.2: a proof is a JWS with typ dpop+jwt, alg ES256, the public
// jwk, and jti (fresh each time), htm, htu, iat, ath (for a resource
// request: base64url SHA-256 of the access token) and the nonce.
func TestDPoPProof(t *testing.T) {
	key, err := newDPoPKey()
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse("https://rs.example/api?q=1")
	now := time.Unix(1_800_000_000, 0)
	jtis := map[string]bool{}
	for range 3 {
		raw, err := key.proof("GET", u, "at-1", "n-1", now)
		if err != nil {
			t.Fatal(err)
		}
		jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.ES256})
		if err != nil {
			t.Fatal(err)
		}
		h := jws.Signatures[0].Protected
		if h.ExtraHeaders[jose.HeaderType] != "dpop+jwt" || h.JSONWebKey == nil || !h.JSONWebKey.IsPublic() {
			t.Fatalf("header %+v", h)
		}
		payload, err := jws.Verify(h.JSONWebKey)
		if err != nil {
			t.Fatal(err)
		}
		var c dpopClaims
		json.Unmarshal(payload, &c)
		sum := sha256.Sum256([]byte("at-1"))
		if c.HTM != "GET" || c.HTU != "https://rs.example/api" || c.IAT != now.Unix() || c.Nonce != "n-1" ||
			c.ATH != base64.RawURLEncoding.EncodeToString(sum[:]) || len(c.JTI) < 22 || jtis[c.JTI] {
			t.Fatalf("claims %+v", c)
		}
		jtis[c.JTI] = true
	}
}

// The key is sealed with the tokens (sealedToken.DPoPKey) and opened back
// with them; tokens without one seal none.
func TestSealKeepsDPoPKey(t *testing.T) {
	k, err := newKeyring([]CookieKey{GenerateCookieKey()}, nil, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := newDPoPKey()
	tok := withTokenDPoPKey((&oauth2.Token{AccessToken: "a", RefreshToken: "r", TokenType: "DPoP"}).WithExtra(map[string]any{"id_token": "x.y.z"}), key)
	if tok.Extra("id_token") != "x.y.z" {
		t.Fatal("binding the key dropped the ID token")
	}
	sealed, err := k.seal(tok, "identity:1")
	if err != nil {
		t.Fatal(err)
	}
	back, err := k.open(sealed, "identity:1")
	if err != nil {
		t.Fatal(err)
	}
	got := tokenDPoPKey(back)
	if got == nil || !got.priv.Equal(key.priv) || back.TokenType != "DPoP" {
		t.Fatalf("opened %+v with key %v", back, got)
	}
	plain, _ := k.seal(&oauth2.Token{AccessToken: "a"}, "identity:1")
	if back, _ := k.open(plain, "identity:1"); tokenDPoPKey(back) != nil {
		t.Fatal("a token without a key opened with one")
	}
	// A provider's token response cannot plant a key.
	planted := (&oauth2.Token{AccessToken: "a"}).WithExtra(map[string]any{dpopExtra: "key"})
	if tokenDPoPKey(planted) != nil {
		t.Fatal("a string extra was taken for a key")
	}
}

// RFC 9449 §8.1: a DPoP-Nonce is NQCHAR; others (and oversized ones) are
// not kept, nor sent back.
func TestDPoPNonceSyntax(t *testing.T) {
	d := newDPoPState(time.Now)
	for _, bad := range []string{"a b", `a"b`, `a\b`, "a\x7f", strings.Repeat("n", maxDPoPNonce+1), "é"} {
		d.remember("https://o", bad)
		if d.nonce("https://o") != "" {
			t.Fatalf("kept nonce %q", bad)
		}
	}
	d.remember("https://o", "ok-1!")
	if d.nonce("https://o") != "ok-1!" || d.nonce("https://other") != "" {
		t.Fatal("nonce not kept per origin")
	}
	for i := range 2 * maxDPoPNonces {
		d.remember("https://o"+strings.Repeat("x", i), "n")
	}
	if len(d.nonces) > maxDPoPNonces {
		t.Fatalf("%d origins kept", len(d.nonces))
	}
}

// RFC 9449 §8 (token endpoint: 400 JSON use_dpop_nonce) and §9 (resource:
// 401 DPoP challenge error="use_dpop_nonce"); any other 400 keeps its
// body for the caller.
func TestAskedForNonce(t *testing.T) {
	resp := func(status int, header, body string) *http.Response {
		r := &http.Response{StatusCode: status, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(body))}
		if header != "" {
			r.Header.Set("WWW-Authenticate", header)
		}
		return r
	}
	if !askedForNonce(resp(400, "", `{"error":"use_dpop_nonce"}`)) {
		t.Fatal("400 use_dpop_nonce not recognized")
	}
	if !askedForNonce(resp(401, `DPoP error="use_dpop_nonce", algs="ES256"`, "")) {
		t.Fatal("401 DPoP use_dpop_nonce not recognized")
	}
	if askedForNonce(resp(401, `Bearer error="use_dpop_nonce"`, "")) {
		t.Fatal("a Bearer challenge taken for a nonce request")
	}
	other := resp(400, "", `{"error":"invalid_grant"}`)
	if askedForNonce(other) {
		t.Fatal("invalid_grant taken for a nonce request")
	}
	if body, _ := io.ReadAll(other.Body); !bytes.Equal(body, []byte(`{"error":"invalid_grant"}`)) {
		t.Fatalf("the body left for the caller is %q", body)
	}
}

// roundTripFunc is an http.RoundTripper.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// A provider without DPoP sends no proof, whatever the context holds; one
// with DPoP sends none for a request without a key (a revocation, say).
func TestDPoPOnlyWhereOn(t *testing.T) {
	key, _ := newDPoPKey()
	var got string
	base := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		got = r.Header.Get("DPoP")
		return &http.Response{StatusCode: 200, Header: http.Header{}, Body: http.NoBody}, nil
	})
	req, _ := http.NewRequestWithContext(withDPoPKey(context.Background(), key), "POST", "https://idp.example/token", nil)
	if (&registered{}).roundTripDPoP(base, req); got != "" {
		t.Fatal("a proof without DPoP on")
	}
	on := &registered{dpop: newDPoPState(time.Now)}
	plain, _ := http.NewRequest("POST", "https://idp.example/revoke", nil)
	if on.roundTripDPoP(base, plain); got != "" {
		t.Fatal("a proof without a key")
	}
	if on.roundTripDPoP(base, req); got == "" {
		t.Fatal("no proof with DPoP on and a key")
	}
}

// RFC 9449 §8: the request sent again after use_dpop_nonce carries the
// same body (req.GetBody) and a new proof (a new jti) with the nonce.
func TestDPoPNonceRetryResendsBody(t *testing.T) {
	key, _ := newDPoPKey()
	var bodies, proofs []string
	base := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		b, _ := io.ReadAll(r.Body)
		bodies, proofs = append(bodies, string(b)), append(proofs, r.Header.Get("DPoP"))
		resp := &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(`{}`))}
		if len(bodies) == 1 {
			resp.StatusCode = 400
			resp.Header.Set("DPoP-Nonce", "n-1")
			resp.Body = io.NopCloser(strings.NewReader(`{"error":"use_dpop_nonce"}`))
		}
		return resp, nil
	})
	rp := &registered{dpop: newDPoPState(time.Now)}
	req, _ := http.NewRequestWithContext(withDPoPKey(context.Background(), key), "POST", "https://idp.example/token", strings.NewReader("grant_type=refresh_token&refresh_token=r"))
	resp, err := rp.roundTripDPoP(base, req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("%v, %v", resp, err)
	}
	if len(bodies) != 2 || bodies[0] != bodies[1] || bodies[1] == "" {
		t.Fatalf("bodies %q", bodies)
	}
	jws, _ := jose.ParseSignedCompact(proofs[1], []jose.SignatureAlgorithm{jose.ES256})
	var c dpopClaims
	json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &c)
	if c.Nonce != "n-1" || proofs[0] == proofs[1] {
		t.Fatalf("retry's proof claims %+v", c)
	}
}

// The nonce cache and the key's signer are shared by every request of a
// provider: concurrent requests (go test -race) each get a proof, and
// the nonce kept is one the server sent.
func TestDPoPConcurrentRequests(t *testing.T) {
	key, _ := newDPoPKey()
	rp := &registered{dpop: newDPoPState(time.Now)}
	base := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		h := http.Header{}
		h.Set("DPoP-Nonce", "n-"+r.URL.Query().Get("i"))
		if r.Header.Get("DPoP") == "" {
			return nil, io.ErrUnexpectedEOF
		}
		return &http.Response{StatusCode: 200, Header: h, Body: http.NoBody}, nil
	})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 10 {
				req, _ := http.NewRequestWithContext(withDPoPKey(context.Background(), key), "GET", "https://rs.example/api?i="+strconv.Itoa(i), nil)
				if _, err := rp.roundTripDPoP(base, req); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if n := rp.dpop.nonce("https://rs.example"); !strings.HasPrefix(n, "n-") {
		t.Fatalf("nonce %q", n)
	}
}
