package oauthlogintest

import (
	"maps"
	"slices"
	"time"
)

// Behavior scripts how a [Server] misbehaves. Every field is optional and
// the zero value is an honest provider. Each field breaks one thing, so a
// test can show that a client notices exactly that.
type Behavior struct {
	// AuthorizeError makes the authorization endpoint redirect back with
	// error=AuthorizeError (and state, iss) instead of a code.
	AuthorizeError string
	// OmitState leaves state out of the authorization response.
	OmitState bool
	// AuthorizeIssuer is the RFC 9207 iss authorization response
	// parameter; empty means the issuer.
	AuthorizeIssuer string
	// OmitAuthorizeIssuer leaves iss out of the authorization response.
	OmitAuthorizeIssuer bool

	// DiscoveryIssuer is the issuer the discovery document announces;
	// empty means Server.URL.
	DiscoveryIssuer string

	// TokenStatus makes the token endpoint answer every request with this
	// HTTP status and a JSON error body whose error is invalid_client for
	// 401, temporarily_unavailable for 503, server_error for other 5xx and
	// invalid_request otherwise.
	TokenStatus int
	// TokenError makes the token endpoint answer every request with
	// 400 {"error": TokenError}.
	TokenError string
	// TokenDelay makes the token endpoint wait this long, or until the
	// client gives up, before it answers.
	TokenDelay time.Duration
	// OmitIDToken leaves id_token out of token responses.
	OmitIDToken bool
	// OmitRefreshToken leaves refresh_token out of token responses: none
	// is issued for a code, and a refresh without rotation does not echo
	// the one it was given.
	OmitRefreshToken bool
	// RotateRefreshTokens makes the refresh_token grant return a new
	// refresh token and invalidate the one it was given. Presenting an
	// invalidated refresh token again fails with invalid_grant and, as
	// RFC 9700 §4.14.2 recommends, ends every token of that login.
	RotateRefreshTokens bool
	// IDTokenOnRefresh adds a fresh id_token to refresh responses. Like
	// every ID token, it needs the openid scope; it carries no nonce
	// unless IDTokenNonce is set.
	IDTokenOnRefresh bool

	// IDTokenIssuer overrides the iss claim of ID tokens.
	IDTokenIssuer string
	// IDTokenAudience overrides the aud claim: a string or a []string.
	// Nil means the client id.
	IDTokenAudience any
	// IDTokenAzp sets the azp claim.
	IDTokenAzp string
	// IDTokenNonce overrides the nonce claim.
	IDTokenNonce string
	// OmitNonce leaves the nonce claim out.
	OmitNonce bool
	// IssuedAtOffset moves iat: iat = now + IssuedAtOffset.
	IssuedAtOffset time.Duration
	// OmitIssuedAt leaves the iat claim out.
	OmitIssuedAt bool
	// ExpiresIn sets exp = now + ExpiresIn. Zero means one hour; a
	// negative value issues an expired token.
	ExpiresIn time.Duration
	// Claims are merged into the ID token claims last; a nil value deletes
	// the claim. Use it for anything the other fields do not cover, such as
	// "sub": 42 or "sub": nil.
	Claims map[string]any
	// BadSignature corrupts the signature.
	BadSignature bool
	// AlgNone makes an unsigned token: header alg "none", empty signature.
	AlgNone bool
	// AlgNoneCase spells "none" differently (such as "None") when AlgNone
	// is set.
	AlgNoneCase string
	// UnknownKID signs with a key the JWKS does not publish, under a kid
	// it does not know.
	UnknownKID bool
	// OmitKID leaves kid out of the header; the signature stays valid.
	OmitKID bool

	// UserInfoStatus makes the userinfo endpoint answer with this HTTP
	// status and a JSON error body.
	UserInfoStatus int
	// UserInfoSubject overrides sub in userinfo responses.
	UserInfoSubject string
}

// Behave replaces the server's current behavior with b from the next
// request on. Behave(Behavior{}) makes the server honest again.
func (s *Server) Behave(b Behavior) {
	b.Claims = maps.Clone(b.Claims)
	if aud, ok := b.IDTokenAudience.([]string); ok {
		b.IDTokenAudience = slices.Clone(aud)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.behavior = b
}

// currentBehavior returns a copy of the behavior in force.
func (s *Server) currentBehavior() Behavior {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.behavior
}
