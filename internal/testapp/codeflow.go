package testapp

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/oauthlogin/oauthlogin/oauthlogintest"
	"golang.org/x/oauth2"
)

// CodeFlow runs the authorization code flow with PKCE for cfg in a fresh
// browser, as a client without oauthlogin would: it visits the
// authorization URL (a nonce is sent when not empty), stops where the
// provider sends the browser back to cfg.RedirectURL's host (nothing need
// listen there) and exchanges the code. It reports failures as errors, so
// that goroutines other than the test's can use it.
func CodeFlow(ctx context.Context, cfg oauth2.Config, nonce string) (*oauth2.Token, error) {
	verifier := oauth2.GenerateVerifier()
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier)}
	if nonce != "" {
		opts = append(opts, oauth2.SetAuthURLParam("nonce", nonce))
	}
	back, err := url.Parse(cfg.RedirectURL)
	if err != nil {
		return nil, fmt.Errorf("code flow: redirect URL: %w", err)
	}
	page, err := oauthlogintest.NewBrowser().Visit(ctx, cfg.AuthCodeURL("state-1", opts...), func(u *url.URL) bool { return u.Host == back.Host })
	if err != nil {
		return nil, err
	}
	if page.Location == nil {
		return nil, fmt.Errorf("code flow: the provider did not redirect back: authorize answered %d: %s", page.Status, page.Body)
	}
	code := page.Location.Query().Get("code")
	if code == "" {
		return nil, fmt.Errorf("code flow: no code in the redirect: %s", page.Location)
	}
	return cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
}

// RunWithoutKeepAlives runs the tests of m with an http.DefaultTransport
// that keeps no idle connections, and returns the exit code. Tests that
// run in parallel and talk through the default client (x/oauth2 and
// go-oidc use it without a client in their context) need it: every
// httptest.Server.Close closes the default transport's idle connections,
// which can break a connection another test has just taken from the pool
// ("http: CloseIdleConnections called").
func RunWithoutKeepAlives(m *testing.M) int {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DisableKeepAlives = true
	http.DefaultTransport = tr
	return m.Run()
}
