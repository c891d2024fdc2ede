// Package scenario holds the deployment tests that every networked store
// runs beyond the storetest conformance suite: a real login through an
// oauthlogin.Manager backed by the store, with the fake provider of
// oauthlogintest; encryption at rest; several instances behind a load
// balancer; the store's server going away and coming back; and faults
// (restarts, a cluster failover) under load from two instances. It also
// starts private server processes for the outage and fault tests.
package scenario

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/internal/testapp"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
	"github.com/oauthlogin/oauthlogin/providers"
	"golang.org/x/oauth2"
)

// Env returns the environment variable name. When it is unset the test is
// skipped, or fails when CI is set: in CI every store must be tested.
func Env(t testing.TB, name, what string) string {
	t.Helper()
	v := os.Getenv(name)
	if v != "" {
		return v
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is not set, and CI is: a %s server is required (source .ci/services.sh)", name, what)
	}
	t.Skipf("%s is not set: skipping the %s tests (source .ci/services.sh to start one)", name, what)
	return ""
}

// Backend is a server store under test: an oauthlogin.Store that lists
// sessions too, set as every instance's Config.Store.
type Backend interface {
	oauthlogin.Store
	oauthlogin.SessionLister
}

// Instance is one app instance: a Manager mounted at /auth/ in an
// httptest server of its own.
type Instance struct {
	M      *oauthlogin.Manager
	Server *httptest.Server
	served atomic.Int64
}

// Deployment is a fake provider, instances sharing one store and cookie
// keys, and a front server (the load balancer) whose URL is every
// instance's BaseURL.
type Deployment struct {
	t      testing.TB
	IdP    *oauthlogintest.Server
	Front  *httptest.Server
	Inst   []*Instance
	Client *http.Client // for direct requests; no cookie jar
	route  atomic.Pointer[func(*http.Request) int]
}

// NewDeployment starts n instances over store. The front server sends a
// request to the instance that Route picks, by default the first.
func NewDeployment(t testing.TB, store Backend, n int) *Deployment {
	t.Helper()
	// A transport of the deployment's own, for the front server and
	// Client: httptest.Server.Close closes http.DefaultTransport's idle
	// connections, which would break other parallel tests' requests, and
	// the fault scenario closes these to see that nothing is left running.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	d := &Deployment{t: t, IdP: testapp.NewIdP(t), Client: &http.Client{Timeout: 30 * time.Second, Transport: tr}}
	d.Route(func(*http.Request) int { return 0 })
	d.Front = httptest.NewUnstartedServer(&httputil.ReverseProxy{
		Transport: tr,
		Rewrite: func(pr *httputil.ProxyRequest) {
			inst := d.Inst[(*d.route.Load())(pr.In)]
			target, _ := url.Parse(inst.Server.URL)
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host
		},
	})
	cfg := testapp.Config("http://"+d.Front.Listener.Addr().String(), store, slog.New(slog.DiscardHandler))
	// The scenarios send up to 200 requests at once through a store on a
	// shared CI machine under -race (SQLite serializes their writes): the
	// longest bound New accepts, so that only a store that stopped
	// answering, not a queue, fails a call.
	cfg.StoreTimeout = 10 * time.Second
	for range n {
		m, err := oauthlogin.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		testapp.Register(t, m, d.IdP, "test", providers.Config{})
		inst := &Instance{M: m}
		mux := testapp.Mux(m)
		inst.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			inst.served.Add(1)
			mux.ServeHTTP(w, r)
		}))
		t.Cleanup(inst.Server.Close)
		d.Inst = append(d.Inst, inst)
	}
	d.Front.Start()
	t.Cleanup(d.Front.Close)
	return d
}

// Route sets how the front server picks the instance of a request.
func (d *Deployment) Route(pick func(*http.Request) int) { d.route.Store(&pick) }

// Served reports how many requests instance i has served.
func (d *Deployment) Served(i int) int64 { return d.Inst[i].served.Load() }

