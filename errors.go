package oauthlogin

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Sentinel errors. Every error the Manager reports wraps one of these, so
// callers can test them with errors.Is; the failure redirect carries only the
// matching [Code], never the error text.
var (
	// ErrNotFound is returned by stores for a record that does not exist or
	// has expired.
	ErrNotFound = errors.New("oauthlogin: not found")
	// ErrAlreadyUsed is returned by Store.Consume for a key consumed before.
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
	// ErrFlowExpired: the login took longer than Config.Sessions.FlowLifetime.
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
	// ErrLoginDenied: the host's Config.Hooks.AllowLogin refused the login.
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
	// where Config.NativeApps.RequireChallenge needs it, malformed, or not S256.
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

// errorCodes maps each sentinel to its code and to the one fixed message
// that JSON error answers carry with it. A message never holds the error's
// own text: that may quote what a provider sent (an error_description, a
// claim), which can echo the client secret, a refresh token or a code.
var errorCodes = []struct {
	err  error
	code string
	msg  string
}{
	{ErrUnknownProvider, CodeUnknownProvider, "no provider by that name is registered"},
	{ErrRedirectNotAllowed, CodeRedirectNotAllowed, "the success or failure URL is not allowed"},
	{ErrScopeNotAllowed, CodeScopeNotAllowed, "a requested scope is not allowed"},
	{ErrStateMissing, CodeStateMissing, "the callback carried no state"},
	{ErrStateMismatch, CodeStateMismatch, "the callback matches no sign-in started in this browser"},
	{ErrStateReplayed, CodeStateReplayed, "the callback was used before"},
	{ErrFlowExpired, CodeFlowExpired, "the sign-in took too long and expired"},
	{ErrProviderMismatch, CodeProviderMismatch, "the callback is for another provider than the sign-in"},
	{ErrIssuerMismatch, CodeIssuerMismatch, "the authorization response names another issuer"},
	{ErrInvalidResponse, CodeInvalidResponse, "the authorization response is malformed"},
	{ErrProviderDenied, CodeAccessDenied, "the user or the provider denied access"},
	{ErrProviderError, CodeProviderError, "the provider answered with an error"},
	{ErrCodeMissing, CodeCodeMissing, "the callback carried no authorization code"},
	{ErrTokenExchange, CodeTokenExchange, "the provider did not redeem the authorization code"},
	{ErrIDToken, CodeIDToken, "the provider's ID token is missing or invalid"},
	{ErrProfile, CodeProfile, "the provider's user profile could not be read"},
	{ErrIdentityConflict, CodeIdentityConflict, "the provider account is linked to another user"},
	{ErrLoginDenied, CodeLoginDenied, "the app does not allow this account to sign in"},
	{ErrLinkSession, CodeLinkSession, "a link must finish in the session that started it"},
	{ErrLinkRequiresPost, CodeLinkRequiresPost, "linking an identity needs a same-origin POST"},
	{ErrLastIdentity, CodeLastIdentity, "the last identity cannot be unlinked"},
	{ErrNotFound, CodeNotFound, "not found"},
	{ErrUnsupportedMode, CodeUnsupportedMode, "the mode must be session or token"},
	{ErrInvalidSecret, CodeInvalidSecret, "the secret is wrong, used or expired"},
	{ErrInvalidChallenge, CodeInvalidChallenge, "the code challenge is missing or not a well-formed S256 challenge"},
	{ErrDeviceUnsupported, CodeDeviceUnsupported, "the provider does not support device authorization"},
	{ErrInvalidHandle, CodeInvalidHandle, "the device handle is not valid"},
	{ErrAuthorizationPending, CodePending, "the user has not approved the device yet"},
	{ErrSlowDown, CodeSlowDown, "polling too often: wait longer between polls"},
	{ErrExpiredToken, CodeExpiredToken, "the device code expired"},
	{ErrNoSession, CodeNoSession, "no session"},
	{ErrNoRefreshToken, CodeNoRefreshToken, "the session has no provider refresh token"},
	{ErrRefresh, CodeRefresh, "the provider refused to refresh the token"},
	{ErrRefreshUnavailable, CodeRefreshUnavailable, "the provider could not refresh the token now: retry later"},
	{ErrProviderTokenRevoked, CodeProviderRevoked, "the provider revoked the token: sign in again to get a new one"},
	{ErrImplicitFlow, CodeImplicitFlow, "the implicit flow is refused: use the authorization code flow with PKCE"},
	{ErrCrossOrigin, CodeCrossOrigin, "cross-origin request refused"},
	{ErrStoreUnavailable, CodeStoreUnavailable, "the store is unavailable: retry later"},
	{errors.ErrUnsupported, CodeUnsupported, "not supported by this store"},
}

// Codes of JSON error answers without a sentinel: bad_request for any
// other refused request, server_error for anything unexpected.
const (
	codeBadRequest = "bad_request"
	msgBadRequest  = "bad request"
	msgServerError = "internal error"
)

// Code returns the machine-readable code for err: one of the Code constants,
// CodeServerError for anything unexpected (a store failure, say).
func Code(err error) string {
	code, _ := codeMessage(err)
	return code
}

// codeMessage returns err's code and its fixed message.
func codeMessage(err error) (code, msg string) {
	for _, e := range errorCodes {
		if errors.Is(err, e.err) {
			return e.code, e.msg
		}
	}
	return CodeServerError, msgServerError
}

// wrap joins a sentinel with the error that caused it, so that both
// errors.Is(err, sentinel) and errors.Is(err, cause) hold.
func wrap(sentinel, cause error) error {
	if cause == nil {
		return sentinel
	}
	return fmt.Errorf("%w: %w", sentinel, cause)
}

// logDetail is err as a log record may hold it: logSafe's form (no token
// endpoint body), with each of secrets and every credential-shaped word
// replaced. A provider's text can reach an error in many ways besides a
// token endpoint's body (a claim quoted by ID token validation, a redirect
// URL, a device response field), and it may echo what it was sent: the
// client secret, a refresh token, a code, a device code. The secrets known
// at the point of logging are replaced by value; the others by shape.
func logDetail(err error, secrets ...string) string {
	return scrubCredentials(redact(logSafe(err), secrets...))
}

// minCredential is the length from which a word that looks random is
// taken for a credential: RFC 6749 §10.10 asks for at most a 2^-128 chance
// of guessing a token or code, which takes 22 base64url characters.
const minCredential = 22

// scrubCredentials replaces in msg each word that looks like a
// credential: a run of at least minCredential characters of the base64,
// base64url and hex alphabets (without "=", which pads only, and would
// join a query parameter's name to its value) holding a digit or an
// upper-case letter (the codes and words of error texts are lower-case
// letters and underscores).
func scrubCredentials(msg string) string {
	var b strings.Builder
	start, random := -1, false
	flush := func(end int) {
		if start < 0 {
			return
		}
		if end-start >= minCredential && random {
			b.WriteString("[redacted]")
		} else {
			b.WriteString(msg[start:end])
		}
		start, random = -1, false
	}
	for i := 0; i < len(msg); i++ {
		c := msg[i]
		switch {
		case c >= '0' && c <= '9', c >= 'A' && c <= 'Z':
			random = true
			fallthrough
		case c >= 'a' && c <= 'z', c == '-', c == '_', c == '+', c == '/', c == '~':
			if start < 0 {
				start = i
			}
		default:
			flush(i)
			b.WriteByte(c)
		}
	}
	flush(len(msg))
	return b.String()
}

// providerFailure reports the codes of a provider's failure or refusal,
// which an operator may want to see without debug logging.
func providerFailure(code string) bool {
	switch code {
	case CodeProviderError, CodeTokenExchange, CodeIDToken, CodeProfile,
		CodeRefresh, CodeRefreshUnavailable, CodeProviderRevoked:
		return true
	}
	return false
}

// clientSecret is the client secret of a registered provider, for
// redaction; "" for an unknown one.
func (m *Manager) clientSecret(provider string) string {
	if rp, ok := m.lookup(provider); ok {
		return rp.oauth.ClientSecret
	}
	return ""
}

// requestSecrets are the values a log record about r must not hold: every
// registered client secret, and the credentials r carries (cookies, the
// Authorization header).
func (m *Manager) requestSecrets(r *http.Request) []string {
	var secrets []string
	m.mu.RLock()
	for _, rp := range m.providers {
		secrets = append(secrets, rp.oauth.ClientSecret)
	}
	m.mu.RUnlock()
	for _, c := range r.Cookies() {
		if len(c.Value) >= 8 { // shorter values are no secret, and would match by chance
			secrets = append(secrets, c.Value)
		}
	}
	if a := r.Header.Get("Authorization"); a != "" {
		_, cred, _ := strings.Cut(a, " ")
		secrets = append(secrets, a, cred)
	}
	return secrets
}
