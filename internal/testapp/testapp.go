// Package testapp is the host app the oauthlogin tests log in through,
// shared by the root package's tests, the conformance suite and the store
// scenarios: an oauthlogin.Manager mounted at /auth/, the fake OpenID
// provider of oauthlogintest registered as "test", the app's own /done and
// /failed pages, a log that fails the test when a secret reaches it, and
// the helpers that begin a login, run one in a browser, fetch the session
// and send a request. Each suite keeps only its own specialities on top.
package testapp

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
	"github.com/oauthlogin/oauthlogin/providers"
)

// App is a host app: the fake provider, the app's server (unstarted until
// Start) and the Config its Managers are made from.
type App struct {
	T      testing.TB
	IdP    *oauthlogintest.Server
	Server *httptest.Server
	URL    string // the app's base URL, known before Start
	Log    *Log
	Config oauthlogin.Config
	M      *oauthlogin.Manager // the first Manager NewManager made
}

// New starts a fake provider and makes the app's server, not yet started,
// and its Config: BaseURL the server's address, a fresh cookie key, store,
// the provider access token exposed in the session JSON (the tests read
// it) and Log as the logger. The caller edits a.Config, calls NewManager
// and Register, then Start. When the test ends, after the app has
// stopped, the log is checked for secrets.
func New(t testing.TB, store oauthlogin.Store) *App {
	t.Helper()
	a := &App{T: t, IdP: NewIdP(t), Log: NewLog()}
	t.Cleanup(a.Log.Check(t)) // registered before the server's Close: runs after it
	a.Server = httptest.NewUnstartedServer(nil)
	a.URL = "http://" + a.Server.Listener.Addr().String()
	a.Config = Config(a.URL, store, slog.New(a.Log))
	return a
}

// NewIdP starts a fake provider, closed when the test ends.
func NewIdP(t testing.TB) *oauthlogintest.Server {
	idp := oauthlogintest.NewServer()
	t.Cleanup(idp.Close)
	return idp
}

// Config is the Config of an app at baseURL over store: a fresh cookie
// key, and the provider access token exposed in the session JSON.
func Config(baseURL string, store oauthlogin.Store, logger *slog.Logger) oauthlogin.Config {
	return oauthlogin.Config{
		BaseURL:  baseURL,
		Keys:     oauthlogin.Keys{Cookie: []oauthlogin.CookieKey{oauthlogin.GenerateCookieKey()}},
		Store:    store,
		Sessions: oauthlogin.SessionOptions{ExposeProviderAccessToken: true},
		Logger:   logger,
	}
}

// NewManager makes a Manager from a.Config; the first one is a.M.
func (a *App) NewManager() *oauthlogin.Manager {
	a.T.Helper()
	m, err := oauthlogin.New(a.Config)
	if err != nil {
		a.T.Fatal(err)
	}
	if a.M == nil {
		a.M = m
	}
	return m
}

// Register registers the provider at idp on m as name, with idp's client;
// the client secret is one the log must never hold.
func (a *App) Register(m *oauthlogin.Manager, idp *oauthlogintest.Server, name string, pc providers.Config) *providers.OIDCProvider {
	a.T.Helper()
	a.Log.Secret(idp.ClientSecret)
	return Register(a.T, m, idp, name, pc)
}

// Register registers the provider at idp on m as name, with idp's client.
func Register(t testing.TB, m *oauthlogin.Manager, idp *oauthlogintest.Server, name string, pc providers.Config) *providers.OIDCProvider {
	t.Helper()
	pc.ClientID, pc.ClientSecret = idp.ClientID, idp.ClientSecret
	p, err := providers.OIDC(context.Background(), name, idp.URL, pc)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Register(p); err != nil {
		t.Fatal(err)
	}
	return p
}

// Mux is the app's routes: m's handler at /auth/ and the /done and
// /failed pages the logins end on.
func Mux(m *oauthlogin.Manager) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("/auth/", m.Handler())
	mux.HandleFunc("GET /done", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "done") })
	mux.HandleFunc("GET /failed", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "failed") })
	return mux
}

// Start serves h behind the log's Watch, until the test ends.
func (a *App) Start(h http.Handler) {
	a.Server.Config.Handler = a.Log.Watch(h)
	a.Server.Start()
	a.T.Cleanup(a.Server.Close)
}

// BeginURL is the URL that begins a login with provider at the app at
// base, ending on its /done or /failed page. extra holds more query
// parameters as name, value pairs: a name given there replaces the
// default (success, failure), and a name given twice is sent twice.
func BeginURL(base, provider string, extra ...string) string {
	q := url.Values{"success": {base + "/done"}, "failure": {base + "/failed"}}
	given := map[string]bool{}
	for i := 0; i+1 < len(extra); i += 2 {
		k, v := extra[i], extra[i+1]
		if given[k] {
			q.Add(k, v)
		} else {
			q.Set(k, v)
		}
		given[k] = true
	}
	return base + "/auth/" + provider + "?" + q.Encode()
}

// BeginURL is the URL that begins a login with provider at the app.
func (a *App) BeginURL(provider string, extra ...string) string {
	return BeginURL(a.URL, provider, extra...)
}

// Visit visits u in b, following redirects, and returns the page it ends on.
func Visit(ctx context.Context, t testing.TB, b *oauthlogintest.Browser, u string) *oauthlogintest.Page {
	t.Helper()
	page, err := b.Visit(ctx, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return page
}

// Login runs a whole login with the "test" provider in b and returns the
// page it ends on.
func (a *App) Login(b *oauthlogintest.Browser, extra ...string) *oauthlogintest.Page {
	a.T.Helper()
	return Visit(context.Background(), a.T, b, a.BeginURL("test", extra...))
}

// MustSucceed fails the test unless a login ended on the success page.
func MustSucceed(t testing.TB, page *oauthlogintest.Page) {
	t.Helper()
	if page.URL.Path != "/done" || page.Status != http.StatusOK {
		t.Fatalf("login ended at %s (%d): %s", page.URL, page.Status, page.Body)
	}
}

// Do sends a request to the app with client (a browser's, for its
// cookies); header holds name, value pairs. The body is closed when the
// test ends.
func (a *App) Do(client *http.Client, method, path string, body io.Reader, header ...string) *http.Response {
	a.T.Helper()
	req, err := http.NewRequest(method, a.URL+path, body)
	if err != nil {
		a.T.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		a.T.Fatal(err)
	}
	a.T.Cleanup(func() { resp.Body.Close() })
	return resp
}

// Session fetches GET /auth/session for b: the JSON and the status. The
// provider access token in it is a secret for the log check.
func (a *App) Session(b *oauthlogintest.Browser) (map[string]any, int) {
	a.T.Helper()
	resp := a.Do(b.Client, "GET", "/auth/session", nil)
	var v map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		a.T.Fatalf("session body: %v", err)
	}
	if tok, ok := v["providerAccessToken"].(string); ok {
		a.Log.Secret(tok)
	}
	return v, resp.StatusCode
}

// MustParse parses raw or fails the test.
func MustParse(t testing.TB, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