// Login runs a whole login through the front server in b and fails the
// test unless it ends on the success page.
func (d *Deployment) Login(b *oauthlogintest.Browser) {
	d.t.Helper()
	testapp.MustSucceed(d.t, d.TryLogin(b))
}

// TryLogin runs a whole login through the front server in b and returns
// the page it ends on.
func (d *Deployment) TryLogin(b *oauthlogintest.Browser) *oauthlogintest.Page {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return testapp.Visit(ctx, d.t, b, testapp.BeginURL(d.Front.URL, "test"))
}

// SessionToken returns the session cookie's value (the session's secret
// token) from b's cookie jar.
func (d *Deployment) SessionToken(b *oauthlogintest.Browser) string {
	d.t.Helper()
	u, _ := url.Parse(d.Front.URL)
	for _, c := range b.Client.Jar.Cookies(u) {
		if strings.HasSuffix(c.Name, "oauthlogin_session") {
			return c.Value
		}
	}
	d.t.Fatal("no session cookie")
	return ""
}

// Do sends a request with the session token to instance i and returns the
// status and the JSON body (nil when the body is not JSON).
func (d *Deployment) Do(i int, method, path, token string) (int, map[string]any) {
	d.t.Helper()
	a := testapp.WithSession(d.Client, method, d.Inst[i].Server.URL+path, "oauthlogin_session", token)
	if a.Err != nil {
		d.t.Fatal(a.Err)
	}
	return a.Status, a.Body
}

// Secrets logs b in and returns the secrets that must never be stored in
// the clear: the session token (the cookie value) and the provider's
// access and refresh tokens; and the session's public id, which is stored.
func (d *Deployment) Secrets(b *oauthlogintest.Browser, store oauthlogin.SessionStore) (secrets []string, sessionID string) {
	d.t.Helper()
	d.Login(b)
	token := d.SessionToken(b)
	status, v := d.Do(0, "GET", "/auth/session", token)
	if status != http.StatusOK {
		d.t.Fatalf("GET /auth/session = %d %v", status, v)
	}
	sessionID, _ = v["id"].(string)
	s, err := store.Session(context.Background(), sessionID)
	if err != nil {
		d.t.Fatal(err)
	}
	tok, err := d.Inst[0].M.ProviderToken(s)
	if err != nil || tok == nil || tok.AccessToken == "" || tok.RefreshToken == "" {
		d.t.Fatalf("ProviderToken = %v, %v; want access and refresh tokens", tok, err)
	}
	if v["providerAccessToken"] != tok.AccessToken {
		d.t.Fatal("the session JSON's access token is not the sealed one")
	}
	return []string{token, tok.AccessToken, tok.RefreshToken}, sessionID
}

// EncryptedAtRest logs in through a Manager over store and checks that the
// raw contents of the store, as dump reads them, hold none of the session
// token and provider tokens in the clear, while they do hold the session id
// and the provider subject (so that the dump is known to see the records).
func EncryptedAtRest(t *testing.T, store Backend, dump func(t *testing.T) []byte) {
	d := NewDeployment(t, store, 1)
	secrets, sessionID := d.Secrets(oauthlogintest.NewBrowser(), store)
	raw := dump(t)
	for _, want := range []string{sessionID, "user-1"} {
		if !bytes.Contains(raw, []byte(want)) {
			t.Fatalf("the dump lacks %q: it does not see the records (%d bytes)", want, len(raw))
		}
	}
	for i, s := range secrets {
		if len(s) < 16 {
			t.Fatalf("secret %d is too short to test: %q", i, s)
		}
		if bytes.Contains(raw, []byte(s)) {
			t.Errorf("secret %d (%s) is stored in the clear", i, []string{"session token", "provider access token", "provider refresh token"}[i])
		}
	}
}

