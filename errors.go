package oauthlogin

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error the Manager reports wraps one of these, so
// callers can test them with errors.Is; the failure redirect carries only the
// matching [Code], never the error text.
var (
	// ErrNotFound is returned by stores for a record that does not exist or
	// has expired.
	ErrNotFound = errors.New("oauthlogin: not found")
	// ErrAlreadyUsed is returned by a OneTimeStore for a key consumed before.
	ErrAlreadyUsed = errors.New("oauthlogin: already used")
	// ErrIdentityExists is returned by IdentityStore.CreateIdentity when an
	// identity with the same provider and subject is already stored.
	ErrIdentityExists = errors.New("oauthlogin: identity exists")

	// ErrStoreUnavailable is wrapped by stores around a failure to reach
	// their server; the Manager answers it with 503 and Retry-After.
	ErrStoreUnavailable = errors.New("oauthlogin: store unavailable")

	// ErrConfig reports an invalid Config or provider configuration.
	ErrConfig = errors.New("oauthlogin: invalid configuration")
	// ErrUnknownProvider is returned for a provider name that is not registered.
	ErrUnknownProvider = errors.New("oauthlogin: unknown provider")
	// ErrRedirectNotAllowed rejects a success or failure URL outside the allowlist.
	ErrRedirectNotAllowed = errors.New("oauthlogin: redirect URL not allowed")
	// ErrScopeNotAllowed rejects a requested scope the host did not allow.
	ErrScopeNotAllowed = errors.New("oauthlogin: scope not allowed")

	// ErrStateMissing: the callback carried no state parameter.
	ErrStateMissing = errors.New("oauthlogin: state missing")
	// ErrStateMismatch: the callback's state matches no login flow of this browser.
	ErrStateMismatch = errors.New("oauthlogin: state mismatch")
	// ErrStateReplayed: the callback's state was used before.
	ErrStateReplayed = errors.New("oauthlogin: state replayed")
	// ErrFlowExpired: the login took longer than Config.FlowLifetime.
	ErrFlowExpired = errors.New("oauthlogin: login flow expired")
	// ErrProviderMismatch: the flow was started for another provider.
	ErrProviderMismatch = errors.New("oauthlogin: provider mismatch")
	// ErrIssuerMismatch: the RFC 9207 iss parameter is wrong or missing.
	ErrIssuerMismatch = errors.New("oauthlogin: issuer mismatch")
	// ErrInvalidResponse: the authorization response is malformed (a
	// parameter sent twice, say).
	ErrInvalidResponse = errors.New("oauthlogin: malformed authorization response")
	// ErrProviderDenied: the user or provider refused the authorization (access_denied).
	ErrProviderDenied = errors.New("oauthlogin: provider denied access")
	// ErrProviderError: the provider answered the authorization request with another error.
	ErrProviderError = errors.New("oauthlogin: provider error")
	// ErrCodeMissing: the callback carried neither a code nor an error.
	ErrCodeMissing = errors.New("oauthlogin: authorization code missing")
	// ErrTokenExchange: the token endpoint failed or refused the code.
	ErrTokenExchange = errors.New("oauthlogin: token exchange failed")
	// ErrIDToken: the ID token is missing or failed validation.
	ErrIDToken = errors.New("oauthlogin: invalid ID token")
	// ErrProfile: the provider's user info could not be fetched or is unusable.
	ErrProfile = errors.New("oauthlogin: profile unavailable")
	// ErrIdentityConflict: the provider account is linked to another user.
	// It is never moved or merged.
	ErrIdentityConflict = errors.New("oauthlogin: identity already linked to another user")
	// ErrLoginDenied: the host's Config.AllowLogin refused the login.
	ErrLoginDenied = errors.New("oauthlogin: login denied")
	// ErrLinkSession: a link finished without the session that started it.
	ErrLinkSession = errors.New("oauthlogin: link must finish in the session that started it")
	// ErrLinkRequiresPost: link intent was asked for with GET.
	ErrLinkRequiresPost = errors.New("oauthlogin: linking an identity needs a same-origin POST")
	// ErrLastIdentity: unlinking would leave the user no way to sign in.
	ErrLastIdentity = errors.New("oauthlogin: cannot unlink the last identity")

	// ErrUnsupportedMode: begin's mode is neither session nor token.
	ErrUnsupportedMode = errors.New("oauthlogin: unsupported mode")
	// ErrInvalidChallenge: a token-mode begin's code_challenge is missing
	// where Config.RequireAppChallenge needs it, malformed, or not S256.
	ErrInvalidChallenge = errors.New("oauthlogin: invalid or missing code_challenge")
	// ErrInvalidSecret: a token-mode secret is wrong, used or expired.
	ErrInvalidSecret = errors.New("oauthlogin: invalid or expired secret")
	// ErrDeviceUnsupported: the provider has no device authorization endpoint.
	ErrDeviceUnsupported = errors.New("oauthlogin: device authorization not supported by this provider")
	// ErrInvalidHandle: a device poll's handle is not one this app issued.
	ErrInvalidHandle = errors.New("oauthlogin: invalid device handle")
	// ErrAuthorizationPending: the user has not yet approved the device.
	ErrAuthorizationPending = errors.New("oauthlogin: authorization pending")
	// ErrSlowDown: the device polled too often; wait 5 s more from now on.
	ErrSlowDown = errors.New("oauthlogin: slow down")
	// ErrExpiredToken: the device code expired before the user approved it.
	ErrExpiredToken = errors.New("oauthlogin: device code expired")
	// ErrNoSession: the request carries no valid session.
	ErrNoSession = errors.New("oauthlogin: no session")
	// ErrNoRefreshToken: the session has no provider refresh token.
	ErrNoRefreshToken = errors.New("oauthlogin: no refresh token")
	// ErrRefresh: the provider refused to refresh the token, or its answer
	// failed validation.
	ErrRefresh = errors.New("oauthlogin: token refresh failed")
	// ErrRefreshUnavailable: the provider failed or timed out; the tokens
	// are kept and the refresh may be retried (after Retry-After).
	ErrRefreshUnavailable = errors.New("oauthlogin: token refresh unavailable, retry later")
	// ErrProviderTokenRevoked: the provider no longer honours the refresh
	// token (invalid_grant); the provider tokens are gone, the app session
	// stays. Signing in with the provider again gets new ones.
	ErrProviderTokenRevoked = errors.New("oauthlogin: provider token revoked")
	// ErrImplicitFlow: the implicit grant is refused (RFC 9700 §2.1.2).
	ErrImplicitFlow = errors.New("oauthlogin: implicit flow refused: deprecated by RFC 9700 §2.1.2, use the authorization code flow with PKCE")
	// ErrCrossOrigin: a cookie-authenticated request that changes state came
	// from another origin (http.CrossOriginProtection).
	ErrCrossOrigin = errors.New("oauthlogin: cross-origin request refused")
)

