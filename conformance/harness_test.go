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
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
	"github.com/oauthlogin/oauthlogin/providers"
)

// harness is a host app with oauthlogin mounted at /auth/, a fake OpenID
// provider registered as "test", and the app's /done and /failed pages.
type harness struct {
	t     testing.TB
	idp   *oauthlogintest.Server
	app   *httptest.Server
	m     *oauthlogin.Manager
	cfg   oauthlogin.Config
	store *countingStore
	log   *captureLog
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
	h := &harness{t: t, idp: oauthlogintest.NewServer(), store: newCountingStore(), log: newCaptureLog(), tr: &http.Transport{}}
	t.Cleanup(h.idp.Close)
	t.Cleanup(h.log.check(t)) // runs last, after the app has stopped
	t.Cleanup(h.tr.CloseIdleConnections)
	if st.secret != "" {
		h.idp.SetClientSecret(st.secret)
	}
	h.app = httptest.NewUnstartedServer(nil)
	cfg := oauthlogin.Config{
		BaseURL: "http://" + h.app.Listener.Addr().String(),
		Keys:    oauthlogin.Keys{Cookie: []oauthlogin.CookieKey{oauthlogin.GenerateCookieKey()}},
		Store:   h.store,
		// The tests read the provider access token from the session JSON.
		Sessions:   oauthlogin.SessionOptions{ExposeProviderAccessToken: true},
		HTTPClient: &http.Client{Timeout: st.timeout, Transport: h.tr},
		Logger:     slog.New(h.log),
	}
	for _, e := range st.cfg {
		e(&cfg)
	}
	m, err := oauthlogin.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.m, h.cfg = m, cfg
	h.behave(st.discovery)
	pc := st.provider
	if pc.HTTPClient == nil {
		pc.HTTPClient = &http.Client{Timeout: st.timeout, Transport: h.tr}
	}
	h.register(m, h.idp, "test", pc)
	h.pc = pc
	h.behave(oauthlogintest.Behavior{})
	mux := http.NewServeMux()
	mux.Handle("/auth/", m.Handler())
	mux.HandleFunc("GET /done", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "done") })
	mux.HandleFunc("GET /failed", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "failed") })
	h.app.Config.Handler = h.watch(mux)
	h.app.Start()
	t.Cleanup(h.app.Close)
	return h
}

// register adds idp to m as provider name, with the fake's client.
func (h *harness) register(m *oauthlogin.Manager, idp *oauthlogintest.Server, name string, pc providers.Config) *providers.OIDCProvider {
	h.t.Helper()
	pc.ClientID, pc.ClientSecret = idp.ClientID, idp.ClientSecret
	h.log.secret(idp.ClientSecret)
	p, err := providers.OIDC(context.Background(), name, idp.URL, pc)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := m.Register(p); err != nil {
		h.t.Fatal(err)
	}
	return p
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

// watch wraps the app: it collects the secrets in requests and responses,
// counts session cookies set and keeps the last callback request.
func (h *harness) watch(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, k := range []string{"state", "code"} {
			h.log.secret(r.URL.Query()[k]...)
		}
		for _, c := range r.Cookies() {
			h.log.secret(c.Value)
		}
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
			h.log.secret(c.Value)
			if strings.Contains(c.Name, "session") && c.Value != "" {
				h.mu.Lock()
				h.sessionSet++
				h.mu.Unlock()
			}
		}
	})
}

func (h *harness) beginURL(provider string, extra ...string) string {
	q := url.Values{"success": {h.app.URL + "/done"}, "failure": {h.app.URL + "/failed"}}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	return h.app.URL + "/auth/" + provider + "?" + q.Encode()
}

// login runs a whole login with the "test" provider in b.
func (h *harness) login(b *oauthlogintest.Browser, extra ...string) *oauthlogintest.Page {
	h.t.Helper()
	return h.visit(b, h.beginURL("test", extra...))
}

func (h *harness) visit(b *oauthlogintest.Browser, u string) *oauthlogintest.Page {
	h.t.Helper()
	page, err := b.Visit(context.Background(), u, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	return page
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
	if page.URL.Path != "/done" || page.Status != http.StatusOK {
		h.t.Fatalf("login ended at %s (%d): %s", page.URL, page.Status, page.Body)
	}
	s, status := h.session(b)
	if status != http.StatusOK {
		h.t.Fatalf("no session after a successful login: %d %v", status, s)
	}
	return s
}

// session fetches GET /auth/session for b.
func (h *harness) session(b *oauthlogintest.Browser) (map[string]any, int) {
	h.t.Helper()
	resp := h.do(b, "GET", "/auth/session", nil)
	var v map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		h.t.Fatalf("session body: %v", err)
	}
	if tok, ok := v["providerAccessToken"].(string); ok {
		h.log.secret(tok)
	}
	return v, resp.StatusCode
}

// do sends a request from b (with its cookies) to the app, unfollowed.
func (h *harness) do(b *oauthlogintest.Browser, method, path string, body io.Reader, header ...string) *http.Response {
	h.t.Helper()
	req, err := http.NewRequest(method, h.app.URL+path, body)
	if err != nil {
		h.t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	c := *b.Client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { resp.Body.Close() })
	return resp
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
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
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

// captureLog is a slog.Handler that keeps every record, formatted, and the
// secrets seen in the test; when the test ends it fails it if a record
// holds one.
type captureLog struct {
	text slog.Handler
	*logState
}

type logState struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	records int
	secrets map[string]bool
}

func newCaptureLog() *captureLog {
	st := &logState{secrets: make(map[string]bool)}
	return &captureLog{text: slog.NewTextHandler(lockedWriter{st}, &slog.HandlerOptions{Level: slog.LevelDebug}), logState: st}
}

type lockedWriter struct{ st *logState }

func (w lockedWriter) Write(p []byte) (int, error) { return w.st.buf.Write(p) }

func (l *captureLog) Enabled(context.Context, slog.Level) bool { return true }

func (l *captureLog) Handle(ctx context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.records++
	return l.text.Handle(ctx, r)
}

func (l *captureLog) WithAttrs(as []slog.Attr) slog.Handler {
	return &captureLog{text: l.text.WithAttrs(as), logState: l.logState}
}

func (l *captureLog) WithGroup(name string) slog.Handler {
	return &captureLog{text: l.text.WithGroup(name), logState: l.logState}
}

// secret records values that must never be logged. Values under 8 bytes
// would match by chance and are not secrets anyway.
func (l *captureLog) secret(vs ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, v := range vs {
		if len(v) >= 8 {
			l.secrets[v] = true
		}
	}
}

// count returns the number of records logged.
func (l *captureLog) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.records
}

// contains reports whether a log record holds s.
func (l *captureLog) contains(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Contains(l.buf.String(), s)
}

// check returns the end-of-test check.
func (l *captureLog) check(t testing.TB) func() {
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		logs := l.buf.String()
		for s := range l.secrets {
			if strings.Contains(logs, s) {
				t.Errorf("a secret reached the log: %.80q in\n%.2000s", s, logs)
			}
		}
		recordsSeen.add(l.records)
	}
}

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
