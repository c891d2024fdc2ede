package oauthlogin

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"golang.org/x/oauth2"
)

// errTokenType is the cause of a token response refused for its token_type.
var errTokenType = errors.New("oauthlogin: the token response's token_type is not Bearer")

// checkTokenType refuses a token response whose token_type is not Bearer,
// compared case-insensitively (RFC 6749 §5.1 makes token_type required
// and §7.1 case-insensitive; RFC 6750 defines Bearer, the only type this
// library sends access tokens as). A missing token_type is refused too:
// providers that document its absence fill it in their Exchanger.
func checkTokenType(tok *oauth2.Token) error {
	if !strings.EqualFold(tok.TokenType, "Bearer") {
		return errTokenType
	}
	return nil
}

// errRedirect is the error of a back-channel request answered with a
// redirect.
var errRedirect = errors.New("oauthlogin: the provider answered with a redirect, which is not followed")

// noRedirects returns a copy of c that follows no redirect: the token,
// refresh, device and client credentials requests carry a code, verifier,
// client secret or refresh token, which must never go to another URL.
func noRedirects(c *http.Client) *http.Client {
	cp := *c
	cp.CheckRedirect = func(*http.Request, []*http.Request) error { return errRedirect }
	return &cp
}

// clientContext carries the Manager's HTTP client to x/oauth2.
func (m *Manager) clientContext(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, m.client)
}
