package oauthlogin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
	"github.com/oauthlogin/oauthlogin/providers"
)

// harness is a host app with oauthlogin mounted at /auth/, a fake provider
// registered as "test", and the app's own /done and /failed pages.
type harness struct {
	t     testing.TB
	idp   *oauthlogintest.Server
	app   *httptest.Server
	m     *oauthlogin.Manager
	store *oauthlogin.MemoryStore
	prov  *providers.OIDCProvider
	logs  *secretLog
	cfg   oauthlogin.Config
	clock *testClock // the Managers' clock: the real one until a test moves it
}

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
	h := &harness{t: t, idp: oauthlogintest.NewServer(), store: oauthlogin.NewMemoryStore(), logs: &secretLog{}, clock: &testClock{}}
	t.Cleanup(h.idp.Close)
	t.Cleanup(h.logs.check(t)) // runs last: after the app has stopped
	h.app = httptest.NewUnstartedServer(nil)
	cfg := oauthlogin.Config{
		BaseURL: "http://" + h.app.Listener.Addr().String(),
		Keys:    oauthlogin.Keys{Cookie: []oauthlogin.CookieKey{oauthlogin.GenerateCookieKey()}},
		Store:   h.store,
		// The tests read the provider access token from the session JSON.
		Sessions: oauthlogin.SessionOptions{ExposeProviderAccessToken: true},
		Logger:   slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, e := range edit {
		e(&cfg)
	}
	m, err := oauthlogin.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	oauthlogin.SetClock(m, h.clock.now)
	h.m, h.cfg = m, cfg
	h.prov = h.register("test", providers.Config{AllowedScopes: []string{"repo", "calendar"}})
	mux := http.NewServeMux()
	mux.Handle("/auth/", m.Handler())
	mux.HandleFunc("GET /done", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "done") })
	mux.HandleFunc("GET /failed", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "failed") })
	mux.Handle("GET /private", m.RequireSession(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := oauthlogin.SessionFromContext(r.Context())
		io.WriteString(w, s.UserID)
	})))
	h.app.Config.Handler = h.logs.watch(mux)
	h.app.Start()
	t.Cleanup(h.app.Close)
	return h
}

// twin returns a second Manager with the same configuration and store, as
// another instance of the app would have, with the "test" provider.
func (h *harness) twin() *oauthlogin.Manager {
	h.t.Helper()
	m, err := oauthlogin.New(h.cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	oauthlogin.SetClock(m, h.clock.now)
	p, err := providers.OIDC(context.Background(), "test", h.idp.URL, providers.Config{ClientID: h.idp.ClientID, ClientSecret: h.idp.ClientSecret})
	if err != nil {
		h.t.Fatal(err)
	}
	if err := m.Register(p); err != nil {
		h.t.Fatal(err)
	}
	return m
}

// register adds the fake provider under another name.
func (h *harness) register(name string, pc providers.Config) *providers.OIDCProvider {
	h.t.Helper()
	pc.ClientID, pc.ClientSecret = h.idp.ClientID, h.idp.ClientSecret
	h.logs.secret(h.idp.ClientSecret)
	p, err := providers.OIDC(context.Background(), name, h.idp.URL, pc)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := h.m.Register(p); err != nil {
		h.t.Fatal(err)
	}
	return p
}

func (h *harness) beginURL(provider string, extra ...string) string {
	q := url.Values{"success": {h.app.URL + "/done"}, "failure": {h.app.URL + "/failed"}}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Add(extra[i], extra[i+1])
	}
	return h.app.URL + "/auth/" + provider + "?" + q.Encode()
}

// login runs a whole login in b and returns the page it ends on.
func (h *harness) login(b *oauthlogintest.Browser, extra ...string) *oauthlogintest.Page {
	h.t.Helper()
	page, err := b.Visit(context.Background(), h.beginURL("test", extra...), nil)
	if err != nil {
		h.t.Fatal(err)
	}
	return page
}

// mustSucceed checks that a login ended on the success page.
func (h *harness) mustSucceed(page *oauthlogintest.Page) {
	h.t.Helper()
	if page.URL.Path != "/done" || page.Status != http.StatusOK {
		h.t.Fatalf("login ended at %s (%d): %s", page.URL, page.Status, page.Body)
	}
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
	req, err := http.NewRequest(method, h.app.URL+path, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := b.Client.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// session fetches GET /auth/session for b: the JSON and the status.
func (h *harness) session(b *oauthlogintest.Browser) (map[string]any, int) {
	h.t.Helper()
	resp := h.do(b, "GET", "/auth/session")
	var v map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		h.t.Fatalf("session body: %v", err)
	}
	if tok, ok := v["providerAccessToken"].(string); ok {
		h.logs.secret(tok)
	}
	return v, resp.StatusCode
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
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func decode(t *testing.T, resp *http.Response, v any) {
	t.Helper()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("%s: %v", resp.Request.URL, err)
	}
}

// secretLog is the Manager's log in tests. It collects the secrets that
// pass through the app (state, code, cookie values, provider tokens, the
// client secret) and, when the test ends, fails it if any log record holds
// one of them.
type secretLog struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	secrets map[string]bool
}

func (l *secretLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *secretLog) secret(v string) {
	if len(v) < 8 { // too short to be a secret, and would match by chance
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.secrets == nil {
		l.secrets = make(map[string]bool)
	}
	l.secrets[v] = true
}

// watch wraps the app to collect the secrets in its requests and responses.
func (l *secretLog) watch(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, k := range []string{"state", "code"} {
			for _, v := range r.URL.Query()[k] {
				l.secret(v)
			}
		}
		for _, c := range r.Cookies() {
			l.secret(c.Value)
		}
		next.ServeHTTP(w, r)
		for _, sc := range w.Header().Values("Set-Cookie") {
			if c, err := http.ParseSetCookie(sc); err == nil {
				l.secret(c.Value)
			}
		}
	})
}

func (l *secretLog) check(t testing.TB) func() {
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		logs := l.buf.String()
		for s := range l.secrets {
			if strings.Contains(logs, s) {
				t.Errorf("a secret reached the log: %q in\n%s", s, logs)
			}
		}
	}
}
