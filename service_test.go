package oauthlogin_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/oauth2"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/providers"
)

// machineProvider is a token endpoint for the client credentials grant
// that counts its requests and can refuse the client.
type machineProvider struct {
	srv     *httptest.Server
	hits    atomic.Int32
	refuse  atomic.Bool
	mu      sync.Mutex
	lastReq url.Values
	user    string
}

func newMachineProvider(t *testing.T) *machineProvider {
	mp := &machineProvider{}
	mp.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mp.hits.Add(1)
		r.ParseForm()
		user, _, _ := r.BasicAuth()
		mp.mu.Lock()
		mp.lastReq, mp.user = r.PostForm, user
		mp.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if mp.refuse.Load() || r.PostForm.Get("grant_type") != "client_credentials" {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error":"invalid_client"}`)
			return
		}
		io.WriteString(w, `{"access_token":"machine-`+r.PostForm.Get("scope")+`","token_type":"Bearer","expires_in":3600}`)
	}))
	t.Cleanup(mp.srv.Close)
	return mp
}

func TestServiceClient(t *testing.T) {
	h := newHarness(t)
	mp := newMachineProvider(t)
	p, err := providers.OAuth2("machine", providers.Spec{
		Endpoint:    oauth2.Endpoint{AuthURL: mp.srv.URL + "/authorize", TokenURL: mp.srv.URL + "/token"},
		UserInfoURL: mp.srv.URL + "/userinfo",
	}, providers.Config{ClientID: "svc", ClientSecret: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.m.Register(p); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ts, err := h.m.ServiceTokenSource(ctx, "machine", nil, "write", "read")
	if err != nil {
		t.Fatal(err)
	}
	cancel() // the source outlives the context it was made in

	// 50 concurrent callers: one token request, one token.
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			tok, err := ts.Token()
			if err != nil || tok.AccessToken != "machine-read write" {
				t.Errorf("Token() = %v, %v", tok, err)
			}
		})
	}
	wg.Wait()
	if got := mp.hits.Load(); got != 1 {
		t.Fatalf("%d token requests for 50 callers, want 1", got)
	}
	mp.mu.Lock()
	if mp.lastReq.Get("scope") != "read write" || mp.user != "svc" || mp.lastReq.Get("client_secret") != "" {
		t.Fatalf("token request %v by %q", mp.lastReq, mp.user)
	}
	mp.mu.Unlock()

	// The same scopes in another order share the cached source.
	again, _ := h.m.ServiceTokenSource(context.Background(), "machine", nil, "read", "write")
	if _, err := again.Token(); err != nil || mp.hits.Load() != 1 {
		t.Fatalf("same scopes: %v, %d requests", err, mp.hits.Load())
	}

	// ServiceClient sends the token.
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Header.Get("Authorization"))
	}))
	t.Cleanup(api.Close)
	c, err := h.m.ServiceClient(context.Background(), "machine", "read")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Get(api.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "Bearer machine-read" {
		t.Fatalf("API saw %q", body)
	}

	// invalid_client: one request, then fail fast without a storm.
	mp.refuse.Store(true)
	refused, _ := h.m.ServiceTokenSource(context.Background(), "machine", url.Values{"audience": {"https://api.example"}}, "admin")
	before := mp.hits.Load()
	for range 20 {
		if _, err := refused.Token(); err == nil {
			t.Fatal("a refused client got a token")
		}
	}
	if got := mp.hits.Load() - before; got != 1 {
		t.Fatalf("%d token requests after invalid_client, want 1", got)
	}
	mp.mu.Lock()
	if mp.lastReq.Get("audience") != "https://api.example" {
		t.Fatalf("audience not sent: %v", mp.lastReq)
	}
	mp.mu.Unlock()
	if _, err := refused.Token(); !errors.Is(err, oauthlogin.ErrProviderUnavailable) {
		t.Fatalf("backing off: %v", err)
	}
	if _, err := h.m.ServiceTokenSource(context.Background(), "nope", nil); !errors.Is(err, oauthlogin.ErrUnknownProvider) {
		t.Fatalf("unknown provider: %v", err)
	}
}
