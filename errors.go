package oauthlogin

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"golang.org/x/oauth2"
)

// Error is an error the Manager reports: a sentinel with a short, stable,
// machine-readable code (the error query parameter of the failure
// redirect, and "error" in JSON error bodies), the HTTP status a JSON
// answer carries, and one fixed message for people that never holds what
// a provider sent. Every error the Manager reports wraps one of the
// sentinels below, so callers test them with errors.Is, or get the code
// and status with errors.As:
//
//	var e *oauthlogin.Error
//	if errors.As(err, &e) {
//		log.Print(e.Code(), e.HTTPStatus())
//	}
//
// The failure redirect carries only the code, never the error's text.
type Error struct {
	code   string
	status int
	text   string
	public string
}

// Code returns the error's machine-readable code, such as "state_mismatch".
func (e *Error) Code() string { return e.code }

// HTTPStatus returns the HTTP status of a JSON answer with this error.
func (e *Error) HTTPStatus() int { return e.status }

// Error returns the error's text, "oauthlogin: " and what went wrong.
func (e *Error) Error() string { return "oauthlogin: " + e.text }

// The errors a Go caller can receive: from New and Register, the
// Manager's methods (Refresh, ProviderToken, TokenSource, DeviceLogin,
// ServiceClient...), and the store contracts. Each message (the last
// field) is the one fixed text that JSON error answers carry with its
// code. It never holds an error's own text: that may quote what a
// provider sent (an error_description, a claim), which can echo the client
// secret, a refresh token or a code.
var (
	// ErrNotFound is returned by stores for a record that does not exist or
	// has expired.
	ErrNotFound *Error = &Error{"not_found", http.StatusNotFound, "not found", "not found"}
	// ErrAlreadyUsed is returned by Store.Consume for a key consumed before.
	ErrAlreadyUsed *Error = &Error{"already_used", http.StatusConflict, "already used", "the single-use value was used before"}
	// ErrIdentityExists is returned by IdentityStore.CreateIdentity when an
	// identity with the same provider and subject is already stored.
	ErrIdentityExists *Error = &Error{"identity_exists", http.StatusConflict, "identity exists", "the identity exists already"}
	// ErrStoreUnavailable is wrapped by stores around a failure to reach
	// their server; the Manager answers it with 503 and Retry-After.
	ErrStoreUnavailable *Error = &Error{"store_unavailable", http.StatusServiceUnavailable, "store unavailable", "the store is unavailable: retry later"}
	// ErrConfig reports an invalid Config or provider configuration.
	ErrConfig *Error = &Error{"invalid_config", http.StatusInternalServerError, "invalid configuration", "the server's configuration is invalid"}
	// ErrUnknownProvider is returned for a provider name that is not registered.
	ErrUnknownProvider *Error = &Error{"unknown_provider", http.StatusNotFound, "unknown provider", "no provider by that name is registered"}
	// ErrProviderDenied: the user or provider refused the authorization (access_denied).
	ErrProviderDenied *Error = &Error{"access_denied", http.StatusBadRequest, "provider denied access", "the user or the provider denied access"}
	// ErrTokenExchange: the token endpoint failed or refused the code.
	ErrTokenExchange *Error = &Error{"token_exchange_failed", http.StatusBadGateway, "token exchange failed", "the provider did not redeem the authorization code"}
	// ErrInvalidIDToken: the ID token is missing or failed validation.
	ErrInvalidIDToken *Error = &Error{"id_token_invalid", http.StatusBadGateway, "invalid ID token", "the provider's ID token is missing or invalid"}
	// ErrProfileUnavailable: the provider's user info could not be fetched or is unusable.
	ErrProfileUnavailable *Error = &Error{"profile_unavailable", http.StatusBadGateway, "profile unavailable", "the provider's user profile could not be read"}
	// ErrIdentityConflict: the provider account is linked to another user.
	// It is never moved or merged.
	ErrIdentityConflict *Error = &Error{"identity_already_linked", http.StatusConflict, "identity already linked to another user", "the provider account is linked to another user"}
	// ErrLoginDenied: the host's Config.Hooks.AllowLogin refused the login.
	ErrLoginDenied *Error = &Error{"login_denied", http.StatusForbidden, "login denied", "the app does not allow this account to sign in"}
	// ErrLastIdentity: unlinking would leave the user no way to sign in.
	ErrLastIdentity *Error = &Error{"last_identity", http.StatusConflict, "cannot unlink the last identity", "the last identity cannot be unlinked"}
	// ErrDeviceUnsupported: the provider has no device authorization endpoint.
	ErrDeviceUnsupported *Error = &Error{"device_unsupported", http.StatusBadRequest, "device authorization not supported by this provider", "the provider does not support device authorization"}
	// ErrDeviceCodeExpired: the device code expired before the user
	// approved it. Its code is RFC 8628's "expired_token".
	ErrDeviceCodeExpired *Error = &Error{"expired_token", http.StatusBadRequest, "device code expired", "the device code expired"}
	// ErrNoSession: the request carries no valid session.
	ErrNoSession *Error = &Error{"no_session", http.StatusUnauthorized, "no session", "no session"}
	// ErrNoRefreshToken: the session has no provider refresh token.
	ErrNoRefreshToken *Error = &Error{"no_refresh_token", http.StatusBadRequest, "no refresh token", "the session has no provider refresh token"}
	// ErrRefreshFailed: the provider refused to refresh the token, or its answer
	// failed validation.
	ErrRefreshFailed *Error = &Error{"refresh_failed", http.StatusBadGateway, "token refresh failed", "the provider refused to refresh the token"}
	// ErrProviderUnavailable: the provider failed or timed out at a token
	// refresh or a device poll; the tokens are kept, and the refresh or
	// poll may be retried (after Retry-After).
	ErrProviderUnavailable *Error = &Error{"provider_unavailable", http.StatusServiceUnavailable, "provider unavailable, retry later", "the provider did not answer now: retry later"}
	// ErrProviderTokenRevoked: the provider no longer honours the refresh
	// token (invalid_grant); the provider tokens are gone, the app session
	// stays. Signing in with the provider again gets new ones.
	ErrProviderTokenRevoked *Error = &Error{"provider_token_revoked", http.StatusConflict, "provider token revoked", "the provider revoked the token: sign in again to get a new one"}
	// ErrInvalidLogoutToken: a back-channel logout token failed
	// validation (LogoutProvider.VerifyLogoutToken), or its jti was used
	// before.
	ErrInvalidLogoutToken *Error = &Error{"invalid_logout_token", http.StatusBadRequest, "invalid logout token", "the logout token is invalid"}
)

