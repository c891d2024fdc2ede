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

// resourceContext carries the Manager's HTTP client to x/oauth2, for
// requests to a provider's APIs (Client, ServiceClient).
func (m *Manager) resourceContext(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, m.client)
}

// clientContext carries rp's back-channel client to x/oauth2 (and
// go-oidc, which reads the same context key).
func (rp *registered) clientContext(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, rp.client)
}

// providerClient returns the client of rp's back-channel requests: the
// Manager's, through a transport that authenticates the client with a JWT
// where the provider asks for one (clientauth.go) and sends DPoP proofs
// where the request's context carries a key (dpop.go).
func providerClient(c *http.Client, rp *registered) *http.Client {
	cp := *c
	base := cp.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	cp.Transport = &backTransport{base: base, rp: rp}
	return &cp
}

// backTransport is the transport of a provider's back-channel requests.
type backTransport struct {
	base http.RoundTripper
	rp   *registered
}

// RoundTrip implements http.RoundTripper.
func (t *backTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	return t.rp.roundTripDPoP((*authenticating)(t), req)
}

// authenticating sends a request through the back-channel transport's
// base once the client authentication is added: below the DPoP proof, so
// that a request sent again with a server's DPoP nonce gets a new client
// assertion (a fresh jti) too.
type authenticating backTransport

// RoundTrip implements http.RoundTripper.
func (t *authenticating) RoundTrip(req *http.Request) (*http.Response, error) {
	req, err := t.rp.authenticate(req)
	if err != nil {
		return nil, err
	}
	return t.base.RoundTrip(req)
}
