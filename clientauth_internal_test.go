package oauthlogin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"golang.org/x/oauth2"
)

// asserterProvider is a provider that authenticates its client with a
// JWT and pushes its authorization requests (RFC 9126): a stub of what
// package providers builds.
type asserterProvider struct {
	deviceProvider
	par         string // "" none
	unsupported bool   // ClientAssertion answers errors.ErrUnsupported

	mu        sync.Mutex
	endpoints []string
	// longer makes every assertion after the first one byte longer.
	longer bool
}

func (p *asserterProvider) ClientAssertion(_ context.Context, endpoint string) (string, error) {
	if p.unsupported {
		return "", errors.ErrUnsupported
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.endpoints = append(p.endpoints, endpoint)
	n := len(p.endpoints)
	if p.longer && n > 1 {
		return fmt.Sprintf("assertion-%03d-for-%s-", n, endpoint), nil
	}
	return fmt.Sprintf("assertion-%03d-for-%s", n, endpoint), nil
}

func (p *asserterProvider) PushedAuthorization() (string, bool) { return p.par, p.par != "" }

func (p *asserterProvider) OAuth2Config() oauth2.Config {
	c := p.deviceProvider.OAuth2Config()
	c.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	return c
}

// closeTracker is a request body that records being closed.
type closeTracker struct {
	io.Reader
	closed bool
}

func (c *closeTracker) Close() error { c.closed = true; return nil }

func assertingRP(t *testing.T, p Provider) *registered {
	t.Helper()
	m, err := New(Config{BaseURL: "http://localhost", Keys: Keys{Cookie: []CookieKey{GenerateCookieKey()}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Register(p); err != nil {
		t.Fatal(err)
	}
	rp, _ := m.lookup(p.Name())
	return rp
}

func formRequest(t *testing.T, method, u, body string) (*http.Request, *closeTracker) {
	t.Helper()
	tracker := &closeTracker{Reader: strings.NewReader(body)}
	req, err := http.NewRequest(method, u, tracker)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req, tracker
}

// TestAuthenticateAddsAssertion: a POSTed form to the token, device
// authorization or PAR endpoint gets client_assertion_type and a
// client_assertion made for that endpoint (RFC 7523 §2.2), after the
// form's own parameters; Body, GetBody and ContentLength agree; a resend
// through GetBody (DPoP's nonce retry) carries a fresh assertion, since
// the provider may hold the first one's jti spent; the original body is
// closed and the original request left as it was.
func TestAuthenticateAddsAssertion(t *testing.T) {
	base := "https://idp.example"
	p := &asserterProvider{deviceProvider: deviceProvider{base}, par: base + "/par"}
	rp := assertingRP(t, p)
	form := func(n int, endpoint string) string {
		return "grant_type=x&client_id=tv-client&" + url.Values{
			"client_assertion":      {fmt.Sprintf("assertion-%03d-for-%s", n, endpoint)},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		}.Encode()
	}
	n := 0
	for _, endpoint := range []string{base + "/token", base + "/device", base + "/par"} {
		req, tracker := formRequest(t, http.MethodPost, endpoint, "grant_type=x&client_id=tv-client")
		out, err := rp.authenticate(req)
		if err != nil {
			t.Fatalf("%s: %v", endpoint, err)
		}
		n++
		if out == req {
			t.Fatalf("%s: the request was changed in place or not at all", endpoint)
		}
		if !tracker.closed {
			t.Errorf("%s: the original body was not closed", endpoint)
		}
		body, _ := io.ReadAll(out.Body)
		if want := form(n, endpoint); string(body) != want {
			t.Errorf("%s: body %q, want %q", endpoint, body, want)
		}
		if out.ContentLength != int64(len(body)) {
			t.Errorf("%s: ContentLength %d, body %d bytes", endpoint, out.ContentLength, len(body))
		}
		again, err := out.GetBody()
		if err != nil {
			t.Fatal(err)
		}
		n++
		if b, _ := io.ReadAll(again); string(b) != form(n, endpoint) {
			t.Errorf("%s: GetBody gives %q, want a fresh assertion", endpoint, b)
		}
	}
	if len(p.endpoints) != 6 || p.endpoints[4] != base+"/par" || p.endpoints[5] != base+"/par" {
		t.Errorf("assertions were made for %v", p.endpoints)
	}
}

// TestAuthenticateResendKeepsLength: when the fresh assertion of a resend
// would change the body's length, GetBody gives the first body again,
// which matches ContentLength.
func TestAuthenticateResendKeepsLength(t *testing.T) {
	base := "https://idp.example"
	rp := assertingRP(t, &asserterProvider{deviceProvider: deviceProvider{base}, longer: true})
	req, _ := formRequest(t, http.MethodPost, base+"/token", "a=b")
	out, err := rp.authenticate(req)
	if err != nil {
		t.Fatal(err)
	}
	first, _ := io.ReadAll(out.Body)
	again, _ := out.GetBody()
	if b, _ := io.ReadAll(again); string(b) != string(first) || int64(len(b)) != out.ContentLength {
		t.Fatalf("GetBody gives %q (%d bytes, ContentLength %d), want %q", b, len(b), out.ContentLength, first)
	}
}

// TestAuthenticateLeavesOtherRequests: requests that do not authenticate
// the client (discovery, keys, userinfo, another host, a GET) get no
// assertion, and no assertion is asked for; nor does a provider whose
// ClientAssertion answers errors.ErrUnsupported (not set up for JWTs).
func TestAuthenticateLeavesOtherRequests(t *testing.T) {
	base := "https://idp.example"
	p := &asserterProvider{deviceProvider: deviceProvider{base}}
	rp := assertingRP(t, p)
	for _, c := range []struct{ method, url string }{
		{http.MethodGet, base + "/token"},
		{http.MethodPost, base + "/userinfo"},
		{http.MethodPost, base + "/token/x"},
		{http.MethodPost, base + "/token?x=1"},
		{http.MethodPost, "https://other.example/token"},
		{http.MethodPost, "http://idp.example/token"},
	} {
		req, _ := formRequest(t, c.method, c.url, "a=b")
		out, err := rp.authenticate(req)
		if err != nil || out != req {
			t.Errorf("%s %s: changed (%v)", c.method, c.url, err)
		}
	}
	if len(p.endpoints) != 0 {
		t.Errorf("assertions were made for %v", p.endpoints)
	}
	unsupported := assertingRP(t, &asserterProvider{deviceProvider: deviceProvider{base}, unsupported: true})
	req, _ := formRequest(t, http.MethodPost, base+"/token", "a=b")
	if out, err := unsupported.authenticate(req); err != nil || out != req {
		t.Errorf("a provider without JWT client authentication: changed (%v)", err)
	}
}

// TestAuthenticateRefusesTwoMethods: a form that would carry the
// assertion beside a client_secret, Basic credentials or an assertion of
// its own is refused, not sent: a client uses one authentication method
// per request (RFC 6749 §2.3), and a key-authenticated client never sends
// a secret. A body that is not a form cannot carry the assertion and is
// refused too.
func TestAuthenticateRefusesTwoMethods(t *testing.T) {
	base := "https://idp.example"
	rp := assertingRP(t, &asserterProvider{deviceProvider: deviceProvider{base}})
	for name, mk := range map[string]func() *http.Request{
		"client_secret": func() *http.Request {
			r, _ := formRequest(t, http.MethodPost, base+"/token", "grant_type=x&client_secret=s")
			return r
		},
		"basic": func() *http.Request {
			r, _ := formRequest(t, http.MethodPost, base+"/token", "grant_type=x")
			r.SetBasicAuth("tv-client", "s")
			return r
		},
		"own assertion": func() *http.Request {
			r, _ := formRequest(t, http.MethodPost, base+"/device", "client_assertion=x")
			return r
		},
		"json": func() *http.Request {
			r, _ := formRequest(t, http.MethodPost, base+"/token", `{"grant_type":"x"}`)
			r.Header.Set("Content-Type", "application/json")
			return r
		},
	} {
		req := mk()
		tracker := req.Body.(*closeTracker)
		if out, err := rp.authenticate(req); err == nil || out != nil {
			t.Errorf("%s: sent", name)
		} else if !errors.Is(err, errClientAuth) {
			t.Errorf("%s: error %v", name, err)
		}
		if !tracker.closed {
			t.Errorf("%s: the refused request's body was not closed", name)
		}
	}
}

// TestBackTransportAuthenticatesThroughClient: the provider's
// back-channel client (rp.client) is where the assertion is added, so
// x/oauth2's token requests carry it; the Manager's own client, used for
// resource requests, never does.
func TestBackTransportAuthenticatesThroughClient(t *testing.T) {
	var got []url.Values
	var mu sync.Mutex
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		mu.Lock()
		got = append(got, form)
		mu.Unlock()
		return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(strings.NewReader(`{"access_token":"a","token_type":"Bearer","expires_in":60}`)), Request: r}, nil
	})
	m, err := New(Config{BaseURL: "http://localhost", Keys: Keys{Cookie: []CookieKey{GenerateCookieKey()}}, HTTPClient: &http.Client{Transport: rt}})
	if err != nil {
		t.Fatal(err)
	}
	base := "https://idp.example"
	if err := m.Register(&asserterProvider{deviceProvider: deviceProvider{base}}); err != nil {
		t.Fatal(err)
	}
	rp, _ := m.lookup("tv")
	if _, err := rp.refresh(rp.clientContext(t.Context()), "rt"); err != nil {
		t.Fatal(err)
	}
	req, _ := formRequest(t, http.MethodPost, base+"/token", "a=b")
	resp, err := m.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(got) != 2 || !strings.HasSuffix(got[0].Get("client_assertion"), "-for-"+base+"/token") || got[0].Get("grant_type") != "refresh_token" {
		t.Fatalf("refresh form = %v", got)
	}
	if got[1].Has("client_assertion") {
		t.Fatal("the Manager's own client added an assertion")
	}
}
