// Package conformance_test is the security conformance suite of oauthlogin:
// a hostile provider (oauthlogintest scripted to misbehave) and a hostile
// browser (forged, copied and swapped cookies and callbacks) against a
// host app with oauthlogin mounted. Every case checks the outcome, not
// only that an error happened: no session, nothing written to the store,
// the login attempt spent, and no request to the endpoints past the
// failure. SECURITY.md at the module root maps each defence to its test.
package conformance_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/internal/testapp"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
	"github.com/oauthlogin/oauthlogin/providers"
)

// harness is the shared test app (internal/testapp) over a store that
// counts its writes, with the suite's own spies: on the provider (every
// secret passing through it is one the log must not hold) and on the app
// (session cookies set, the longest Set-Cookie, the last callback).
type harness struct {
	t     testing.TB
	a     *testapp.App
	idp   *oauthlogintest.Server
	app   *httptest.Server
	m     *oauthlogin.Manager
	cfg   oauthlogin.Config
	store *countingStore
	log   captureLog
	pc    providers.Config // of "test", as registered
	tr    *http.Transport  // of the Manager's and the providers' clients

	mu         sync.Mutex
	behavior   oauthlogintest.Behavior
	sessionSet int         // responses that set a session cookie with a value
	maxCookie  int         // the longest Set-Cookie header the app sent
	lastCB     *callbackRq // the last callback request the app received
}

// callbackRq is a callback request as the app received it, to replay.
type callbackRq struct {
	url     string
	cookies []*http.Cookie
}

// setup adjusts a harness before its Manager and provider are made.
type setup struct {
	cfg       []func(*oauthlogin.Config)
	provider  providers.Config
	discovery oauthlogintest.Behavior // in force while the provider reads discovery
	secret    string                  // a client secret to use instead of the fake's
	timeout   time.Duration           // HTTP client timeouts of the Manager and provider
}

type option func(*setup)

func withConfig(f func(*oauthlogin.Config)) option {
	return func(s *setup) { s.cfg = append(s.cfg, f) }
}

func withDiscovery(b oauthlogintest.Behavior) option { return func(s *setup) { s.discovery = b } }

func withSecret(secret string) option { return func(s *setup) { s.secret = secret } }

// withTimeout sets both HTTP clients' timeouts, for providers that never
// answer: the test then ends in that time, without sleeping.
func withTimeout(d time.Duration) option { return func(s *setup) { s.timeout = d } }

// newHarness starts a fake provider and an app.
func newHarness(t testing.TB, opts ...option) *harness {
	t.Helper()
	st := setup{timeout: 5 * time.Second}
	for _, o := range opts {
		o(&st)
	}
	h := &harness{t: t, store: newCountingStore(), tr: &http.Transport{}}
	h.a = testapp.New(t, h.store)
	h.idp, h.app, h.log = h.a.IdP, h.a.Server, captureLog{h.a.Log}
	t.Cleanup(func() { recordsSeen.add(h.log.Count()) }) // after the app has stopped
	t.Cleanup(h.tr.CloseIdleConnections)
	if st.secret != "" {
		h.idp.SetClientSecret(st.secret)
	}
	h.a.Config.HTTPClient = &http.Client{Timeout: st.timeout, Transport: h.tr}
	for _, e := range st.cfg {
		e(&h.a.Config)
	}
	h.m, h.cfg = h.a.NewManager(), h.a.Config
	h.behave(st.discovery)
	pc := st.provider
	if pc.HTTPClient == nil {
		pc.HTTPClient = &http.Client{Timeout: st.timeout, Transport: h.tr}
	}
	h.register(h.m, h.idp, "test", pc)
	h.pc = pc
	h.behave(oauthlogintest.Behavior{})
	h.a.Start(h.watch(testapp.Mux(h.m)))
	return h
}

// register adds idp to m as provider name, with the fake's client.
func (h *harness) register(m *oauthlogin.Manager, idp *oauthlogintest.Server, name string, pc providers.Config) *providers.OIDCProvider {
	h.t.Helper()
	return h.a.Register(m, idp, name, pc)
}

