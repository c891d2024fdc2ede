package oauthlogin

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// jwtBearerAssertion is the client_assertion_type of a JWT client
// assertion (RFC 7523 §2.2).
const jwtBearerAssertion = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// maxAssertedBody bounds the form authenticate reads to add the
// assertion: the Manager's own token, device and PAR forms are far smaller.
const maxAssertedBody = 1 << 20

// errClientAuth is the cause of a back-channel request refused because it
// would authenticate the client twice, or could not carry an assertion.
var errClientAuth = errors.New("oauthlogin: client authentication")

// authenticate returns req with the client's assertion added when rp is a
// ClientAsserter and req is a form it posts to the provider; else req.
//
// The forms that authenticate the client are the POSTs to the token
// endpoint (code exchange, refresh, device token poll, client
// credentials), to the device authorization endpoint and to the pushed
// authorization request endpoint (RFC 9126 §2). Anything else (discovery,
// keys, userinfo, resource requests) is sent as it is. A provider that
// implements ClientAsserter but answers errors.ErrUnsupported is not set up
// for it: its requests go as they are. A request to such an endpoint that
// already carries a client_secret, an Authorization header or an
// assertion is refused: a client uses one authentication method per
// request (RFC 6749 §2.3), and a secret must never travel beside a key.
//
// The clone's Body, GetBody and ContentLength agree, so that a resend
// (DPoP's nonce retry) sends the same form, with a fresh assertion when
// the provider's is of the same length (every JWS of one key and claims
// shape is, until the year 2286).
func (rp *registered) authenticate(req *http.Request) (*http.Request, error) {
	ca, ok := rp.p.(ClientAsserter)
	if !ok || req.Method != http.MethodPost || req.URL == nil {
		return req, nil
	}
	endpoint, ok := rp.authenticatingEndpoint(req.URL)
	if !ok {
		return req, nil
	}
	assertion, err := ca.ClientAssertion(req.Context(), endpoint)
	if errors.Is(err, errors.ErrUnsupported) {
		return req, nil
	}
	if err != nil {
		closeBody(req)
		return nil, fmt.Errorf("%w: provider %s: %w", errClientAuth, rp.name, err)
	}
	body, err := formBody(req)
	closeBody(req)
	if err != nil {
		return nil, fmt.Errorf("%w: provider %s: %w", errClientAuth, rp.name, err)
	}
	if ct, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type")); ct != "application/x-www-form-urlencoded" {
		return nil, fmt.Errorf("%w: provider %s: a request to %s is not a form", errClientAuth, rp.name, endpoint)
	}
	if req.Header.Get("Authorization") != "" {
		return nil, fmt.Errorf("%w: provider %s: a request to %s has an Authorization header and a client assertion", errClientAuth, rp.name, endpoint)
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, fmt.Errorf("%w: provider %s: the form to %s does not parse", errClientAuth, rp.name, endpoint)
	}
	for _, k := range [...]string{"client_secret", "client_assertion", "client_assertion_type"} {
		if form.Has(k) {
			return nil, fmt.Errorf("%w: provider %s: the form to %s has a %s and a client assertion", errClientAuth, rp.name, endpoint, k)
		}
	}
	sent := assertedForm(body, assertion)
	out := req.Clone(req.Context())
	out.Body = io.NopCloser(bytes.NewReader(sent))
	out.GetBody = func() (io.ReadCloser, error) {
		// A resend (DPoP's nonce retry) carries a fresh assertion, as a
		// provider may hold the first one's jti spent; one of another
		// length would contradict ContentLength, so then the first.
		if a, err := ca.ClientAssertion(out.Context(), endpoint); err == nil {
			if again := assertedForm(body, a); len(again) == len(sent) {
				return io.NopCloser(bytes.NewReader(again)), nil
			}
		}
		return io.NopCloser(bytes.NewReader(sent)), nil
	}
	out.ContentLength = int64(len(sent))
	out.Header.Del("Content-Length")
	return out, nil
}

// assertedForm is the form body with client_assertion_type and
// client_assertion appended.
func assertedForm(body []byte, assertion string) []byte {
	var b bytes.Buffer
	b.Grow(len(body) + len(assertion) + 100)
	b.Write(body)
	if len(body) > 0 {
		b.WriteByte('&')
	}
	b.WriteString(url.Values{"client_assertion_type": {jwtBearerAssertion}, "client_assertion": {assertion}}.Encode())
	return b.Bytes()
}

// formBody reads req's form: from GetBody when the request has one, else
// from Body. The caller closes req.Body.
func formBody(req *http.Request) ([]byte, error) {
	rc := req.Body
	if req.GetBody != nil {
		var err error
		if rc, err = req.GetBody(); err != nil {
			return nil, err
		}
		defer rc.Close()
	}
	if rc == nil || rc == http.NoBody {
		return nil, nil
	}
	body, err := io.ReadAll(io.LimitReader(rc, maxAssertedBody+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxAssertedBody {
		return nil, errors.New("the form is too large")
	}
	return body, nil
}

// closeBody closes req's body, as a RoundTripper must, also when it does
// not send req.
func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// authEndpoint is an endpoint that authenticates the client, as
// configured and parsed once (setAuthEndpoints).
type authEndpoint struct {
	raw string
	u   *url.URL
}

// setAuthEndpoints parses, once at Register, rp's endpoints that
// authenticate the client: the token, device authorization and pushed
// authorization request endpoints.
func (rp *registered) setAuthEndpoints() {
	candidates := [...]string{rp.oauth.Endpoint.TokenURL, rp.oauth.Endpoint.DeviceAuthURL, rp.pushURL}
	for _, c := range candidates {
		if u, err := url.Parse(c); c != "" && err == nil {
			rp.authEndpoints = append(rp.authEndpoints, authEndpoint{c, u})
		}
	}
}

// authenticatingEndpoint reports whether u is one of rp's endpoints that
// authenticate the client, and returns it as configured.
func (rp *registered) authenticatingEndpoint(u *url.URL) (string, bool) {
	for _, e := range rp.authEndpoints {
		if sameEndpoint(u, e.u) {
			return e.raw, true
		}
	}
	return "", false
}

// sameEndpoint reports whether u is the endpoint e: same scheme, host
// (case-insensitively), path and query.
func sameEndpoint(u, e *url.URL) bool {
	return strings.EqualFold(u.Scheme, e.Scheme) && strings.EqualFold(u.Host, e.Host) &&
		u.EscapedPath() == e.EscapedPath() && u.RawQuery == e.RawQuery
}