// The errors only HTTP clients see: the failure redirect's error
// parameter and JSON error bodies carry their codes (listed in the
// README's route table), and no Go API returns them.
var (
	// errRedirectNotAllowed rejects a success or failure URL outside the allowlist.
	errRedirectNotAllowed = &Error{"redirect_not_allowed", http.StatusBadRequest, "redirect URL not allowed", "the success or failure URL is not allowed"}
	// errScopeNotAllowed rejects a requested scope the host did not allow.
	errScopeNotAllowed = &Error{"scope_not_allowed", http.StatusBadRequest, "scope not allowed", "a requested scope is not allowed"}
	// errStateMissing: the callback carried no state parameter.
	errStateMissing = &Error{"state_missing", http.StatusBadRequest, "state missing", "the callback carried no state"}
	// errStateMismatch: the callback's state matches no login flow of this browser.
	errStateMismatch = &Error{"state_mismatch", http.StatusBadRequest, "state mismatch", "the callback matches no sign-in started in this browser"}
	// errStateReplayed: the callback's state was used before.
	errStateReplayed = &Error{"state_replayed", http.StatusBadRequest, "state replayed", "the callback was used before"}
	// errFlowExpired: the login took longer than Config.Sessions.FlowLifetime.
	errFlowExpired = &Error{"flow_expired", http.StatusBadRequest, "login flow expired", "the sign-in took too long and expired"}
	// errProviderMismatch: the flow was started for another provider.
	errProviderMismatch = &Error{"provider_mismatch", http.StatusBadRequest, "provider mismatch", "the callback is for another provider than the sign-in"}
	// errIssuerMismatch: the RFC 9207 iss parameter is wrong or missing.
	errIssuerMismatch = &Error{"issuer_mismatch", http.StatusBadRequest, "issuer mismatch", "the authorization response names another issuer"}
	// errInvalidResponse: the authorization response is malformed (a
	// parameter sent twice, say).
	errInvalidResponse = &Error{"invalid_response", http.StatusBadRequest, "malformed authorization response", "the authorization response is malformed"}
	// errProviderError: the provider answered the authorization request with another error.
	errProviderError = &Error{"provider_error", http.StatusBadGateway, "provider error", "the provider answered with an error"}
	// errCodeMissing: the callback carried neither a code nor an error.
	errCodeMissing = &Error{"code_missing", http.StatusBadRequest, "authorization code missing", "the callback carried no authorization code"}
	// errLinkSessionMismatch: a link finished without the session that started it.
	errLinkSessionMismatch = &Error{"link_session_mismatch", http.StatusForbidden, "link must finish in the session that started it", "a link must finish in the session that started it"}
	// errLinkRequiresPost: link intent was asked for with GET.
	errLinkRequiresPost = &Error{"link_requires_post", http.StatusBadRequest, "linking an identity needs a same-origin POST", "linking an identity needs a same-origin POST"}
	// errUnsupportedMode: begin's mode is neither session nor token.
	errUnsupportedMode = &Error{"unsupported_mode", http.StatusBadRequest, "unsupported mode", "the mode must be session or token"}
	// errInvalidChallenge: a token-mode begin's code_challenge is missing
	// where Config.NativeApps.RequireChallenge needs it, malformed, or not S256.
	errInvalidChallenge = &Error{"invalid_challenge", http.StatusBadRequest, "invalid or missing code_challenge", "the code challenge is missing or not a well-formed S256 challenge"}
	// errInvalidSecret: a token-mode secret is wrong, used or expired.
	errInvalidSecret = &Error{"invalid_secret", http.StatusUnauthorized, "invalid or expired secret", "the secret is wrong, used or expired"}
	// errInvalidHandle: a device poll's handle is not one this app issued.
	errInvalidHandle = &Error{"invalid_handle", http.StatusBadRequest, "invalid device handle", "the device handle is not valid"}
	// errAuthorizationPending: the user has not yet approved the device.
	errAuthorizationPending = &Error{"authorization_pending", http.StatusBadRequest, "authorization pending", "the user has not approved the device yet"}
	// errSlowDown: the device polled too often; wait 5 s more from now on.
	errSlowDown = &Error{"slow_down", http.StatusBadRequest, "slow down", "polling too often: wait longer between polls"}
	// errImplicitFlow: the implicit grant is refused (RFC 9700 §2.1.2).
	errImplicitFlow = &Error{"unsupported_response_type", http.StatusBadRequest, "implicit flow refused: deprecated by RFC 9700 §2.1.2, use the authorization code flow with PKCE", "the implicit flow is refused: use the authorization code flow with PKCE"}
	// errCrossOrigin: a cookie-authenticated request that changes state came
	// from another origin (http.CrossOriginProtection).
	errCrossOrigin = &Error{"cross_origin", http.StatusForbidden, "cross-origin request refused", "cross-origin request refused"}

	// errLoginRequired, errInteractionRequired, errConsentRequired and
	// errAccountSelectionRequired are the provider's answers to prompt=none
	// (OpenID Connect Core §3.1.2.6), each under its own code so that an
	// app can fall back to an interactive login.
	errLoginRequired            = &Error{"login_required", http.StatusUnauthorized, "the provider needs the user to sign in", "the provider needs the user to sign in"}
	errInteractionRequired      = &Error{"interaction_required", http.StatusUnauthorized, "the provider needs the user to interact", "the provider needs the user to interact"}
	errConsentRequired          = &Error{"consent_required", http.StatusUnauthorized, "the provider needs the user's consent", "the provider needs the user's consent"}
	errAccountSelectionRequired = &Error{"account_selection_required", http.StatusUnauthorized, "the provider needs the user to choose an account", "the provider needs the user to choose an account"}
	// errAuthTooOld: a login with max_age (the begin's or the provider's
	// own) came back with an ID token whose auth_time is missing or older
	// than max_age allows.
	errAuthTooOld = &Error{"auth_too_old", http.StatusUnauthorized, "the authentication is older than max_age allows", "the provider's authentication is missing or older than asked"}
	// errACRNotMet: a login with acr_values (the begin's or the
	// provider's own) came back with an ID token whose acr is none of them
	// (step-up authentication).
	errACRNotMet = &Error{"acr_not_satisfied", http.StatusUnauthorized, "the authentication context is not one asked for", "the provider did not authenticate the user as strongly as asked"}
	// errAuthParam: a begin's prompt, login_hint, max_age, acr_values or
	// ui_locales is malformed, or not allowed for the provider.
	errAuthParam = &Error{"invalid_auth_param", http.StatusBadRequest, "invalid authorization request parameter", "an authorization request parameter is malformed or not allowed"}
	// errPushFailed: the provider's pushed authorization request
	// endpoint (RFC 9126) failed or refused the request.
	errPushFailed = &Error{"par_failed", http.StatusBadGateway, "pushed authorization request failed", "the provider refused or failed the pushed authorization request"}
	// errLogoutState: the browser came back from the provider's logout
	// without the state that the logout sent, or with another.
	errLogoutState = &Error{"logout_state_mismatch", http.StatusBadRequest, "logout state mismatch", "the return from the provider's logout matches no logout of this browser"}
	// errDPoP: a DPoP-bound token request or answer failed: the provider
	// refused the proof, or answered a DPoP request with another
	// token_type.
	errDPoP = &Error{"dpop_failed", http.StatusBadGateway, "DPoP failed", "the provider refused or ignored the DPoP proof"}
)

