package oauthlogin

import (
	"context"
	"errors"
	"net/http"
	"net/url"
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

// clientForm returns a POST of form to endpoint, one of rp's, that
// authenticates the client as x/oauth2 does at the token endpoint (RFC
// 6749 §2.3.1): HTTP Basic with the form-encoded id and secret, or both in
// the form for AuthStyleInParams; for a client without a secret (one that
// asserts itself, whose assertion the transport adds), client_id alone.
func (rp *registered) clientForm(ctx context.Context, endpoint string, form url.Values) (*http.Request, error) {
	id, secret := rp.oauth.ClientID, rp.oauth.ClientSecret
	basic := secret != "" && rp.oauth.Endpoint.AuthStyle != oauth2.AuthStyleInParams
	if !basic {
		form.Set("client_id", id)
		if secret != "" {
			form.Set("client_secret", secret)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if basic {
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	}
	return req, nil
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
