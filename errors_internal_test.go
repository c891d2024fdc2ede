package oauthlogin

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// wireErrors is every exported sentinel with the code and status it
// answers with: the wire contract, which changes only with a release note.
var wireErrors = []struct {
	name   string
	err    *Error
	code   string
	status int
}{
	{"ErrNotFound", ErrNotFound, "not_found", 404},
	{"ErrAlreadyUsed", ErrAlreadyUsed, "already_used", 409},
	{"ErrIdentityExists", ErrIdentityExists, "identity_exists", 409},
	{"ErrStoreUnavailable", ErrStoreUnavailable, "store_unavailable", 503},
	{"ErrConfig", ErrConfig, "invalid_config", 500},
	{"ErrUnknownProvider", ErrUnknownProvider, "unknown_provider", 404},
	{"errRedirectNotAllowed", errRedirectNotAllowed, "redirect_not_allowed", 400},
	{"errScopeNotAllowed", errScopeNotAllowed, "scope_not_allowed", 400},
	{"errStateMissing", errStateMissing, "state_missing", 400},
	{"errStateMismatch", errStateMismatch, "state_mismatch", 400},
	{"errStateReplayed", errStateReplayed, "state_replayed", 400},
	{"errFlowExpired", errFlowExpired, "flow_expired", 400},
	{"errProviderMismatch", errProviderMismatch, "provider_mismatch", 400},
	{"errIssuerMismatch", errIssuerMismatch, "issuer_mismatch", 400},
	{"errInvalidResponse", errInvalidResponse, "invalid_response", 400},
	{"ErrProviderDenied", ErrProviderDenied, "access_denied", 400},
	{"errProviderError", errProviderError, "provider_error", 502},
	{"errCodeMissing", errCodeMissing, "code_missing", 400},
	{"ErrTokenExchange", ErrTokenExchange, "token_exchange_failed", 502},
	{"ErrInvalidIDToken", ErrInvalidIDToken, "id_token_invalid", 502},
	{"ErrProfileUnavailable", ErrProfileUnavailable, "profile_unavailable", 502},
	{"ErrIdentityConflict", ErrIdentityConflict, "identity_already_linked", 409},
	{"ErrLoginDenied", ErrLoginDenied, "login_denied", 403},
	{"errLinkSessionMismatch", errLinkSessionMismatch, "link_session_mismatch", 403},
	{"errLinkRequiresPost", errLinkRequiresPost, "link_requires_post", 400},
	{"ErrLastIdentity", ErrLastIdentity, "last_identity", 409},
	{"errUnsupportedMode", errUnsupportedMode, "unsupported_mode", 400},
	{"errInvalidChallenge", errInvalidChallenge, "invalid_challenge", 400},
	{"errInvalidSecret", errInvalidSecret, "invalid_secret", 401},
	{"ErrDeviceUnsupported", ErrDeviceUnsupported, "device_unsupported", 400},
	{"errInvalidHandle", errInvalidHandle, "invalid_handle", 400},
	{"errAuthorizationPending", errAuthorizationPending, "authorization_pending", 400},
	{"errSlowDown", errSlowDown, "slow_down", 400},
	{"ErrDeviceCodeExpired", ErrDeviceCodeExpired, "expired_token", 400}, // RFC 8628 §3.5
	{"ErrNoSession", ErrNoSession, "no_session", 401},
	{"ErrNoRefreshToken", ErrNoRefreshToken, "no_refresh_token", 400},
	{"ErrRefreshFailed", ErrRefreshFailed, "refresh_failed", 502},
	{"ErrProviderUnavailable", ErrProviderUnavailable, "provider_unavailable", 503},
	{"ErrProviderTokenRevoked", ErrProviderTokenRevoked, "provider_token_revoked", 409},
	{"errImplicitFlow", errImplicitFlow, "unsupported_response_type", 400},
	{"errCrossOrigin", errCrossOrigin, "cross_origin", 403},
	{"ErrInvalidLogoutToken", ErrInvalidLogoutToken, "invalid_logout_token", 400},
	{"errLoginRequired", errLoginRequired, "login_required", 401}, // OpenID Connect Core §3.1.2.6
	{"errInteractionRequired", errInteractionRequired, "interaction_required", 401},
	{"errConsentRequired", errConsentRequired, "consent_required", 401},
	{"errAccountSelectionRequired", errAccountSelectionRequired, "account_selection_required", 401},
	{"errAuthTooOld", errAuthTooOld, "auth_too_old", 401},
	{"errACRNotMet", errACRNotMet, "acr_not_satisfied", 401},
	{"errAuthParam", errAuthParam, "invalid_auth_param", 400},
	{"errPushFailed", errPushFailed, "par_failed", 502},
	{"errLogoutState", errLogoutState, "logout_state_mismatch", 400},
	{"errDPoP", errDPoP, "dpop_failed", 502},
}

// internalErrors are the *Error values that answer without a sentinel of
// their own (checked apart in TestSentinels).
var internalErrors = map[string]bool{"errUnsupported": true, "errBadRequest": true, "errServerError": true}

// isErrorLit reports whether the i'th value of vs is an &Error{...}: a
// sentinel, exported or wire-only.
func isErrorLit(vs *ast.ValueSpec, i int) bool {
	if i >= len(vs.Values) {
		return false
	}
	u, ok := vs.Values[i].(*ast.UnaryExpr)
	if !ok || u.Op != token.AND {
		return false
	}
	c, ok := u.X.(*ast.CompositeLit)
	if !ok {
		return false
	}
	id, ok := c.Type.(*ast.Ident)
	return ok && id.Name == "Error"
}

