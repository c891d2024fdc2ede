package oauthlogin

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"golang.org/x/oauth2"
)

// maxPushResponse bounds the body of a pushed authorization response read:
// a request_uri and an expires_in need a few hundred bytes.
const maxPushResponse = 16 << 10

// maxRequestURI bounds the request_uri a provider may hand back, which goes
// into the redirect to its authorization endpoint.
const maxRequestURI = 1024

// setPush reads whether rp's begins push their authorization requests
// (RFC 9126), from its AuthorizationPusher capability.
func (rp *registered) setPush() error {
	ap, ok := rp.p.(AuthorizationPusher)
	if !ok {
		return nil
	}
	endpoint, push := ap.PushedAuthorization()
	if !push {
		return nil
	}
	u, err := url.Parse(endpoint)
	if endpoint == "" || err != nil || !u.IsAbs() || u.Host == "" {
		return fmt.Errorf("%w: provider %s pushes authorization requests but has no absolute pushed authorization request endpoint", ErrConfig, rp.name)
	}
	rp.pushURL = endpoint
	return nil
}

// authParams returns every parameter of a flow's authorization request:
// the fixed ones (those of extra, the begin's per-login parameters,
// replace the provider's own of the same name), the scope, state, S256
// PKCE challenge and, for OpenID providers, nonce. authURL builds the same
// request without extra, faster.
func (rp *registered) authParams(f *flow, scope string, extra url.Values) url.Values {
	v := make(url.Values, len(rp.authFixed)+len(extra)+5)
	for k, vs := range rp.authFixed {
		if _, replaced := extra[k]; !replaced {
			v[k] = vs
		}
	}
	for k, vs := range extra {
		v[k] = vs
	}
	v.Set("scope", scope)
	v.Set("state", f.State)
	v.Set("code_challenge", oauth2.S256ChallengeFromVerifier(f.Verifier))
	v.Set("code_challenge_method", "S256")
	if f.Nonce != "" {
		v.Set("nonce", f.Nonce)
	}
	return v
}

// push sends an authorization request's parameters to the provider's
// pushed authorization request endpoint (RFC 9126 §2.1) through its
// back-channel client, and returns the authorization URL that names the
// pushed request: client_id and request_uri only (§4). The client
// authenticates as at the token endpoint: HTTP Basic with the form-encoded
// id and secret (RFC 6749 §2.3.1) or the secret in the form, by the
// provider's AuthStyle; a provider that asserts its client (private_key_jwt,
// client_secret_jwt) has no secret in its OAuth2Config, and the transport
// adds the assertion. Errors wrap errPushFailed.
func (rp *registered) push(ctx context.Context, params url.Values) (string, error) {
	req, err := rp.clientForm(ctx, rp.pushURL, params)
	if err != nil {
		return "", wrap(errPushFailed, err)
	}
	resp, err := rp.client.Do(req)
	if err != nil {
		return "", wrap(errPushFailed, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPushResponse+1))
	switch {
	case err != nil:
		return "", wrap(errPushFailed, err)
	case resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK:
		// §2.2 answers 201; some servers answer 200, which is accepted.
		return "", fmt.Errorf("%w: the endpoint answered %d", errPushFailed, resp.StatusCode)
	case len(body) > maxPushResponse:
		return "", fmt.Errorf("%w: the answer is over %d bytes", errPushFailed, maxPushResponse)
	}
	var answer struct {
		RequestURI string          `json:"request_uri"`
		ExpiresIn  json.RawMessage `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &answer); err != nil {
		return "", fmt.Errorf("%w: the answer is not a JSON object: %w", errPushFailed, err)
	}
	var expiresIn float64
	if err := json.Unmarshal(answer.ExpiresIn, &expiresIn); err != nil || expiresIn <= 0 {
		return "", fmt.Errorf("%w: the answer has no positive expires_in", errPushFailed)
	}
	if answer.RequestURI == "" || len(answer.RequestURI) > maxRequestURI {
		return "", fmt.Errorf("%w: the answer has no request_uri of at most %d bytes", errPushFailed, maxRequestURI)
	}
	for i := 0; i < len(answer.RequestURI); i++ {
		if c := answer.RequestURI[i]; c < 0x21 || c > 0x7e {
			return "", fmt.Errorf("%w: the request_uri has a byte outside %%x21-7E", errPushFailed)
		}
	}
	return rp.authBase + "client_id=" + url.QueryEscape(rp.oauth.ClientID) + "&request_uri=" + url.QueryEscape(answer.RequestURI), nil
}
