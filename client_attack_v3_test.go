package oauthlogin_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/providers"

	"github.com/oauthlogin/oauthlogin/oauthlogintest"
)

// evilOrigin is a server on another origin that records the Authorization
// and DPoP headers it receives.
type evilOrigin struct {
	*httptest.Server
	mu     sync.Mutex
	auth   []string
	proofs []string
}

func newEvilOrigin(t *testing.T) *evilOrigin {
	e := &evilOrigin{}
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.auth = append(e.auth, r.Header.Get("Authorization"))
		e.proofs = append(e.proofs, r.Header.Get("DPoP"))
		e.mu.Unlock()
	}))
	t.Cleanup(e.Close)
	return e
}

// redirector is a resource server that answers every request with a 302
// to to: an open redirect, or a compromised or hostile API endpoint.
func redirector(t *testing.T, to string) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, to, http.StatusFound)
	}))
	t.Cleanup(s.Close)
	return s
}

// RFC 9449 §7 / §11.1: a DPoP-bound access token and a proof for it go to
// the resource server only. The Bearer m.Client (oauth2.NewClient over the
// Manager's client) keeps the Manager client's CheckRedirect and refuses
// the redirect; the DPoP client m.Client returns (dpopClient) is a fresh
// http.Client without that CheckRedirect (nor its Timeout), so it follows
// a cross-origin redirect, and dpopTransport, which sets Authorization in
// RoundTrip, sends "Authorization: DPoP <token>" and a freshly signed
// proof (with ath) to the other origin. A regression against Bearer.
//
// Impact: the other origin holds the access token and a valid proof by
// the identity's key for itself; the token leaks to a party it was never
// meant for (and with a resource server that does not check htu strictly,
// the pair is usable).
func TestAttackV3DPoPClientSendsTokenAcrossOrigins(t *testing.T) {
	h := newDPoPHarness(t)
	b := oauthlogintest.NewBrowser()
	s := h.loginDPoP(b)
	tok := h.providerToken(s)
	evil := newEvilOrigin(t)
	rs := redirector(t, evil.URL+"/steal")
	resp, err := h.m.Client(context.Background(), s).Get(rs.URL + "/api")
	if err == nil {
		resp.Body.Close()
	}
	evil.mu.Lock()
	defer evil.mu.Unlock()
	for i, a := range evil.auth {
		if a == "DPoP "+tok.AccessToken {
			t.Fatalf("the DPoP m.Client followed a redirect to %s and sent it the bound access token and a proof (%d bytes)", evil.URL, len(evil.proofs[i]))
		}
	}
}

// The Bearer m.Client keeps Config.HTTPClient's Timeout (oauth2.NewClient
// copies it); the DPoP client (dpopClient) builds a bare http.Client and
// drops it. A resource server (or anything m.Client is pointed at) that
// accepts the connection and never answers holds the caller's goroutine
// and connection for as long as it likes when the caller's context has no
// deadline, which Config.HTTPClient's Timeout was set to prevent.
// RFC 9449 §11 (security considerations) adds nothing here; this is the
// host's own bound (README: Config.HTTPClient) silently lost for DPoP.
//
// Impact: goroutine and connection growth in the host, driven by a slow
// or hostile resource server, only when DPoP is on.
func TestAttackV3DPoPClientDropsTimeout(t *testing.T) {
	h := newHarness(t, func(c *oauthlogin.Config) {
		c.HTTPClient = &http.Client{Timeout: 300 * time.Millisecond}
	})
	h.register("dpop", providers.Config{DPoP: true})
	b := oauthlogintest.NewBrowser()
	s := h.loginDPoP(b)
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-time.After(5 * time.Second):
		}
	}))
	t.Cleanup(slow.Close)
	defer close(release)
	start := time.Now()
	resp, err := h.m.Client(context.Background(), s).Get(slow.URL + "/api")
	if err == nil {
		resp.Body.Close()
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("the DPoP m.Client waited %v on a resource server that does not answer; Config.HTTPClient.Timeout is 300ms", d.Round(100*time.Millisecond))
	}
}
