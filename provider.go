package oauthlogin

import (
	"context"
	"encoding/json"
	"net/url"

	"golang.org/x/oauth2"
)

// Provider is an OAuth 2.0 or OpenID Connect identity provider. Package
// providers has ready ones; any type with these methods will do.
//
// Optional capabilities are separate interfaces checked with a type
// assertion: [OpenIDProvider], [ScopeAllower], [AuthParamser], [Revoker],
// [Exchanger], [CallbackIdentifier].
type Provider interface {
	// Name is the provider's URL segment and the Provider field of sessions
	// and identities: short, lower-case, stable ("github", "google").
	Name() string
	// OAuth2Config returns the client's endpoints, credentials, default
	// scopes and auth style. The Manager fills in RedirectURL on its copy.
	// It is called once, at registration.
	OAuth2Config() oauth2.Config
	// Identify turns a fresh token response into a verified Profile. nonce is
	// the value the Manager sent in the authorization request ("" when none
	// was sent); an OpenID provider must verify the ID token against it
	// before trusting any claim.
	Identify(ctx context.Context, token *oauth2.Token, nonce string) (*Profile, error)
}

// OpenIDProvider is implemented by OpenID Connect providers. For them the
// Manager adds the openid scope and a nonce to authorization requests, and
// checks the RFC 9207 iss authorization response parameter.
type OpenIDProvider interface {
	Provider
	// Issuer is the provider's issuer identifier.
	Issuer() string
	// IssuerInResponse reports whether the provider always sends iss in
	// authorization responses (discovery's
	// authorization_response_iss_parameter_supported). The Manager then
	// refuses responses without it.
	IssuerInResponse() bool
}

// IssuerMatcher is implemented by OpenID providers whose Issuer is a
// template standing for many issuers, one per tenant (Microsoft's
// multi-tenant endpoints: https://login.microsoftonline.com/{tenantid}/v2.0).
// MatchIssuer reports whether iss, sent in an authorization response (RFC
// 9207), is one of the issuers the provider accepts. Without it the
// Manager requires iss to equal Issuer exactly.
type IssuerMatcher interface {
	MatchIssuer(iss string) bool
}

// ScopeAllower is implemented by providers that let the begin request ask
// for scopes beyond the defaults, through its scopes parameter.
type ScopeAllower interface {
	// AllowedScopes lists the extra scopes a begin request may ask for.
	AllowedScopes() []string
}

// AuthParamser is implemented by providers that need extra authorization
// request parameters (Google's access_type=offline, say).
type AuthParamser interface {
	// AuthParams returns the extra parameters. They cannot override the
	// parameters the Manager sets for security (state, PKCE, nonce).
	AuthParams() url.Values
}

// Revoker is implemented by providers with an RFC 7009 revocation endpoint.
type Revoker interface {
	// Revoke revokes token; hint is "access_token" or "refresh_token".
	Revoke(ctx context.Context, token, hint string) error
}

// Exchanger is implemented by providers whose token endpoint needs more
// than x/oauth2's standard requests: a client secret that changes over time
// (Apple's is a signed JWT), or tokens in an odd shape. The Manager calls it
// instead of the standard code exchange and refresh; cfg is a copy the
// provider may change, with RedirectURL filled in.
type Exchanger interface {
	Exchange(ctx context.Context, cfg *oauth2.Config, code string, opts ...oauth2.AuthCodeOption) (*oauth2.Token, error)
	Refresh(ctx context.Context, cfg *oauth2.Config, refreshToken string) (*oauth2.Token, error)
}

// CallbackIdentifier is implemented by providers that read the
// authorization response itself, not only the token (Apple sends the user's
// name once, in a user form field of the first callback). The Manager calls
// IdentifyCallback instead of Identify, with the response's parameters.
type CallbackIdentifier interface {
	IdentifyCallback(ctx context.Context, token *oauth2.Token, nonce string, response url.Values) (*Profile, error)
}

// Profile is a provider's user, normalized.
type Profile struct {
	// Subject is the provider's stable user id (providerUid). Never empty.
	Subject string
	// Email as the provider reports it; check EmailVerified before trusting it.
	Email string
	// EmailVerified is true only when the provider asserts it.
	EmailVerified bool
	Name          string
	Username      string
	AvatarURL     string
	// Raw is the provider's user document (userinfo or ID token claims) as
	// received, for the host app to read what the fields above leave out.
	Raw json.RawMessage
}