// SeveralInstances runs two instances over store behind the front server:
// a login begun on one finishes on the other; a session made on one is
// valid on the other; a logout on one ends it everywhere; and 200
// concurrent refreshes split across both reach the provider once.
func SeveralInstances(t *testing.T, store Backend) {
	d := NewDeployment(t, store, 2)

	// Begin on A, callback on B: the flow state is in the sealed cookie.
	d.Route(func(r *http.Request) int {
		if strings.HasSuffix(r.URL.Path, "/callback") {
			return 1
		}
		return 0
	})
	b := oauthlogintest.NewBrowser()
	a0, b0 := d.Served(0), d.Served(1)
	d.Login(b)
	if d.Served(0) == a0 || d.Served(1) == b0 {
		t.Fatalf("the login did not cross instances: A served %d, B %d", d.Served(0)-a0, d.Served(1)-b0)
	}
	token := d.SessionToken(b)

	// Made on B (the callback), valid on A and B.
	var id string
	for i := range 2 {
		status, v := d.Do(i, "GET", "/auth/session", token)
		if status != http.StatusOK {
			t.Fatalf("instance %d: GET /auth/session = %d %v", i, status, v)
		}
		if id == "" {
			id, _ = v["id"].(string)
		} else if v["id"] != id {
			t.Fatalf("instance %d sees session %v, want %s", i, v["id"], id)
		}
	}
	// Logout on B ends it on A.
	if status, v := d.Do(1, "DELETE", "/auth/session", token); status != http.StatusNoContent {
		t.Fatalf("logout on B = %d %v", status, v)
	}
	if status, v := d.Do(0, "GET", "/auth/session", token); status != http.StatusUnauthorized {
		t.Fatalf("after logout on B, A answers %d %v, want 401", status, v)
	}

	// 200 concurrent refreshes of a session that is due, across A and B.
	d.Route(func(*http.Request) int { return 0 })
	d.IdP.Behave(oauthlogintest.Behavior{RotateRefreshTokens: true})
	d.IdP.SetAccessTokenTTL(time.Minute) // inside the refresh margin
	b = oauthlogintest.NewBrowser()
	d.Login(b)
	d.IdP.SetAccessTokenTTL(time.Hour)
	token = d.SessionToken(b)
	before := d.IdP.Hits("token")
	const n = 200
	var wg sync.WaitGroup
	var ok atomic.Int64
	start := make(chan struct{})
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: n}}
	defer client.CloseIdleConnections()
	for i := range n {
		wg.Go(func() {
			req, _ := http.NewRequest("POST", d.Inst[i%2].Server.URL+"/auth/refresh", nil)
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			req.AddCookie(&http.Cookie{Name: "oauthlogin_session", Value: token})
			<-start
			resp, err := client.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			var v map[string]any
			if resp.StatusCode == http.StatusOK && json.Unmarshal(body, &v) == nil && v["providerAccessToken"] != "" {
				ok.Add(1)
			} else {
				t.Errorf("refresh on instance %d = %d %s", i%2, resp.StatusCode, body)
			}
		})
	}
	close(start)
	wg.Wait()
	if ok.Load() != n {
		t.Fatalf("%d of %d refreshes succeeded", ok.Load(), n)
	}
	if got := d.IdP.Hits("token") - before; got != 1 {
		t.Fatalf("%d refresh requests reached the provider from two instances, want 1", got)
	}
	// The rotated token is the one held: a refresh on either works (the
	// race's, reused within its window, or one of its own), and the
	// provider honours the refresh token the session then carries.
	for i := range 2 {
		if status, v := d.Do(i, "POST", "/auth/refresh", token); status != http.StatusOK {
			t.Fatalf("refresh on instance %d after the race = %d %v", i, status, v)
		}
	}
	d.heldRefreshTokenWorks(store, token)
}

