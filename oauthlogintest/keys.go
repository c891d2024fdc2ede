package oauthlogintest

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"math/big"
	"net/http"
	"slices"
)

// signingKey is an RSA key the server signs ID tokens with, and its kid.
type signingKey struct {
	kid  string
	priv *rsa.PrivateKey
}

// newSigningKey generates an RSA-2048 key named kid.
func newSigningKey(kid string) (signingKey, error) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return signingKey{}, fmt.Errorf("oauthlogintest: generating RSA key: %w", err)
	}
	return signingKey{kid: kid, priv: priv}, nil
}

// RotateKey generates a new signing key with the next kid ("key-2",
// "key-3", ...). Tokens issued from now on are signed with it; the JWKS
// publishes it together with all older keys, so tokens signed before
// stay verifiable.
func (s *Server) RotateKey() {
	s.mu.Lock()
	kid := fmt.Sprintf("key-%d", len(s.keys)+1)
	s.mu.Unlock()
	key, err := newSigningKey(kid)
	if err != nil {
		panic(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key.kid = fmt.Sprintf("key-%d", len(s.keys)+1) // another RotateKey may have run meanwhile
	s.keys = append(s.keys, key)
}

// currentKey returns the key new tokens are signed with.
func (s *Server) currentKey() signingKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keys[len(s.keys)-1]
}

// ecKID is the kid of the ECDSA key that Behavior.TokenAlg "ES256" signs with.
const ecKID = "ec-1"

// PublicKey returns the public half of the RSA key that signs ID tokens
// now, for tests that need its bytes (algorithm confusion, say).
func (s *Server) PublicKey() *rsa.PublicKey {
	return &s.currentKey().priv.PublicKey
}

// jwk is one public key in JSON Web Key form (RFC 7517; RSA and EC
// members as RFC 7518 §6.3 and §6.2 name them).
type jwk struct {
	Kty string `json:"kty"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
	Crv string `json:"crv,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
}

// rsaAlg is the alg the JWKS gives the RSA keys under b: RS256, or the
// RSA algorithm of b.TokenAlg, as a provider that signs with it publishes.
func rsaAlg(b Behavior) string {
	switch b.TokenAlg {
	case "RS384", "PS256":
		return b.TokenAlg
	}
	return "RS256"
}

// rsaJWK returns pub as a JWK for algorithm alg.
func rsaJWK(kid string, pub *rsa.PublicKey, alg string) jwk {
	return jwk{
		Kty: "RSA",
		Use: "sig",
		Alg: alg,
		Kid: kid,
		N:   base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		E:   base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}
}

// ecJWK returns a P-256 public key as a JWK.
func ecJWK(kid string, pub *ecdsa.PublicKey) (jwk, error) {
	point, err := pub.Bytes() // 0x04 | X | Y
	if err != nil || len(point) != 65 {
		return jwk{}, fmt.Errorf("oauthlogintest: encoding EC key: %v", err)
	}
	return jwk{
		Kty: "EC",
		Use: "sig",
		Alg: "ES256",
		Kid: kid,
		Crv: "P-256",
		X:   base64.RawURLEncoding.EncodeToString(point[1:33]),
		Y:   base64.RawURLEncoding.EncodeToString(point[33:]),
	}, nil
}

// serveJWKS publishes every signing key, newest first, and the ECDSA key
// while Behavior.TokenAlg is "ES256". The RSA keys' alg is RS256, or
// Behavior.TokenAlg while it is "RS384" or "PS256".
func (s *Server) serveJWKS(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	keys := slices.Clone(s.keys)
	s.mu.Unlock()
	b := s.currentBehavior()
	set := struct {
		Keys []jwk `json:"keys"`
	}{Keys: make([]jwk, 0, len(keys)+1)}
	for _, k := range slices.Backward(keys) {
		set.Keys = append(set.Keys, rsaJWK(k.kid, &k.priv.PublicKey, rsaAlg(b)))
	}
	if b.TokenAlg == "ES256" {
		ec, err := s.ecKey()
		if err == nil {
			var j jwk
			if j, err = ecJWK(ecKID, &ec.PublicKey); err == nil {
				set.Keys = append(set.Keys, j)
			}
		}
		if err != nil {
			writeError(w, http.StatusInternalServerError, "server_error", err.Error())
			return
		}
	}
	writeJSON(w, http.StatusOK, set)
}
