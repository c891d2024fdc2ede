package oauthlogintest

import (
	"bytes"
	"maps"
	"net/http"
	"slices"
	"time"
)

// Behavior scripts how a [Server] misbehaves. Every field is optional and
// the zero value is an honest provider. Each field breaks one thing, so a
// test can show that a client notices exactly that.
type Behavior struct {
	// DevicePolls are the errors (authorization_pending, slow_down,
	// access_denied, expired_token, ...) that the next device_code polls get,
	// in order, before the device's real state answers.
	DevicePolls []string
	// DeviceExpiresIn is the lifetime of new device codes; zero means ten
	// minutes, negative ones are expired at once.
	DeviceExpiresIn time.Duration

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

	// PromptNoneError answers every prompt=none authorization request
	// with this error (consent_required, interaction_required,
	// account_selection_required, ...) instead of approving it. Without
	// it, prompt=none gets login_required only when nobody is signed in
	// at the provider (SetAuthTime) or a new authentication is asked for.
	PromptNoneError string
	// ACR is the acr claim of the ID tokens of logins approved from now
	// on, whatever acr_values asked for: a provider that cannot or will
	// not step up. Claims{"acr": nil} leaves acr out.
	ACR string
	// RequirePAR makes the authorization endpoint refuse (400) requests
	// that do not name a pushed authorization request by request_uri,
	// and discovery announce require_pushed_authorization_requests (RFC
	// 9126 §5).
	RequirePAR bool

	// DiscoveryIssuer is the issuer the discovery document announces;
	// empty means Server.URL.
	DiscoveryIssuer string
	// Discovery is merged into the discovery document last; a nil value
	// deletes the member. For example {"code_challenge_methods_supported":
	// []string{"plain"}}, or {"authorization_response_iss_parameter_supported":
	// nil}. Clients read discovery once, when they are made: set it first.
	Discovery map[string]any

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
	// IDToken, when not empty, is sent verbatim as the id_token of token
	// responses that would carry one: to replay a token captured with
	// [Server.LastIDToken] in a later login, or to send one the test made.
	IDToken string
	// AccessTokenSize pads the access tokens issued from now on to this
	// many characters (they have 43 otherwise), for tests of cookie and
	// header sizes.
	AccessTokenSize int

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
	// After [Server.RotateKey] the JWKS publishes several keys, so a token
	// without kid does not say which one signed it.
	OmitKID bool
	// TokenAlg signs ID tokens with another algorithm than RS256:
	//   - "RS384" or "PS256": with the RSA signing key, which the JWKS
	//     then publishes with that alg, although discovery lists RS256
	//     only;
	//   - "ES256": with an ECDSA P-256 key (kid "ec-1") that the JWKS
	//     publishes beside the RSA keys while this Behavior is in force,
	//     although discovery lists RS256 only;
	//   - "HS256": with HMAC-SHA256 under HMACKey, keeping the RSA key's
	//     kid. Pass the PEM or DER encoding of [Server.PublicKey] for the
	//     algorithm confusion attack.
	TokenAlg string
	// HMACKey is the key of TokenAlg "HS256".
	HMACKey []byte
	// TokenHeader is merged into the ID token's JOSE header before it is
	// signed; a nil value deletes the member. Use it for members a client
	// must neither fetch nor trust, such as jku, x5u or x5c.
	TokenHeader map[string]any
	// EmbedJWK puts the public key that signs the ID token in its header
	// (jwk, RFC 7515 §4.1.3). With UnknownKID that key is one the JWKS does
	// not publish: only a client that trusts the header accepts the token.
	EmbedJWK bool

	// DPoPNonce makes the token and userinfo endpoints require a server
	// nonce in DPoP proofs (RFC 9449 §8, §9): a proof without the current
	// one is answered use_dpop_nonce with the nonce in a DPoP-Nonce
	// header, and every accepted proof rotates it (the answer carries the
	// next).
	DPoPNonce bool
	// IgnoreDPoP makes the token endpoint ignore DPoP proofs, as a server
	// without DPoP does: it issues Bearer tokens bound to no key.
	IgnoreDPoP bool

	// UserInfoStatus makes the userinfo endpoint answer with this HTTP
	// status and a JSON error body.
	UserInfoStatus int
	// UserInfoSubject overrides sub in userinfo responses.
	UserInfoSubject string

	// Raw replaces the answer of endpoints, by the names [Server.Hits]
	// uses ("discovery", "jwks", "authorize", "token", "userinfo",
	// "revoke", "device", "par"), with a scripted HTTP response: HTML or
	// truncated JSON where JSON belongs, a 100 MB body, a body that
	// drips, or no answer at all. Requests are still counted.
	Raw map[string]RawResponse
	// Intercept wraps the handlers of endpoints, by the same names as Raw,
	// in middleware of the test's own: to observe requests (the
	// Authorization header, the query) and then call the next handler, or
	// to answer in a way nothing else here scripts. The next handler is
	// the Raw response when one is set for that endpoint, else the honest
	// one, which needs the request body unread (restore it after reading).
	// A handler that waits must return once r.Context() is done, as it is
	// when the client gives up or the Server closes.
	Intercept map[string]func(next http.Handler) http.Handler
}

// RawResponse is a scripted HTTP response for [Behavior.Raw]. Its zero
// value is an empty 200.
type RawResponse struct {
	// Status is the HTTP status; zero means 200.
	Status int
	// ContentType is sent as Content-Type; empty sends none.
	ContentType string
	// Body is the response body.
	Body []byte
	// Size, when larger than len(Body), makes the body that long by
	// repeating Body (which must then not be empty), without holding it
	// in memory.
	Size int64
	// Drip sends the body one byte at a time, waiting Drip before each,
	// after sending the header at once.
	Drip time.Duration
	// Hang sends nothing at all until the client gives up or the server
	// closes.
	Hang bool
}

// Behave replaces the server's current behavior with b from the next
// request on. Behave(Behavior{}) makes the server honest again.
func (s *Server) Behave(b Behavior) {
	b.Claims = maps.Clone(b.Claims)
	b.Discovery = maps.Clone(b.Discovery)
	b.TokenHeader = maps.Clone(b.TokenHeader)
	b.HMACKey = bytes.Clone(b.HMACKey)
	b.Raw = maps.Clone(b.Raw)
	for k, r := range b.Raw {
		r.Body = bytes.Clone(r.Body)
		b.Raw[k] = r
	}
	b.Intercept = maps.Clone(b.Intercept)
	if aud, ok := b.IDTokenAudience.([]string); ok {
		b.IDTokenAudience = slices.Clone(aud)
	}
	b.DevicePolls = slices.Clone(b.DevicePolls)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.behavior = b
	s.devicePolls = 0
}

// currentBehavior returns a copy of the behavior in force.
func (s *Server) currentBehavior() Behavior {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.behavior
}
