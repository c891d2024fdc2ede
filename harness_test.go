package oauthlogin_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/internal/testapp"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
	"github.com/oauthlogin/oauthlogin/providers"
)

// harness is the shared test app (internal/testapp) over a memory store,
// with the Managers' clock under the test's control and a /private page
// behind RequireSession.
type harness struct {
	t     testing.TB
	a     *testapp.App
	idp   *oauthlogintest.Server
	app   *httptest.Server
	m     *oauthlogin.Manager
	store *oauthlogin.MemoryStore
	prov  *providers.OIDCProvider
	logs  secretLog
	cfg   oauthlogin.Config
	clock *testClock // the Managers' clock: the real one until a test moves it
}

// secretLog is the shared test log under the name the tests use.
type secretLog struct{ *testapp.Log }

// secret records v as a value the log must never hold.
func (l secretLog) secret(v string) { l.Secret(v) }

// testClock is the real clock moved ahead by a test, or stopped.
type testClock struct {
	mu      sync.Mutex
	stopped time.Time
	ahead   time.Duration
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.stopped.IsZero() {
		return c.stopped
	}
	return time.Now().Add(c.ahead)
}

// stop stops the clock where it is: from now on only advance moves it.
func (c *testClock) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopped = time.Now().Add(c.ahead)
}

// advance moves the clock d ahead.
func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped.IsZero() {
		c.ahead += d
	} else {
		c.stopped = c.stopped.Add(d)
	}
}

// pastRefreshReuse moves the clock past the time within which a finished
// refresh is reused, so that the next refresh asks the provider.
func (h *harness) pastRefreshReuse() { h.clock.advance(oauthlogin.RefreshReuse + time.Second) }

// newHarness starts a fake provider and an app; edit adjusts the Config.
func newHarness(t testing.TB, edit ...func(*oauthlogin.Config)) *harness {
	t.Helper()
	h := &harness{t: t, store: oauthlogin.NewMemoryStore(), clock: &testClock{}}
	h.a = testapp.New(t, h.store)
	h.idp, h.app, h.logs = h.a.IdP, h.a.Server, secretLog{h.a.Log}
	for _, e := range edit {
		e(&h.a.Config)
	}
	h.m, h.cfg = h.a.NewManager(), h.a.Config
	oauthlogin.SetClock(h.m, h.clock.now)
	h.prov = h.register("test", providers.Config{AllowedScopes: []string{"repo", "calendar"}})
	mux := testapp.Mux(h.m)
	mux.Handle("GET /private", h.m.RequireSession(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := oauthlogin.SessionFromContext(r.Context())
		io.WriteString(w, s.UserID)
	})))
	h.a.Start(mux)
	return h
}

// twin returns a second Manager with the same configuration and store, as
// another instance of the app would have, with the "test" provider.
func (h *harness) twin() *oauthlogin.Manager {
	h.t.Helper()
	m := h.a.NewManager()
	oauthlogin.SetClock(m, h.clock.now)
	testapp.Register(h.t, m, h.idp, "test", providers.Config{})
	return m
}

// register adds the fake provider under another name.
func (h *harness) register(name string, pc providers.Config) *providers.OIDCProvider {
	h.t.Helper()
	return h.a.Register(h.m, h.idp, name, pc)
}

func (h *harness) beginURL(provider string, extra ...string) string {
	return h.a.BeginURL(provider, extra...)
}

// login runs a whole login in b and returns the page it ends on.
func (h *harness) login(b *oauthlogintest.Browser, extra ...string) *oauthlogintest.Page {
	h.t.Helper()
	return h.a.Login(b, extra...)
}

// mustSucceed checks that a login ended on the success page.
func (h *harness) mustSucceed(page *oauthlogintest.Page) {
	h.t.Helper()
	testapp.MustSucceed(h.t, page)
}

// mustFail checks that a login ended on the failure page with code.
func (h *harness) mustFail(page *oauthlogintest.Page, code string) {
	h.t.Helper()
	if page.URL.Path != "/failed" {
		h.t.Fatalf("login ended at %s (%d), want /failed?error=%s: %s", page.URL, page.Status, code, page.Body)
	}
	if got := page.URL.Query().Get("error"); got != code {
		h.t.Fatalf("error = %q, want %q", got, code)
	}
	if len(page.URL.Query()) != 1 {
		h.t.Fatalf("failure URL carries more than the code: %s", page.URL)
	}
}

// do sends a request from browser b (its cookies) to the app.
func (h *harness) do(b *oauthlogintest.Browser, method, path string, header ...string) *http.Response {
	h.t.Helper()
	return h.a.Do(b.Client, method, path, nil, header...)
}

// session fetches GET /auth/session for b: the JSON and the status.
func (h *harness) session(b *oauthlogintest.Browser) (map[string]any, int) {
	h.t.Helper()
	return h.a.Session(b)
}

// mustHaveNoSession checks that b is signed out and that the fake account
// has no identity.
func (h *harness) mustHaveNoSession(b *oauthlogintest.Browser) {
	h.t.Helper()
	if v, status := h.session(b); status != http.StatusUnauthorized || v["error"] != oauthlogin.ErrNoSession.Code() {
		h.t.Fatalf("GET /auth/session = %d %v, want 401 no_session", status, v)
	}
	if _, err := h.store.Identity(context.Background(), h.idp.URL, "user-1"); !errors.Is(err, oauthlogin.ErrNotFound) {
		h.t.Fatalf("an identity was stored: %v", err)
	}
	for _, c := range b.Client.Jar.Cookies(mustParse(h.t, h.app.URL)) {
		if strings.Contains(c.Name, "session") {
			h.t.Fatalf("a session cookie was set: %s", c.Name)
		}
	}
}

func mustParse(t testing.TB, raw string) *url.URL {
	t.Helper()
	return testapp.MustParse(t, raw)
}

func decode(t *testing.T, resp *http.Response, v any) {
	t.Helper()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("%s: %v", resp.Request.URL, err)
	}
}
