package oauthlogin_test

import (
	"context"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"

	"golang.org/x/oauth2"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
	"github.com/oauthlogin/oauthlogin/providers"
)

// quirky is a provider with a client secret minted per request (as Apple's
// signed JWT is) and a profile field read from the authorization response.
type quirky struct {
	*providers.OIDCProvider
	secret              string
	exchanges, refreshs atomic.Int32
	response            url.Values
}

func (q *quirky) OAuth2Config() oauth2.Config {
	c := q.OIDCProvider.OAuth2Config()
	c.ClientSecret = "stale" // the real one is minted at each request
	return c
}

func (q *quirky) Exchange(ctx context.Context, cfg *oauth2.Config, code string, opts ...oauth2.AuthCodeOption) (*oauth2.Token, error) {
	q.exchanges.Add(1)
	cfg.ClientSecret = q.secret
	return cfg.Exchange(ctx, code, opts...)
}

func (q *quirky) Refresh(ctx context.Context, cfg *oauth2.Config, refreshToken string) (*oauth2.Token, error) {
	q.refreshs.Add(1)
	cfg.ClientSecret = q.secret
	tok, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: refreshToken}).Token()
	if err == nil {
		tok.RefreshToken = "" // as a provider that does not echo it
	}
	return tok, err
}

func (q *quirky) IdentifyCallback(ctx context.Context, tok *oauth2.Token, nonce string, response url.Values) (*oauthlogin.Profile, error) {
	q.response = response
	p, err := q.Identify(ctx, tok, nonce)
	if err == nil {
		p.Name = response.Get("user")
	}
	return p, err
}

func TestExchangerAndCallbackIdentifier(t *testing.T) {
	h := newHarness(t)
	p, err := providers.OIDC(context.Background(), "quirky", h.idp.URL, providers.Config{ClientID: h.idp.ClientID})
	if err != nil {
		t.Fatal(err)
	}
	q := &quirky{OIDCProvider: p, secret: h.idp.ClientSecret}
	if err := h.m.Register(q); err != nil {
		t.Fatal(err)
	}
	b := oauthlogintest.NewBrowser()
	cb := toCallback(t, h, b, "quirky")
	cb.RawQuery += "&user=Ada"
	h.mustSucceed(visit(t, b, cb.String()))
	if q.exchanges.Load() != 1 || q.response.Get("user") != "Ada" {
		t.Fatalf("exchanges %d, response %v", q.exchanges.Load(), q.response)
	}
	first := h.refreshToken(b)
	if resp := h.do(b, "POST", "/auth/refresh"); resp.StatusCode != http.StatusOK {
		t.Fatalf("refresh = %d", resp.StatusCode)
	}
	if q.refreshs.Load() != 1 {
		t.Fatalf("Refresh called %d times", q.refreshs.Load())
	}
	if got := h.refreshToken(b); got != first {
		t.Fatalf("refresh token %q after a refresh that sent none, want the old %q kept", got, first)
	}
}