// addIDP starts a second fake provider and registers it as name.
func (h *harness) addIDP(name string) *oauthlogintest.Server {
	h.t.Helper()
	idp := oauthlogintest.NewServer()
	h.t.Cleanup(idp.Close)
	idp.Behave(h.spyBehavior(oauthlogintest.Behavior{}))
	h.register(h.m, idp, name, providers.Config{HTTPClient: &http.Client{Timeout: 5 * time.Second, Transport: h.tr}})
	return idp
}

// behave scripts the fake provider with b, plus the harness's own spies
// that collect every secret passing through it for the log check.
func (h *harness) behave(b oauthlogintest.Behavior) {
	h.mu.Lock()
	h.behavior = b
	h.mu.Unlock()
	h.idp.Behave(h.spyBehavior(b))
}

// spyBehavior returns b with the secret-collecting interceptors in front of
// the authorization and token endpoints (around b's own).
func (h *harness) spyBehavior(b oauthlogintest.Behavior) oauthlogintest.Behavior {
	intercept := map[string]func(http.Handler) http.Handler{}
	for k, v := range b.Intercept {
		intercept[k] = v
	}
	for endpoint, spy := range map[string]func(http.Handler) http.Handler{"authorize": h.spyAuthorize, "token": h.spyToken} {
		own := intercept[endpoint]
		intercept[endpoint] = func(next http.Handler) http.Handler {
			if own != nil {
				next = own(next)
			}
			return spy(next)
		}
	}
	b.Intercept = intercept
	return b
}

func (h *harness) spyAuthorize(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		h.log.secret(q.Get("state"), q.Get("nonce"), q.Get("code_challenge"))
		next.ServeHTTP(w, r)
	})
}

func (h *harness) spyToken(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 4<<20))
		r.Body = io.NopCloser(bytes.NewReader(body))
		if form, err := url.ParseQuery(string(body)); err == nil {
			h.log.secret(form.Get("code"), form.Get("code_verifier"), form.Get("refresh_token"), form.Get("client_secret"))
		}
		if _, secret, ok := r.BasicAuth(); ok {
			s, _ := url.QueryUnescape(secret)
			h.log.secret(secret, s)
		}
		rec := &capturingWriter{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		var resp struct {
			Access  string `json:"access_token"`
			Refresh string `json:"refresh_token"`
			ID      string `json:"id_token"`
		}
		if json.Unmarshal(rec.body.Bytes(), &resp) == nil {
			h.log.secret(resp.Access, resp.Refresh, resp.ID)
		}
	})
}

// capturingWriter keeps the first 64 KiB of a response body.
type capturingWriter struct {
	http.ResponseWriter
	body bytes.Buffer
}

func (c *capturingWriter) Write(p []byte) (int, error) {
	if room := 64<<10 - c.body.Len(); room > 0 {
		c.body.Write(p[:min(len(p), room)])
	}
	return c.ResponseWriter.Write(p)
}

func (c *capturingWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// watch wraps the app (inside the log's own Watch, which collects the
// secrets in requests and responses): it counts session cookies set and
// keeps the last callback request.
func (h *harness) watch(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/callback") {
			h.mu.Lock()
			h.lastCB = &callbackRq{url: "http://" + r.Host + r.URL.RequestURI(), cookies: r.Cookies()}
			h.mu.Unlock()
		}
		next.ServeHTTP(w, r)
		for _, sc := range w.Header().Values("Set-Cookie") {
			h.mu.Lock()
			h.maxCookie = max(h.maxCookie, len(sc))
			h.mu.Unlock()
			c, err := http.ParseSetCookie(sc)
			if err != nil {
				continue
			}
			if strings.Contains(c.Name, "session") && c.Value != "" {
				h.mu.Lock()
				h.sessionSet++
				h.mu.Unlock()
			}
		}
	})
}

func (h *harness) beginURL(provider string, extra ...string) string {
	return h.a.BeginURL(provider, extra...)
}

// login runs a whole login with the "test" provider in b.
func (h *harness) login(b *oauthlogintest.Browser, extra ...string) *oauthlogintest.Page {
	h.t.Helper()
	return h.a.Login(b, extra...)
}