// Error codes: the short, stable, machine-readable values of the error query
// parameter on the failure redirect and of "error" in JSON error bodies.
const (
	CodeUnknownProvider    = "unknown_provider"
	CodeRedirectNotAllowed = "redirect_not_allowed"
	CodeScopeNotAllowed    = "scope_not_allowed"
	CodeStateMissing       = "state_missing"
	CodeStateMismatch      = "state_mismatch"
	CodeStateReplayed      = "state_replayed"
	CodeFlowExpired        = "flow_expired"
	CodeProviderMismatch   = "provider_mismatch"
	CodeIssuerMismatch     = "issuer_mismatch"
	CodeInvalidResponse    = "invalid_response"
	CodeAccessDenied       = "access_denied"
	CodeProviderError      = "provider_error"
	CodeCodeMissing        = "code_missing"
	CodeTokenExchange      = "token_exchange_failed"
	CodeIDToken            = "id_token_invalid"
	CodeProfile            = "profile_unavailable"
	CodeIdentityConflict   = "identity_already_linked"
	CodeLoginDenied        = "login_denied"
	CodeLinkSession        = "link_session_mismatch"
	CodeLinkRequiresPost   = "link_requires_post"
	CodeLastIdentity       = "last_identity"
	CodeNotFound           = "not_found"
	CodeUnsupportedMode    = "unsupported_mode"
	CodeInvalidSecret      = "invalid_secret"
	CodeInvalidChallenge   = "invalid_challenge"
	CodeDeviceUnsupported  = "device_unsupported"
	CodeInvalidHandle      = "invalid_handle"
	CodePending            = "authorization_pending"
	CodeSlowDown           = "slow_down"
	CodeExpiredToken       = "expired_token"
	CodeNoSession          = "no_session"
	CodeNoRefreshToken     = "no_refresh_token"
	CodeRefresh            = "refresh_failed"
	CodeRefreshUnavailable = "refresh_unavailable"
	CodeProviderRevoked    = "provider_token_revoked"
	CodeImplicitFlow       = "unsupported_response_type"
	CodeCrossOrigin        = "cross_origin"
	CodeStoreUnavailable   = "store_unavailable"
	CodeUnsupported        = "unsupported"
	CodeServerError        = "server_error"
)

