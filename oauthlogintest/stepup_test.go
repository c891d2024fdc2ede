package oauthlogintest_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/oauthlogin/oauthlogin/internal/testapp"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
)

// idClaims runs an authorization request with params and returns the
// claims of the ID token its code redeems.
func idClaims(t *testing.T, idp *oauthlogintest.Server, params ...string) map[string]any {
	t.Helper()
	cfg := clientConfig(idp)
	verifier := oauth2.GenerateVerifier()
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier)}
	for i := 0; i+1 < len(params); i += 2 {
		opts = append(opts, oauth2.SetAuthURLParam(params[i], params[i+1]))
	}
	q := authorize(t, cfg.AuthCodeURL("st", opts...))
	if q.Get("code") == "" {
		t.Fatalf("no code: %v", q)
	}
	tok, err := cfg.Exchange(t.Context(), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	_, claims := decodeJWT(t, rawIDToken(t, tok))
	return claims
}

// authTime is an ID token's auth_time.
func authTime(t *testing.T, claims map[string]any) time.Time {
	t.Helper()
	v, ok := claims["auth_time"].(float64)
	if !ok {
		if n, isNum := claims["auth_time"].(json.Number); isNum {
			f, _ := n.Float64()
			return time.Unix(int64(f), 0)
		}
		t.Fatalf("auth_time = %v", claims["auth_time"])
	}
	return time.Unix(int64(v), 0)
}

// OpenID Connect Core §3.1.2.6: prompt=none with nobody signed in at the
// provider is answered login_required (with the state); after a login it
// is approved without interaction.
func TestPromptNoneLoginRequired(t *testing.T) {
	t.Parallel()
	idp := testapp.NewIdP(t)
	cfg := clientConfig(idp)
	q := authorize(t, cfg.AuthCodeURL("st", oauth2.SetAuthURLParam("prompt", "none")))
	if q.Get("error") != "login_required" || q.Get("state") != "st" || q.Has("code") {
		t.Fatalf("prompt=none signed out: %v, want error=login_required", q)
	}
	idClaims(t, idp)
	idClaims(t, idp, "prompt", "none")
	idp.SetAuthTime(time.Time{})
	if q := authorize(t, cfg.AuthCodeURL("st", oauth2.SetAuthURLParam("prompt", "none"))); q.Get("error") != "login_required" {
		t.Fatalf("prompt=none after SetAuthTime(zero): %v", q)
	}
}

// Behavior.PromptNoneError answers prompt=none requests only.
func TestPromptNoneErrorScripted(t *testing.T) {
	t.Parallel()
	idp := testapp.NewIdP(t)
	idp.Behave(oauthlogintest.Behavior{PromptNoneError: "consent_required"})
	cfg := clientConfig(idp)
	if q := authorize(t, cfg.AuthCodeURL("st", oauth2.SetAuthURLParam("prompt", "none"))); q.Get("error") != "consent_required" {
		t.Fatalf("prompt=none: %v, want consent_required", q)
	}
	idClaims(t, idp, "prompt", "consent")
}

// prompt=none never shows the login page: it is answered at once.
func TestPromptNoneSkipsLoginPage(t *testing.T) {
	t.Parallel()
	idp := testapp.NewIdP(t)
	idp.SetAuthTime(time.Now())
	idp.SetLoginPage(func(w http.ResponseWriter, r *http.Request, req oauthlogintest.LoginRequest) {
		t.Error("the login page was shown for prompt=none")
	})
	idClaims(t, idp, "prompt", "none")
}

// auth_time is the provider session's (SetAuthTime) until a request asks
// for a new authentication: prompt=login, or a max_age that has elapsed
// (OpenID Connect Core §3.1.2.1).
func TestAuthTimeSession(t *testing.T) {
	t.Parallel()
	idp := testapp.NewIdP(t)
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	idp.SetAuthTime(old)
	if got := authTime(t, idClaims(t, idp)); !got.Equal(old) {
		t.Errorf("auth_time = %v, want the session's %v", got, old)
	}
	if got := authTime(t, idClaims(t, idp, "max_age", "7200")); !got.Equal(old) {
		t.Errorf("max_age=7200: auth_time = %v, want the session's %v", got, old)
	}
	before := time.Now().Truncate(time.Second)
	if got := authTime(t, idClaims(t, idp, "max_age", "600")); got.Before(before) {
		t.Errorf("max_age=600 after an hour: auth_time = %v, want a new authentication", got)
	}
	idp.SetAuthTime(old)
	if got := authTime(t, idClaims(t, idp, "prompt", "login")); got.Before(before) {
		t.Errorf("prompt=login: auth_time = %v, want a new authentication", got)
	}
}

// acr: the user's (User.ACR) by default, the first of acr_values when
// asked, Behavior.ACR whatever was asked.
func TestACRClaim(t *testing.T) {
	t.Parallel()
	idp := testapp.NewIdP(t)
	if _, ok := idClaims(t, idp)["acr"]; ok {
		t.Error("acr without User.ACR or acr_values")
	}
	idp.SetUser(oauthlogintest.User{Subject: "u", ACR: "pwd"})
	if got := idClaims(t, idp)["acr"]; got != "pwd" {
		t.Errorf("acr = %v, want pwd", got)
	}
	if got := idClaims(t, idp, "acr_values", "mfa phr")["acr"]; got != "mfa" {
		t.Errorf("acr_values=mfa phr: acr = %v, want mfa", got)
	}
	idp.Behave(oauthlogintest.Behavior{ACR: "weak"})
	if got := idClaims(t, idp, "acr_values", "mfa")["acr"]; got != "weak" {
		t.Errorf("Behavior.ACR: acr = %v, want weak", got)
	}
}

// A login page that approves a request has just authenticated the user:
// auth_time is renewed, whatever the provider's session said.
func TestLoginPageApprovalRenewsAuthTime(t *testing.T) {
	t.Parallel()
	idp := testapp.NewIdP(t)
	idp.SetAuthTime(time.Now().Add(-time.Hour))
	idp.SetLoginPage(func(w http.ResponseWriter, r *http.Request, req oauthlogintest.LoginRequest) {
		idp.Approve(w, r, req.ID, oauthlogintest.User{Subject: "u"})
	})
	before := time.Now().Truncate(time.Second)
	if got := authTime(t, idClaims(t, idp)); got.Before(before) {
		t.Errorf("auth_time = %v after a login page approval, want at least %v", got, before)
	}
}