func (h *harness) visit(b *oauthlogintest.Browser, u string) *oauthlogintest.Page {
	h.t.Helper()
	return testapp.Visit(context.Background(), h.t, b, u)
}

// toCallback runs a login up to the callback and returns the callback URL
// the provider sent the browser to, not yet visited.
func (h *harness) toCallback(b *oauthlogintest.Browser, provider string, extra ...string) *url.URL {
	h.t.Helper()
	page, err := b.Visit(context.Background(), h.beginURL(provider, extra...), func(u *url.URL) bool {
		return strings.HasSuffix(u.Path, "/callback")
	})
	if err != nil || page.Location == nil {
		h.t.Fatalf("did not reach the callback: %v (%d %s)", err, page.Status, page.Body)
	}
	return page.Location
}

// mustSucceed checks that a login ended on the success page with a session.
func (h *harness) mustSucceed(b *oauthlogintest.Browser, page *oauthlogintest.Page) map[string]any {
	h.t.Helper()
	testapp.MustSucceed(h.t, page)
	s, status := h.session(b)
	if status != http.StatusOK {
		h.t.Fatalf("no session after a successful login: %d %v", status, s)
	}
	return s
}

// session fetches GET /auth/session for b.
func (h *harness) session(b *oauthlogintest.Browser) (map[string]any, int) {
	h.t.Helper()
	return h.a.Session(b)
}

// do sends a request from b (with its cookies) to the app, unfollowed.
func (h *harness) do(b *oauthlogintest.Browser, method, path string, body io.Reader, header ...string) *http.Response {
	h.t.Helper()
	c := *b.Client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return h.a.Do(&c, method, path, body, header...)
}

// refused checks everything a refused login leaves behind: the failure page
// with code and nothing else; no session for b (GET /auth/session 401, no
// session cookie ever set); nothing written to the store; the flow cookie
// cleared, unless the callback named no flow (state missing or matching
// none), which ends none (browser_test.go); and the login attempt spent: the same callback replayed from
// another browser with the same cookies fails too, with state_replayed
// once the state was spent, and redeems nothing.
func (h *harness) refused(b *oauthlogintest.Browser, page *oauthlogintest.Page, code string) {
	h.t.Helper()
	if page.URL.Path != "/failed" {
		h.t.Fatalf("login ended at %s (%d), want /failed?error=%s: %.300s", page.URL, page.Status, code, page.Body)
	}
	if got := page.URL.Query().Get("error"); got != code || len(page.URL.Query()) != 1 {
		h.t.Fatalf("failure URL %s, want only error=%s", page.URL, code)
	}
	h.noSession(b)
	switch code {
	case "state_missing", "state_mismatch":
		h.flowKept(b) // a callback that names no flow of b's ends none
	default:
		h.flowCleared(b)
	}
	h.replayRefused(code)
}

// noSession checks that b is signed out and that nothing was written.
func (h *harness) noSession(b *oauthlogintest.Browser) {
	h.t.Helper()
	if v, status := h.session(b); status != http.StatusUnauthorized || v["error"] != oauthlogin.ErrNoSession.Code() {
		h.t.Fatalf("GET /auth/session = %d %v, want 401 no_session", status, v)
	}
	h.mu.Lock()
	set := h.sessionSet
	h.mu.Unlock()
	if set != 0 {
		h.t.Fatalf("%d session cookies were set", set)
	}
	if w := h.store.writes(); w != "" {
		h.t.Fatalf("the store was written: %s", w)
	}
}

// flowCleared checks that b holds no flow cookie.
func (h *harness) flowCleared(b *oauthlogintest.Browser) {
	h.t.Helper()
	for _, c := range b.Client.Jar.Cookies(mustParse(h.t, h.app.URL+"/auth/test/callback")) {
		if strings.Contains(c.Name, "flow") {
			h.t.Fatalf("flow cookie %s left behind", c.Name)
		}
	}
}