var errorCodes = []struct {
	err  error
	code string
}{
	{ErrUnknownProvider, CodeUnknownProvider},
	{ErrRedirectNotAllowed, CodeRedirectNotAllowed},
	{ErrScopeNotAllowed, CodeScopeNotAllowed},
	{ErrStateMissing, CodeStateMissing},
	{ErrStateMismatch, CodeStateMismatch},
	{ErrStateReplayed, CodeStateReplayed},
	{ErrFlowExpired, CodeFlowExpired},
	{ErrProviderMismatch, CodeProviderMismatch},
	{ErrIssuerMismatch, CodeIssuerMismatch},
	{ErrInvalidResponse, CodeInvalidResponse},
	{ErrProviderDenied, CodeAccessDenied},
	{ErrProviderError, CodeProviderError},
	{ErrCodeMissing, CodeCodeMissing},
	{ErrTokenExchange, CodeTokenExchange},
	{ErrIDToken, CodeIDToken},
	{ErrProfile, CodeProfile},
	{ErrIdentityConflict, CodeIdentityConflict},
	{ErrLoginDenied, CodeLoginDenied},
	{ErrLinkSession, CodeLinkSession},
	{ErrLinkRequiresPost, CodeLinkRequiresPost},
	{ErrLastIdentity, CodeLastIdentity},
	{ErrNotFound, CodeNotFound},
	{ErrUnsupportedMode, CodeUnsupportedMode},
	{ErrInvalidSecret, CodeInvalidSecret},
	{ErrInvalidChallenge, CodeInvalidChallenge},
	{ErrDeviceUnsupported, CodeDeviceUnsupported},
	{ErrInvalidHandle, CodeInvalidHandle},
	{ErrAuthorizationPending, CodePending},
	{ErrSlowDown, CodeSlowDown},
	{ErrExpiredToken, CodeExpiredToken},
	{ErrNoSession, CodeNoSession},
	{ErrNoRefreshToken, CodeNoRefreshToken},
	{ErrRefresh, CodeRefresh},
	{ErrRefreshUnavailable, CodeRefreshUnavailable},
	{ErrProviderTokenRevoked, CodeProviderRevoked},
	{ErrImplicitFlow, CodeImplicitFlow},
	{ErrCrossOrigin, CodeCrossOrigin},
	{ErrStoreUnavailable, CodeStoreUnavailable},
	{errors.ErrUnsupported, CodeUnsupported},
}

// Code returns the machine-readable code for err: one of the Code constants,
// CodeServerError for anything unexpected (a store failure, say).
func Code(err error) string {
	for _, e := range errorCodes {
		if errors.Is(err, e.err) {
			return e.code
		}
	}
	return CodeServerError
}

// wrap joins a sentinel with the error that caused it, so that both
// errors.Is(err, sentinel) and errors.Is(err, cause) hold.
func wrap(sentinel, cause error) error {
	if cause == nil {
		return sentinel
	}
	return fmt.Errorf("%w: %w", sentinel, cause)
}
