package oauthlogintest

import (
	"crypto"
	"crypto/subtle"
	"fmt"
	"net/http"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Client authentication methods (OpenID Connect Core §9).
const (
	methodSecret          = "" // client_secret_basic or client_secret_post
	methodPrivateKeyJWT   = "private_key_jwt"
	methodClientSecretJWT = "client_secret_jwt"
)

// jwtBearer is the client_assertion_type of RFC 7523 §2.2.
const jwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// maxAssertionLifetime is the longest exp − now a client assertion may
// have: assertions are for one request (Auth0 accepts 5 minutes at most).
const maxAssertionLifetime = 5 * time.Minute

// assertionAlgs are the algorithms the server accepts for each method.
var (
	privateKeyAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512, jose.ES256, jose.ES384, jose.ES512, jose.EdDSA}
	secretJWTAlgs  = []jose.SignatureAlgorithm{jose.HS256, jose.HS384, jose.HS512}
)

// clientAuth is how the client is registered to authenticate.
type clientAuth struct {
	method string
	key    crypto.PublicKey // private_key_jwt
	kid    string           // private_key_jwt: the key's id, "" for any
	jtis   map[string]time.Time
}

// SetClientKey registers the client for private_key_jwt (OpenID Connect
// Core §9) with its public key (*rsa.PublicKey, *ecdsa.PublicKey or
// ed25519.PublicKey) and key id ("" accepts assertions with any kid or
// none). From now on the token, revocation and device authorization
// endpoints accept only client assertions signed by that key, and refuse
// the client secret.
func (s *Server) SetClientKey(pub crypto.PublicKey, kid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clientAuth.method, s.clientAuth.key, s.clientAuth.kid = methodPrivateKeyJWT, pub, kid
}

// SetClientAuthMethod sets how the client must authenticate at the token,
// revocation and device authorization endpoints: "client_secret_basic" or
// "client_secret_post" (either is accepted; the default),
// "client_secret_jwt" (an assertion signed with HMAC by the client
// secret), or "private_key_jwt" (an assertion signed by the key of
// SetClientKey, which sets this method too). Discovery's
// token_endpoint_auth_methods_supported lists the method. It panics on
// another method.
//
// A client assertion (RFC 7523 §3) must have iss and sub the client id,
// aud the issuer, the token endpoint URL or the URL of the endpoint it
// is sent to, exp in the future and at most 5 minutes ahead, iat not in
// the future, a jti never used before, and an algorithm of the method; a
// client_id, when sent, must be the client's. Anything else is 401
// invalid_client.
func (s *Server) SetClientAuthMethod(method string) {
	switch method {
	case "client_secret_basic", "client_secret_post":
		method = methodSecret
	case methodPrivateKeyJWT, methodClientSecretJWT:
	default:
		panic(fmt.Sprintf("oauthlogintest: SetClientAuthMethod: unknown method %q", method))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clientAuth.method = method
}

// authMethods returns discovery's token_endpoint_auth_methods_supported
// and token_endpoint_auth_signing_alg_values_supported (nil for secrets).
func (s *Server) authMethods() ([]string, []string) {
	s.mu.Lock()
	method := s.clientAuth.method
	s.mu.Unlock()
	names := func(algs []jose.SignatureAlgorithm) []string {
		out := make([]string, len(algs))
		for i, a := range algs {
			out[i] = string(a)
		}
		return out
	}
	switch method {
	case methodPrivateKeyJWT:
		return []string{methodPrivateKeyJWT}, names(privateKeyAlgs)
	case methodClientSecretJWT:
		return []string{methodClientSecretJWT}, names(secretJWTAlgs)
	}
	return []string{"client_secret_basic", "client_secret_post"}, nil
}

// jwtClientAuth reports whether the client is registered for a JWT
// method.
func (s *Server) jwtClientAuth() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.clientAuth.method != methodSecret
}