// replayRefused replays the last callback request, cookies included,
// from a fresh browser.
func (h *harness) replayRefused(code string) {
	h.t.Helper()
	h.mu.Lock()
	cb := h.lastCB
	h.mu.Unlock()
	if cb == nil {
		h.t.Fatal("no callback request to replay")
	}
	tokens := h.idp.Hits("token")
	attacker := oauthlogintest.NewBrowser()
	u := mustParse(h.t, cb.url)
	attacker.Client.Jar.SetCookies(u, cb.cookies)
	page := h.visit(attacker, cb.url)
	want := "state_replayed"
	switch code {
	case "state_missing", "state_mismatch", "flow_expired", "provider_mismatch":
		want = code // refused before the state was spent: refused the same way again
	}
	if page.URL.Path == "/failed" {
		if got := page.URL.Query().Get("error"); got != want {
			h.t.Fatalf("replayed callback: error=%s, want %s", got, want)
		}
	} else if page.Status != http.StatusBadRequest {
		h.t.Fatalf("replayed callback ended at %s (%d)", page.URL, page.Status)
	}
	if h.idp.Hits("token") != tokens {
		h.t.Fatal("a replayed callback reached the token endpoint")
	}
	if v, status := h.session(attacker); status != http.StatusUnauthorized {
		h.t.Fatalf("a replayed callback made a session: %v", v)
	}
}

// hits checks the endpoint counts: a bad callback never reaches the token
// endpoint, a bad token response never reaches userinfo.
func (h *harness) hits(endpoint string, want int) {
	h.t.Helper()
	if got := h.idp.Hits(endpoint); got != want {
		h.t.Fatalf("%s endpoint: %d requests, want %d", endpoint, got, want)
	}
}

// serve sends one request straight to m's handler, with cookies.
func serve(m *oauthlogin.Manager, method, target string, cookies []*http.Cookie, header ...string) *http.Response {
	req := httptest.NewRequest(method, target, nil)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	m.Handler().ServeHTTP(w, req)
	return w.Result()
}

func mustParse(t testing.TB, raw string) *url.URL {
	t.Helper()
	return testapp.MustParse(t, raw)
}

// countingStore is a MemoryStore that counts the writes that make users,
// identities and sessions.
type countingStore struct {
	*oauthlogin.MemoryStore
	mu       sync.Mutex
	sessions int
	created  int
	updated  int
}

func newCountingStore() *countingStore {
	return &countingStore{MemoryStore: oauthlogin.NewMemoryStore()}
}

func (s *countingStore) SaveSession(ctx context.Context, v *oauthlogin.Session) error {
	s.mu.Lock()
	s.sessions++
	s.mu.Unlock()
	return s.MemoryStore.SaveSession(ctx, v)
}

func (s *countingStore) CreateIdentity(ctx context.Context, v *oauthlogin.Identity) error {
	s.mu.Lock()
	s.created++
	s.mu.Unlock()
	return s.MemoryStore.CreateIdentity(ctx, v)
}

func (s *countingStore) UpdateIdentity(ctx context.Context, v *oauthlogin.Identity) error {
	s.mu.Lock()
	s.updated++
	s.mu.Unlock()
	return s.MemoryStore.UpdateIdentity(ctx, v)
}

// writes describes the writes so far, "" for none.
func (s *countingStore) writes() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sessions+s.created+s.updated == 0 {
		return ""
	}
	return strings.Join([]string{
		"sessions saved: " + strconv.Itoa(s.sessions),
		"identities created: " + strconv.Itoa(s.created),
		"identities updated: " + strconv.Itoa(s.updated),
	}, ", ")
}

// captureLog is the shared test log under the names the suite uses.
type captureLog struct{ *testapp.Log }

// secret records values that must never be logged.
func (l captureLog) secret(vs ...string) { l.Secret(vs...) }

// count returns the number of records logged.
func (l captureLog) count() int { return l.Count() }

// contains reports whether a log record holds s.
func (l captureLog) contains(s string) bool { return l.Contains(s) }

// recordsSeen counts log records over the whole suite, so that the secret
// check is known not to be vacuous (see TestSecretHygiene).
var recordsSeen counter

type counter struct {
	mu sync.Mutex
	n  int
}

func (c *counter) add(n int) {
	c.mu.Lock()
	c.n += n
	c.mu.Unlock()
}