// exportedSentinels lists the sentinels declared in the package's
// source, the exported Err* values and the wire-only err* *Error values,
// so that a sentinel added without a row in wireErrors fails
// TestSentinels.
func exportedSentinels(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var names []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		file, err := parser.ParseFile(fset, f, src, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range file.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.VAR {
				continue
			}
			for _, s := range g.Specs {
				vs := s.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if strings.HasPrefix(n.Name, "Err") && n.IsExported() || isErrorLit(vs, i) && !internalErrors[n.Name] {
						names = append(names, n.Name)
					}
				}
			}
		}
	}
	return names
}

// TestSentinels: every exported sentinel is an *Error with its own
// non-empty code, an HTTP error status, a fixed public message and an
// "oauthlogin: " text; the codes and statuses are the ones listed in
// wireErrors (among them the renamed ErrDeviceCodeExpired, still RFC
// 8628's expired_token, and ErrProviderUnavailable, provider_unavailable).
func TestSentinels(t *testing.T) {
	listed := map[string]bool{}
	codes := map[string]string{}
	for _, w := range wireErrors {
		listed[w.name] = true
		e := w.err
		if e.Code() == "" || e.Code() != w.code {
			t.Errorf("%s.Code() = %q, want %q", w.name, e.Code(), w.code)
		}
		if other, dup := codes[e.Code()]; dup {
			t.Errorf("%s and %s share the code %q", other, w.name, e.Code())
		}
		codes[e.Code()] = w.name
		if s := e.HTTPStatus(); s != w.status || s < 400 || s > 599 {
			t.Errorf("%s.HTTPStatus() = %d, want %d", w.name, s, w.status)
		}
		if e.public == "" || strings.Contains(e.public, "%") {
			t.Errorf("%s has no fixed public message: %q", w.name, e.public)
		}
		if !strings.HasPrefix(e.Error(), "oauthlogin: ") || len(e.Error()) == len("oauthlogin: ") {
			t.Errorf("%s.Error() = %q", w.name, e.Error())
		}
	}
	for _, name := range exportedSentinels(t) {
		if !listed[name] {
			t.Errorf("%s is not in wireErrors", name)
		}
	}
	for _, e := range []*Error{errUnsupported, errBadRequest, errServerError} {
		if other, dup := codes[e.code]; dup {
			t.Errorf("%s shares its code with %s", e.code, other)
		}
	}
}

// TestErrorAs: errors.As finds the sentinel, with its code and status,
// through layers of %w wrapping, and Code agrees; an unexpected error is
// server_error, and errors.ErrUnsupported unsupported.
func TestErrorAs(t *testing.T) {
	for _, w := range wireErrors {
		err := fmt.Errorf("outer: %w", fmt.Errorf("%w: detail", w.err))
		var e *Error
		if !errors.As(err, &e) || e != w.err || e.Code() != w.code || e.HTTPStatus() != w.status {
			t.Errorf("errors.As(%v) = %v, want %s", err, e, w.name)
		}
		if !errors.Is(err, w.err) || Code(err) != w.code {
			t.Errorf("%s: Is %v, Code %q", w.name, errors.Is(err, w.err), Code(err))
		}
	}
	for err, want := range map[error]string{
		nil:                        "server_error",
		errors.New("disk on fire"): "server_error",
		fmt.Errorf("cookiestore: %w", errors.ErrUnsupported): "unsupported",
	} {
		if got := Code(err); got != want {
			t.Errorf("Code(%v) = %q, want %q", err, got, want)
		}
	}
}

// TestCodeOutermostSentinel: an error that wraps several sentinels answers
// with the outermost, as errors.As finds it, in its code and its status.
func TestCodeOutermostSentinel(t *testing.T) {
	m, err := New(Config{BaseURL: "https://app.example.com", Keys: Keys{Cookie: []CookieKey{GenerateCookieKey()}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		err    error
		code   string
		status int
	}{
		{fmt.Errorf("%w: hook: %w", ErrLoginDenied, ErrNotFound), "login_denied", http.StatusForbidden},
		{fmt.Errorf("%w: %w", ErrNotFound, ErrLoginDenied), "not_found", http.StatusNotFound},
		{fmt.Errorf("%w: %w", fmt.Errorf("%w: exp", ErrInvalidIDToken), ErrRefreshFailed), "id_token_invalid", http.StatusBadGateway},
	} {
		if Code(tc.err) != tc.code {
			t.Errorf("Code(%v) = %q, want %s", tc.err, Code(tc.err), tc.code)
		}
		w := httptest.NewRecorder()
		m.writeError(w, httptest.NewRequest("POST", "/auth/refresh", nil), tc.err)
		if w.Code != tc.status || !strings.Contains(w.Body.String(), `"error":"`+tc.code+`"`) {
			t.Errorf("%v: answered %d %s, want %d %s", tc.err, w.Code, w.Body, tc.status, tc.code)
		}
	}
}

// sentinelErrors returns the exported sentinels of wireErrors.
func sentinelErrors() []*Error {
	var out []*Error
	for _, w := range wireErrors {
		out = append(out, w.err)
	}
	return out
}

func TestRedact(t *testing.T) {
	got := redact(`oidc: expected "abc" got "s3cret-state", code s3cret-code`, "s3cret-state", "", "s3cret-code")
	if strings.Contains(got, "s3cret") || strings.Count(got, "[redacted]") != 2 {
		t.Fatalf("redact = %q", got)
	}
}
