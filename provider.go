package oauthlogin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// Provider is an OAuth 2.0 or OpenID Connect identity provider. Package
// providers has ready ones; any type with these methods will do.
//
// Optional capabilities are separate interfaces checked with a type
// assertion: [OpenIDProvider], [ScopeAllower], [AuthParamser], [Revoker],
// [Exchanger], [CallbackIdentifier], [LogoutProvider], [ClientAsserter],
// [AuthorizationPusher], [DPoPProvider].
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

// OpenIDProvider is implemented by OpenID Connect providers (the
// providers package's OIDC constructor makes one). For them the Manager
// adds the openid scope and a nonce to authorization requests, checks the
// RFC 9207 iss authorization response parameter, and has the ID token of
// a refresh response checked.
type OpenIDProvider interface {
	Provider
	// Issuer is the provider's issuer identifier.
	Issuer() string
	// IssuerInResponse reports whether the provider always sends iss in
	// authorization responses (discovery's
	// authorization_response_iss_parameter_supported). The Manager then
	// refuses responses without it.
	IssuerInResponse() bool
	// MatchIssuer reports whether iss, sent in an authorization response
	// (RFC 9207), is one of the issuers the provider accepts: Issuer
	// itself, or for an Issuer that is a template standing for one issuer
	// per tenant (Microsoft's multi-tenant
	// https://login.microsoftonline.com/{tenantid}/v2.0), one it stands for.
	MatchIssuer(iss string) bool
	// VerifyRefreshIDToken checks an ID token that a refresh response
	// carries (OpenID Connect Core §12.2): valid for this client, from the
	// same issuer, for the same subject.
	VerifyRefreshIDToken(ctx context.Context, rawIDToken, subject string) error
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

// LogoutProvider is implemented by OpenID providers that take part in
// logout: OpenID Connect RP-Initiated Logout 1.0 (the Manager sends the
// browser to the provider's end_session_endpoint) and Back-Channel Logout
// 1.0 (the provider tells the Manager, server to server, that a session
// ended).
type LogoutProvider interface {
	// EndSessionEndpoint is the provider's end_session_endpoint, or ""
	// when it has none (then logout is local only).
	EndSessionEndpoint() string
	// VerifyLogoutToken verifies a back-channel logout token as
	// Back-Channel Logout 1.0 §2.6 asks (all but the jti's single use,
	// which the Manager checks across instances) and returns its claims.
	// Errors wrap ErrInvalidLogoutToken.
	VerifyLogoutToken(ctx context.Context, raw string) (*LogoutToken, error)
}

// LogoutToken is what a verified back-channel logout token says: which
// provider session (SID) or which account (Subject) ended. At least one
// of them is set.
type LogoutToken struct {
	// ID is the token's jti, which the Manager accepts once.
	ID string
	// Subject is the account's subject as the provider's identities hold
	// it (Profile.Subject), or "".
	Subject string
	// SID is the provider's session id (the sid claim), or "".
	SID      string
	IssuedAt time.Time
	Expires  time.Time
}

// ClientAsserter is implemented by providers whose client authenticates
// with a signed JWT (RFC 7523 §2.2; OpenID Connect Core §9
// private_key_jwt and client_secret_jwt) instead of sending a client
// secret. The Manager adds client_assertion_type and a fresh
// client_assertion to every form it posts to the provider that
// authenticates the client: code exchange, refresh, device authorization,
// client credentials and pushed authorization requests. Such a provider's
// OAuth2Config has an empty ClientSecret and AuthStyleInParams; a form
// that carries a client_secret or Basic credentials as well is refused,
// not sent. Revocation goes through the provider's own Revoker, which adds
// the assertion itself.
type ClientAsserter interface {
	// ClientAssertion returns a new assertion (fresh jti, short exp) for a
	// request to endpoint. A provider type that has the method but is not
	// set up for JWT client authentication returns an error wrapping
	// errors.ErrUnsupported: its requests are then sent as they are.
	ClientAssertion(ctx context.Context, endpoint string) (string, error)
}

// AuthorizationPusher is implemented by providers with a pushed
// authorization request endpoint (RFC 9126).
type AuthorizationPusher interface {
	// PushedAuthorization returns the endpoint, and whether a begin pushes
	// its authorization request there (the provider requires it, or the
	// host turned it on). "" means the provider has none.
	PushedAuthorization() (endpoint string, push bool)
}

// DPoPProvider is implemented by providers that can bind tokens to a key
// of the client (RFC 9449).
type DPoPProvider interface {
	// DPoP reports whether the host turned DPoP on for this provider:
	// then every token request and every resource request through
	// Manager.Client carries a DPoP proof (ES256, a key made at each login
	// and sealed with its tokens), and
	// only token_type DPoP is accepted.
	DPoP() bool
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

	// SID, AuthTime and ACR are facts of this login that an OpenID
	// provider's verified ID token states: the provider's session id (sid,
	// which back-channel logout names), when the user authenticated
	// (auth_time) and how (acr). They are empty when the token does not
	// say, and for plain OAuth 2.0 providers.
	SID      string
	AuthTime time.Time
	ACR      string
}

// registered is a provider with everything a login needs computed once.
type registered struct {
	name          string
	issuer        string // the identity key's issuer
	p             Provider
	oidc          OpenIDProvider // nil for plain OAuth 2.0 providers
	oauth         oauth2.Config
	defaultScopes []string
	defaultScope  string
	// stepUp is the max_age and acr_values among the provider's own
	// AuthParams, checked at every callback (setStepUp); nil for most.
	stepUp        *stepUp
	allowedScopes map[string]bool
	// authPrefix is the authorization URL with the parameters that never
	// change (client_id, redirect_uri, response_type, the provider's
	// own), built once: a begin appends scope, state, PKCE and nonce.
	authPrefix string
	// authFixed are the parameters of authPrefix, and authBase the
	// authorization URL followed by "?" or "&": a begin with per-login
	// parameters, or one that pushes its request, builds it from them.
	authFixed url.Values
	authBase  string
	// pushURL is the pushed authorization request endpoint (RFC 9126)
	// when begins push their requests there, else "".
	pushURL string
	// authEndpoints are the endpoints whose requests authenticate the
	// client (setAuthEndpoints).
	authEndpoints []authEndpoint
	// formPost: the provider answers with response_mode=form_post, a
	// cross-site POST that carries only SameSite=None cookies.
	formPost bool
	// client sends the provider's back-channel requests (providerClient).
	client *http.Client
	// dpop is the DPoP state of a provider with DPoP on (dpop.go), else nil.
	dpop *dpopState
}

// authURL is the authorization request of a flow: the fixed prefix, then
// the scope, the state, the S256 PKCE challenge (RFC 7636) and, for OpenID
// providers, the nonce. State, challenge and nonce are base64url: nothing
// to escape.
func (rp *registered) authURL(f *flow, scope string) string {
	var b strings.Builder
	b.Grow(len(rp.authPrefix) + len(scope) + 200)
	b.WriteString(rp.authPrefix)
	b.WriteString("&scope=")
	b.WriteString(url.QueryEscape(scope))
	b.WriteString("&state=")
	b.WriteString(f.State)
	b.WriteString("&code_challenge=")
	b.WriteString(oauth2.S256ChallengeFromVerifier(f.Verifier))
	b.WriteString("&code_challenge_method=S256")
	if f.Nonce != "" {
		b.WriteString("&nonce=")
		b.WriteString(f.Nonce)
	}
	return b.String()
}

// identify turns a token into a verified Profile with a subject, through
// the provider's CallbackIdentifier when there is an authorization
// response to read. Errors wrap ErrInvalidIDToken or ErrProfileUnavailable.
func (rp *registered) identify(ctx context.Context, tok *oauth2.Token, nonce string, response url.Values) (*Profile, error) {
	var profile *Profile
	var err error
	if ci, ok := rp.p.(CallbackIdentifier); ok && response != nil {
		profile, err = ci.IdentifyCallback(ctx, tok, nonce, response)
	} else {
		profile, err = rp.p.Identify(ctx, tok, nonce)
	}
	switch {
	case errors.Is(err, ErrInvalidIDToken), errors.Is(err, ErrProfileUnavailable):
		return nil, err
	case err != nil:
		return nil, wrap(ErrProfileUnavailable, err)
	case profile == nil || profile.Subject == "":
		return nil, fmt.Errorf("%w: provider %s returned no subject", ErrProfileUnavailable, rp.name)
	}
	return profile, nil
}

// exchange redeems an authorization code, through the provider's
// Exchanger when it has one.
// The token_type must be Bearer (checkTokenType), or DPoP when ctx
// carries a DPoP key (rp.dpopContext).
func (rp *registered) exchange(ctx context.Context, code string, opts ...oauth2.AuthCodeOption) (*oauth2.Token, error) {
	var (
		tok *oauth2.Token
		err error
	)
	if ex, ok := rp.p.(Exchanger); ok {
		cfg := rp.oauth
		tok, err = ex.Exchange(ctx, &cfg, code, opts...)
	} else {
		tok, err = rp.oauth.Exchange(ctx, code, opts...)
	}
	if err != nil {
		return nil, err
	}
	// A DPoP token is bound to its key after identify (finish), which
	// reads the response's extras.
	if err := checkBoundTokenType(tok, ctxDPoPKey(ctx)); err != nil {
		return nil, err
	}
	return tok, nil
}

// refresh redeems a refresh token, through the provider's Exchanger when it
// has one. An empty access token makes x/oauth2 refresh at once.
// A token_type other than Bearer is ErrRefreshFailed (checkTokenType);
// with a DPoP key in ctx, one other than DPoP is dpop_failed and
// ErrRefreshFailed, and the tokens returned carry the key.
func (rp *registered) refresh(ctx context.Context, refreshToken string) (*oauth2.Token, error) {
	var (
		tok *oauth2.Token
		err error
	)
	if ex, ok := rp.p.(Exchanger); ok {
		cfg := rp.oauth
		tok, err = ex.Refresh(ctx, &cfg, refreshToken)
	} else {
		tok, err = rp.oauth.TokenSource(ctx, &oauth2.Token{RefreshToken: refreshToken}).Token()
	}
	if err != nil {
		return nil, err
	}
	if rp.dpop != nil {
		key := ctxDPoPKey(ctx)
		if err := checkBoundTokenType(tok, key); err != nil {
			return nil, fmt.Errorf("%w: %w", err, ErrRefreshFailed)
		}
		if key != nil {
			tok = withTokenDPoPKey(tok, key)
		}
		return tok, nil
	}
	if err := checkTokenType(tok); err != nil {
		return nil, wrap(ErrRefreshFailed, err)
	}
	return tok, nil
}

// matchIssuer reports whether an authorization response's iss names p: its
// Issuer exactly, or one its MatchIssuer accepts.
func matchIssuer(p OpenIDProvider, iss string) bool {
	return iss == p.Issuer() || p.MatchIssuer(iss)
}

func (m *Manager) lookup(name string) (*registered, bool) {
	m.mu.RLock()
	rp, ok := m.providers[name]
	m.mu.RUnlock()
	return rp, ok
}
