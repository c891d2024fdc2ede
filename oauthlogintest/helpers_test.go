package oauthlogintest_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/oauthlogin/oauthlogin/internal/testapp"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
)

// callbackURL is the client's redirect URI. Nothing listens there: the
// test browser stops before requesting it.
const callbackURL = "http://app.example/callback"

// clientConfig is an OIDC client of idp.
func clientConfig(idp *oauthlogintest.Server) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     idp.ClientID,
		ClientSecret: idp.ClientSecret,
		Endpoint: oauth2.Endpoint{
			AuthURL:  idp.URL + "/authorize",
			TokenURL: idp.URL + "/token",
		},
		RedirectURL: callbackURL,
		Scopes:      []string{"openid", "email", "profile"},
	}
}

// authorize visits authURL and returns the parameters the provider
// redirected back to the callback with.
func authorize(t *testing.T, authURL string) url.Values {
	t.Helper()
	page, err := oauthlogintest.NewBrowser().Visit(t.Context(), authURL, func(u *url.URL) bool {
		return strings.HasPrefix(u.String(), callbackURL)
	})
	if err != nil {
		t.Fatal(err)
	}
	if page.Location == nil {
		t.Fatalf("authorize answered %d %q, not a redirect to the callback", page.Status, page.Body)
	}
	return page.Location.Query()
}

// login runs the whole code flow with PKCE and a nonce and returns the token.
func login(t *testing.T, cfg *oauth2.Config) *oauth2.Token {
	t.Helper()
	tok, err := codeFlow(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// codeFlow is login for goroutines other than the test's: it reports
// failures as errors.
func codeFlow(ctx context.Context, cfg *oauth2.Config) (*oauth2.Token, error) {
	return testapp.CodeFlow(ctx, *cfg, "n-1")
}

// rawIDToken returns the id_token of tok, failing the test without one.
func rawIDToken(t *testing.T, tok *oauth2.Token) string {
	t.Helper()
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		t.Fatal("token response has no id_token")
	}
	return raw
}

// verifier is a go-oidc verifier for idp's ID tokens, using discovery.
func verifier(t *testing.T, idp *oauthlogintest.Server) *oidc.IDTokenVerifier {
	t.Helper()
	p, err := oidc.NewProvider(t.Context(), idp.URL)
	if err != nil {
		t.Fatal(err)
	}
	return p.Verifier(&oidc.Config{ClientID: idp.ClientID})
}

// decodeJWT returns the header and claims of a compact JWT without
// verifying it.
func decodeJWT(t *testing.T, raw string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("JWT has %d parts", len(parts))
	}
	decode := func(s string) map[string]any {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]any{}
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	return decode(parts[0]), decode(parts[1])
}

// errorCode returns the OAuth error code of a failed token request.
func errorCode(t *testing.T, err error) string {
	t.Helper()
	var rerr *oauth2.RetrieveError
	if !errors.As(err, &rerr) {
		t.Fatalf("want *oauth2.RetrieveError, got %v", err)
	}
	return rerr.ErrorCode
}

// postForm POSTs form to target, lets edit adjust the request (edit may be
// nil), and returns the response with its body closed.
func postForm(t *testing.T, target string, form url.Values, edit func(*http.Request)) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, target, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if edit != nil {
		edit(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// TestMain runs the tests with an http.DefaultTransport that keeps no idle
// connections (see testapp.RunWithoutKeepAlives): tests here run in
// parallel and some talk through the default client.
func TestMain(m *testing.M) { os.Exit(testapp.RunWithoutKeepAlives(m)) }