// heldRefreshTokenWorks redeems, at the provider itself, the refresh token
// that the session of token holds: a rotated-out one is refused.
func (d *Deployment) heldRefreshTokenWorks(store Backend, token string) {
	d.t.Helper()
	ctx := context.Background()
	status, v := d.Do(0, "GET", "/auth/session", token)
	if status != http.StatusOK {
		d.t.Fatalf("GET /auth/session = %d %v", status, v)
	}
	s, err := store.Session(ctx, v["id"].(string))
	if err != nil {
		d.t.Fatal(err)
	}
	tok, err := d.Inst[0].M.ProviderToken(s)
	if err != nil || tok == nil || tok.RefreshToken == "" {
		d.t.Fatalf("the session holds no refresh token: %v", err)
	}
	cfg := oauth2.Config{ClientID: d.IdP.ClientID, ClientSecret: d.IdP.ClientSecret, Endpoint: oauth2.Endpoint{TokenURL: d.IdP.URL + "/token", AuthStyle: oauth2.AuthStyleInHeader}}
	if _, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err != nil {
		d.t.Fatalf("the provider refuses the refresh token the session holds: %v", err)
	}
}

// Server is a store's server process that a test can stop and start again
// on the same address, with its data kept.
type Server interface {
	// Kill stops the server abruptly (a crash).
	Kill(t testing.TB)
	// Start starts it again and waits until it answers.
	Start(t testing.TB)
}

// Outage logs in through a Manager over store, takes the store's server
// away, checks that requests fail cleanly (503 store_unavailable, no panic,
// a login ends on the failure page with that code), brings the server back, and checks that
// service resumes with the acknowledged session and identity intact.
func Outage(t *testing.T, store Backend, srv Server) {
	d := NewDeployment(t, store, 1)
	b := oauthlogintest.NewBrowser()
	d.Login(b)
	token := d.SessionToken(b)
	status, before := d.Do(0, "GET", "/auth/session", token)
	if status != http.StatusOK {
		t.Fatalf("GET /auth/session = %d %v", status, before)
	}

	srv.Kill(t)
	for _, path := range []string{"/auth/session", "/auth/sessions", "/auth/identities"} {
		status, v := d.Do(0, "GET", path, token)
		if status != http.StatusServiceUnavailable || v == nil || v["error"] != oauthlogin.ErrStoreUnavailable.Code() {
			t.Errorf("GET %s with the store down = %d %v, want 503 store_unavailable", path, status, v)
		}
	}
	if status, v := d.Do(0, "POST", "/auth/refresh", token); status != http.StatusServiceUnavailable || v == nil || v["error"] != oauthlogin.ErrStoreUnavailable.Code() {
		t.Errorf("POST /auth/refresh with the store down = %d %v, want 503 store_unavailable", status, v)
	}
	page := d.TryLogin(oauthlogintest.NewBrowser())
	if page.URL.Path != "/failed" || page.URL.Query().Get("error") != oauthlogin.ErrStoreUnavailable.Code() {
		t.Errorf("a login with the store down ended at %s (%d), want /failed?error=store_unavailable", page.URL, page.Status)
	}

	srv.Start(t)
	// The pools reconnect on their own; allow them a few seconds.
	deadline := time.Now().Add(15 * time.Second)
	var v map[string]any
	for {
		status, v = d.Do(0, "GET", "/auth/session", token)
		if status == http.StatusOK || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if status != http.StatusOK || v["id"] != before["id"] || v["providerAccessToken"] != before["providerAccessToken"] {
		t.Fatalf("after the server came back: GET /auth/session = %d %v, want the session from before %v", status, v, before)
	}
	if status, v := d.Do(0, "POST", "/auth/refresh", token); status != http.StatusOK {
		t.Fatalf("refresh after the server came back = %d %v", status, v)
	}
	if status, v := d.Do(0, "GET", "/auth/identities", token); status != http.StatusOK || v["total"] != float64(1) {
		t.Fatalf("identities after the server came back = %d %v", status, v)
	}
	d.Login(oauthlogintest.NewBrowser())
}
