package oauthlogintest

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
)

// signJWT encodes claims as a compact JWS signed with RS256 by the current
// key, bent the way b asks (bad signature, alg none, unknown or no kid).
func (s *Server) signJWT(claims map[string]any, b Behavior) (string, error) {
	if b.AlgNone {
		alg := "none"
		if b.AlgNoneCase != "" {
			alg = b.AlgNoneCase
		}
		input, err := signingInput(map[string]any{"alg": alg}, claims)
		return input + ".", err
	}
	key := s.currentKey()
	if b.UnknownKID {
		priv, err := s.rogueKey()
		if err != nil {
			return "", fmt.Errorf("oauthlogintest: generating unpublished key: %w", err)
		}
		key = signingKey{kid: "unpublished-key", priv: priv}
	}
	header := map[string]any{"alg": "RS256", "typ": "JWT", "kid": key.kid}
	if b.OmitKID {
		delete(header, "kid")
	}
	input, err := signingInput(header, claims)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(nil, key.priv, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("oauthlogintest: signing token: %w", err)
	}
	if b.BadSignature {
		sig[len(sig)/2] ^= 0x01
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// signingInput returns base64url(header) "." base64url(claims) (RFC 7515 §5.1).
func signingInput(header, claims map[string]any) (string, error) {
	h, err := json.Marshal(header)
	if err != nil {
		return "", fmt.Errorf("oauthlogintest: encoding token header: %w", err)
	}
	c, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("oauthlogintest: encoding token claims: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c), nil
}