// authenticateAssertion checks the client assertion of r (RFC 7523 §3,
// OpenID Connect Core §9), with no other credential beside it. r.PostForm
// must be parsed.
func (s *Server) authenticateAssertion(r *http.Request) *oauthError {
	invalid := func(why string) *oauthError {
		return &oauthError{http.StatusUnauthorized, "invalid_client", why}
	}
	asserted := r.PostForm.Has("client_assertion") || r.PostForm.Has("client_assertion_type")
	if _, _, basic := r.BasicAuth(); asserted && (basic || r.Header.Get("Authorization") != "" || r.PostForm.Has("client_secret")) {
		return &oauthError{http.StatusBadRequest, "invalid_request", "more than one client authentication method"}
	}
	if r.PostForm.Get("client_assertion_type") != jwtBearer {
		return invalid("client_assertion_type is not " + jwtBearer)
	}
	if len(r.PostForm["client_assertion"]) != 1 {
		return invalid("one client_assertion is needed")
	}
	s.mu.Lock()
	ca, secret := s.clientAuth, s.secret
	s.mu.Unlock()
	var (
		algs = privateKeyAlgs
		key  any
	)
	switch ca.method {
	case methodPrivateKeyJWT:
		key = ca.key
	case methodClientSecretJWT:
		algs, key = secretJWTAlgs, []byte(secret)
	default:
		return invalid("the client is not registered for JWT client authentication")
	}
	tok, err := jwt.ParseSigned(r.PostForm.Get("client_assertion"), algs)
	if err != nil {
		return invalid("the client assertion does not parse or has an algorithm the method does not allow")
	}
	if ca.kid != "" && tok.Headers[0].KeyID != "" && tok.Headers[0].KeyID != ca.kid {
		return invalid("the client assertion's kid is not the client's key")
	}
	var c jwt.Claims
	if err := tok.Claims(key, &c); err != nil {
		return invalid("the client assertion's signature does not verify")
	}
	now := time.Now()
	switch {
	case c.Issuer != s.clientID || c.Subject != s.clientID:
		return invalid("the client assertion's iss and sub must be the client id")
	case r.PostForm.Has("client_id") && r.PostForm.Get("client_id") != s.clientID:
		return invalid("client_id is not the assertion's client")
	case !audienceOK(c.Audience, s.issuer, s.issuer+r.URL.Path):
		return invalid("the client assertion's aud is neither the issuer, the token endpoint nor this endpoint")
	case c.Expiry == nil || !now.Before(c.Expiry.Time()):
		return invalid("the client assertion has expired or has no exp")
	case c.Expiry.Time().After(now.Add(maxAssertionLifetime)):
		return invalid("the client assertion's exp is too far ahead")
	case c.IssuedAt != nil && c.IssuedAt.Time().After(now.Add(time.Minute)):
		return invalid("the client assertion's iat is in the future")
	case c.NotBefore != nil && c.NotBefore.Time().After(now.Add(time.Minute)):
		return invalid("the client assertion is not valid yet")
	case c.ID == "":
		return invalid("the client assertion has no jti")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.clientAuth.jtis == nil {
		s.clientAuth.jtis = make(map[string]time.Time)
	}
	for jti, exp := range s.clientAuth.jtis {
		if now.After(exp) {
			delete(s.clientAuth.jtis, jti)
		}
	}
	if _, used := s.clientAuth.jtis[c.ID]; used {
		return invalid("the client assertion's jti was used before")
	}
	s.clientAuth.jtis[c.ID] = c.Expiry.Time()
	return nil
}

// audienceOK reports whether aud names this server: its issuer, its
// token endpoint, or the endpoint the assertion was sent to (RFC 7523 §3,
// RFC 9126 §2).
func audienceOK(aud jwt.Audience, issuer, endpoint string) bool {
	for _, a := range aud {
		for _, want := range [...]string{issuer, issuer + "/token", endpoint} {
			if subtle.ConstantTimeCompare([]byte(a), []byte(want)) == 1 {
				return true
			}
		}
	}
	return false
}
