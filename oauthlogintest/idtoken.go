package oauthlogintest

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"time"
)

// idToken returns a signed ID token for g, issued at now together with
// accessToken, shaped by b. A token from a refresh carries no nonce unless
// b sets one (OpenID Connect Core §12.2).
func (s *Server) idToken(g *grant, b Behavior, accessToken string, now time.Time, refreshed bool) (string, error) {
	c := g.user.claims()
	c["iss"] = s.issuer
	if b.IDTokenIssuer != "" {
		c["iss"] = b.IDTokenIssuer
	}
	c["aud"] = s.clientID
	if b.IDTokenAudience != nil {
		c["aud"] = b.IDTokenAudience
	}
	if b.IDTokenAzp != "" {
		c["azp"] = b.IDTokenAzp
	}
	lifetime := time.Hour
	if b.ExpiresIn != 0 {
		lifetime = b.ExpiresIn
	}
	c["exp"] = now.Add(lifetime).Unix()
	if !b.OmitIssuedAt {
		c["iat"] = now.Add(b.IssuedAtOffset).Unix()
	}
	c["auth_time"] = g.authTime.Unix()
	if g.acr != "" {
		c["acr"] = g.acr
	}
	if g.sid != "" {
		c["sid"] = g.sid
	}
	nonce := g.nonce
	if refreshed {
		nonce = ""
	}
	if b.IDTokenNonce != "" {
		nonce = b.IDTokenNonce
	}
	if nonce != "" && !b.OmitNonce {
		c["nonce"] = nonce
	}
	c["at_hash"] = atHash(accessToken, b.TokenAlg)
	for name, v := range b.Claims {
		if v == nil {
			delete(c, name)
		} else {
			c[name] = v
		}
	}
	return s.signJWT(c, b)
}

// atHash is the at_hash of an access token for a token signed with alg:
// the left half of its hash by the alg's hash function, base64url (OpenID
// Connect Core §3.1.3.6).
func atHash(accessToken, alg string) string {
	if alg == "RS384" {
		sum := sha512.Sum384([]byte(accessToken))
		return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
	}
	sum := sha256.Sum256([]byte(accessToken))
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}