// The answers without a sentinel of their own: errors.ErrUnsupported (a
// store cannot do that), bad_request for any other refused request, and
// server_error for anything unexpected.
var (
	errUnsupported = &Error{"unsupported", http.StatusNotImplemented, "not supported", "not supported by this store"}
	errBadRequest  = &Error{"bad_request", http.StatusBadRequest, "bad request", "bad request"}
	errServerError = &Error{"server_error", http.StatusInternalServerError, "internal error", "internal error"}
)

// Code returns the machine-readable code for err: that of the first
// *Error in its chain (as errors.As finds it), "unsupported" for
// errors.ErrUnsupported, and "server_error" for anything unexpected (a
// store failure, say).
func Code(err error) string {
	if e := asError(err); e != nil {
		return e.code
	}
	return errServerError.code
}

// asError returns the *Error that err answers with: the first in its chain,
// errUnsupported for errors.ErrUnsupported, nil for an unexpected error.
func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if errors.Is(err, errors.ErrUnsupported) {
		return errUnsupported
	}
	return nil
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

// providerFailure reports the errors of a provider's failure or refusal,
// which an operator may want to see without debug logging.
func providerFailure(e *Error) bool {
	switch e {
	case errProviderError, ErrTokenExchange, ErrInvalidIDToken, ErrProfileUnavailable,
		ErrRefreshFailed, ErrProviderUnavailable, ErrProviderTokenRevoked:
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

// logSafe returns err for a log record, without what a hostile provider
// may have put in it: a token endpoint's error body can echo the code or
// the client's credentials back.
func logSafe(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		code := re.ErrorCode
		if !slices.Contains(tokenErrors, code) {
			code = "(other)"
		}
		return fmt.Sprintf("%s: token endpoint answered %d %s", Code(err), status, code)
	}
	return err.Error()
}

// tokenErrors are the error codes of RFC 6749 §5.2 and RFC 8628 §3.5.
var tokenErrors = []string{"", "invalid_request", "invalid_client", "invalid_grant", "unauthorized_client",
	"unsupported_grant_type", "invalid_scope", "authorization_pending", "slow_down", "access_denied", "expired_token"}

// redact replaces each non-empty secret in msg, as it is and
// form-encoded (as client_secret_basic and form bodies send it, which an
// error quoting the request can echo).
func redact(msg string, secrets ...string) string {
	for _, s := range secrets {
		if s == "" {
			continue
		}
		msg = strings.ReplaceAll(msg, s, "[redacted]")
		if e := url.QueryEscape(s); e != s {
			msg = strings.ReplaceAll(msg, e, "[redacted]")
		}
	}
	return msg
}
