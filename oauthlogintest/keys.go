package oauthlogintest

import (
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

// jwk is one RSA public key in JSON Web Key form (RFC 7517, RFC 7518 §6.3).
type jwk struct {
	Kty string `json:"kty"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	N   string `json:"n"`
	E   string `json:"e"`
}

// serveJWKS publishes every signing key, newest first.
func (s *Server) serveJWKS(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	keys := slices.Clone(s.keys)
	s.mu.Unlock()
	set := struct {
		Keys []jwk `json:"keys"`
	}{Keys: make([]jwk, 0, len(keys))}
	for _, k := range slices.Backward(keys) {
		pub := k.priv.PublicKey
		set.Keys = append(set.Keys, jwk{
			Kty: "RSA",
			Use: "sig",
			Alg: "RS256",
			Kid: k.kid,
			N:   base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
			E:   base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
		})
	}
	writeJSON(w, http.StatusOK, set)
}
