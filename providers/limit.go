package providers

import (
	"errors"
	"io"
	"net/http"
)

// maxBody bounds every response body read from a provider: discovery,
// keys, user info, revocation. go-oidc reads discovery and JWKS documents
// whole, so the bound lives in the client's transport.
const maxBody = 1 << 20

// errBodyTooLarge is returned by reads past maxBody.
var errBodyTooLarge = errors.New("providers: response body larger than 1 MiB")

// errRedirect is the error of a back-channel request answered with a
// redirect.
var errRedirect = errors.New("providers: the provider answered with a redirect, which is not followed")

// refuseRedirect is the CheckRedirect of every client that talks to a
// provider: a redirect is never followed, so a code, verifier, secret or
// token is never sent to another URL.
func refuseRedirect(*http.Request, []*http.Request) error { return errRedirect }

// limited returns a copy of c whose response bodies fail past maxBody and
// that follows no redirect.
func limited(c *http.Client) *http.Client {
	if _, ok := c.Transport.(limitTransport); ok {
		return c
	}
	cp := *c
	cp.Transport = limitTransport{base: c.Transport}
	cp.CheckRedirect = refuseRedirect
	return &cp
}

type limitTransport struct{ base http.RoundTripper }

// RoundTrip implements http.RoundTripper.
func (t limitTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	resp.Body = &limitBody{rc: resp.Body, left: maxBody}
	return resp, nil
}

type limitBody struct {
	rc   io.ReadCloser
	left int64
}

func (b *limitBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One byte more tells a body of exactly maxBody from a longer one.
		var one [1]byte
		if n, _ := b.rc.Read(one[:]); n > 0 {
			return 0, errBodyTooLarge
		}
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *limitBody) Close() error { return b.rc.Close() }
