package oauthlogintest_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/oauthlogin/oauthlogin/internal/testapp"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
)

// userInfoStatus GETs userinfo with token as Bearer and returns the status.
func userInfoStatus(t *testing.T, idp *oauthlogintest.Server, token string) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, idp.URL+"/userinfo", nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("401 without a Bearer challenge: %q", resp.Header.Get("WWW-Authenticate"))
	}
	return resp.StatusCode
}

func TestUserInfo(t *testing.T) {
	t.Parallel()
	idp := testapp.NewIdP(t)
	tok := login(t, clientConfig(idp))
	p, err := oidc.NewProvider(t.Context(), idp.URL)
	if err != nil {
		t.Fatal(err)
	}
	info, err := p.UserInfo(t.Context(), oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatal(err)
	}
	if info.Subject != "user-1" || info.Email != "ada@example.com" || !info.EmailVerified {
		t.Errorf("userinfo = %+v", info)
	}
	var claims struct {
		Name     string `json:"name"`
		Username string `json:"preferred_username"`
		Picture  string `json:"picture"`
	}
	if err := info.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if claims.Name != "Ada Lovelace" || claims.Username != "ada" || claims.Picture != "https://example.com/ada.png" {
		t.Errorf("claims = %+v", claims)
	}
}

func TestUserInfoByPOST(t *testing.T) {
	t.Parallel()
	idp := testapp.NewIdP(t)
	tok := login(t, clientConfig(idp))
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, idp.URL+"/userinfo", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "bearer "+tok.AccessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("status = %d", resp.StatusCode)
	}
}

func TestUserInfoRefusesBadTokens(t *testing.T) {
	t.Parallel()
	idp := testapp.NewIdP(t)
	if got := userInfoStatus(t, idp, ""); got != http.StatusUnauthorized {
		t.Errorf("no token: %d", got)
	}
	if got := userInfoStatus(t, idp, "made-up"); got != http.StatusUnauthorized {
		t.Errorf("unknown token: %d", got)
	}

	idp.SetAccessTokenTTL(-time.Minute)
	tok := login(t, clientConfig(idp))
	if tok.Valid() {
		t.Error("oauth2 thinks an expired access token is valid")
	}
	if got := userInfoStatus(t, idp, tok.AccessToken); got != http.StatusUnauthorized {
		t.Errorf("expired token: %d", got)
	}
}

func TestUserInfoKeepsTheUserOfTheToken(t *testing.T) {
	t.Parallel()
	idp := testapp.NewIdP(t)
	cfg := clientConfig(idp)
	ada := login(t, cfg)
	idp.SetUser(oauthlogintest.User{Subject: "42", Email: "grace@example.com"})
	grace := login(t, cfg)

	p, err := oidc.NewProvider(t.Context(), idp.URL)
	if err != nil {
		t.Fatal(err)
	}
	for tok, want := range map[*oauth2.Token]string{ada: "user-1", grace: "42"} {
		info, err := p.UserInfo(t.Context(), oauth2.StaticTokenSource(tok))
		if err != nil {
			t.Fatal(err)
		}
		if info.Subject != want {
			t.Errorf("sub = %q, want %q", info.Subject, want)
		}
	}
	idt, err := verifier(t, idp).Verify(t.Context(), rawIDToken(t, grace))
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if claims["sub"] != "42" || claims["email_verified"] != false || claims["name"] != nil {
		t.Errorf("claims for the new user = %v", claims)
	}
}

func TestUserInfoBehavior(t *testing.T) {
	t.Parallel()
	idp := testapp.NewIdP(t)
	tok := login(t, clientConfig(idp))
	p, err := oidc.NewProvider(t.Context(), idp.URL)
	if err != nil {
		t.Fatal(err)
	}

	idp.Behave(oauthlogintest.Behavior{UserInfoSubject: "someone-else"})
	info, err := p.UserInfo(t.Context(), oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatal(err)
	}
	if info.Subject != "someone-else" {
		t.Errorf("sub = %q, want someone-else", info.Subject)
	}

	idp.Behave(oauthlogintest.Behavior{UserInfoStatus: http.StatusInternalServerError})
	if got := userInfoStatus(t, idp, tok.AccessToken); got != http.StatusInternalServerError {
		t.Errorf("status = %d, want 500", got)
	}
	if _, err := p.UserInfo(t.Context(), oauth2.StaticTokenSource(tok)); err == nil {
		t.Error("go-oidc accepted a 500 from userinfo")
	}
	idp.Behave(oauthlogintest.Behavior{UserInfoStatus: http.StatusUnauthorized})
	if got := userInfoStatus(t, idp, tok.AccessToken); got != http.StatusUnauthorized {
		t.Errorf("status = %d, want 401", got)
	}
}
