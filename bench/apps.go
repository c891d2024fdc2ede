package bench

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
	capoidc "github.com/hashicorp/cap/oidc"
	capcallback "github.com/hashicorp/cap/oidc/callback"
	"github.com/markbates/goth"
	"github.com/markbates/goth/gothic"
	"github.com/markbates/goth/providers/openidConnect"
	"github.com/zitadel/oidc/v3/pkg/client/rp"
	zhttp "github.com/zitadel/oidc/v3/pkg/http"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"golang.org/x/oauth2"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/providers"
)

// App is a host app with one login library mounted, on its own loopback
// port, logging in at the fake.
type App struct {
	Name string
	// URL is the app's external URL, which it is configured with; Host
	// is the loopback host:port it listens on. They name the same place
	// except for an instance of several behind a balancer (Shared), whose
	// URL is the balancer's.
	URL  string
	Host string
	// BeginURL starts a login; SuccessURL is where a login that worked
	// ends; SessionCookie is the app's session cookie after it.
	BeginURL      string
	SuccessURL    string
	SessionCookie string
	// PrivateURL answers 200 only with a session (an empty handler behind
	// the app's session middleware).
	PrivateURL string
	// Handler is the app's whole handler, for benchmarks that call it
	// without HTTP.
	Handler http.Handler
	// Private is the empty handler behind the session middleware.
	Private http.Handler
	// Manager is set for oauthlogin apps.
	Manager *oauthlogin.Manager

	fakeURL string
	srv     *httptest.Server
}

// Close stops the app's server.
func (a *App) Close() { a.srv.Close() }

// newApp reserves a loopback port for an app, so that its redirect URI is
// known before its handler is built. An instance of several (sh not nil)
// has the balancer's URL as its own.
func newApp(name string, f *Fake, sh *Shared) *App {
	srv := httptest.NewUnstartedServer(nil)
	a := &App{Name: name, Host: srv.Listener.Addr().String(), fakeURL: f.URL, srv: srv}
	a.URL = "http://" + a.Host
	if sh != nil {
		a.URL = sh.URL
	}
	a.SuccessURL = a.URL + "/done"
	a.PrivateURL = a.URL + "/private"
	return a
}

func (a *App) start(mux *http.ServeMux) {
	mux.HandleFunc("GET /done", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("GET /failed", func(w http.ResponseWriter, r *http.Request) {})
	a.Handler = mux
	a.srv.Config.Handler = mux
	a.srv.Start()
}

// Shared is what the instances of one app behind a load balancer hold in
// common, so that any of them finishes a login another began and opens
// the session another made: the balancer's URL (the app's external URL,
// which the provider redirects to), the client registered at the
// provider, the keys the app seals its cookies with, and whatever else
// the app's setup says to share (oauthlogin's store is passed on its
// own). Each instance is an app of its own, built with the same *Shared:
// keys are made on first use and handed to every instance that asks for
// the same one. A nil *Shared is an app on its own, with keys of its own.
type Shared struct {
	// URL is the balancer's URL.
	URL string
	// ClientID names the client the instances share at the provider.
	ClientID string

	mu     sync.Mutex
	values map[string]any
}

// get returns the shared value named label, made by mk on first use; on a
// nil *Shared, a new one each call.
func (s *Shared) get(label string, mk func() any) any {
	if s == nil {
		return mk()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.values[label]
	if !ok {
		v = mk()
		if s.values == nil {
			s.values = map[string]any{}
		}
		s.values[label] = v
	}
	return v
}

// key returns the n-byte random key named label.
func (s *Shared) key(label string, n int) []byte {
	return s.get(label, func() any { return securecookie.GenerateRandomKey(n) }).([]byte)
}

// clientID is the provider's client id: def for an app on its own.
func (s *Shared) clientID(def string) string {
	if s == nil {
		return def
	}
	return s.ClientID
}

// empty is the handler behind the session middlewares.
var empty = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})

// Store is what an oauthlogin app keeps its records in.
type Store = oauthlogin.Store

// NewOauthloginApp mounts oauthlogin as its README says: a Manager with
// the provider from providers.OIDC (discovery once, full ID token
// validation, userinfo), Handler at /auth/ and RequireSession on /private.
// A nil store is the MemoryStore default.
func NewOauthloginApp(name string, f *Fake, back *http.Client, store Store, expiresIn int) (*App, error) {
	return newOauthloginApp(name, f, back, store, expiresIn, nil)
}

// newOauthloginApp is NewOauthloginApp as one of the instances sh joins:
// the same cookie key and client in each, and the store given (which the
// instances must share for one's sessions to open at another).
func newOauthloginApp(name string, f *Fake, back *http.Client, store Store, expiresIn int, sh *Shared) (*App, error) {
	a := newApp(name, f, sh)
	key := sh.get("oauthlogin-cookie", func() any { return oauthlogin.GenerateCookieKey() }).(oauthlogin.CookieKey)
	cfg := oauthlogin.Config{
		BaseURL:    a.URL,
		Keys:       oauthlogin.Keys{Cookie: []oauthlogin.CookieKey{key}},
		HTTPClient: back,
	}
	if store != nil {
		cfg.Store = store
	}
	m, err := oauthlogin.New(cfg)
	if err != nil {
		return nil, err
	}
	id := sh.clientID(name)
	c := &FakeClient{ID: id, Secret: "secret-" + id, RedirectURI: a.URL + "/auth/fake/callback", ExpiresIn: expiresIn}
	f.AddClient(c)
	p, err := providers.OIDC(context.Background(), "fake", f.URL, providers.Config{ClientID: c.ID, ClientSecret: c.Secret, HTTPClient: back})
	if err != nil {
		return nil, err
	}
	if err := m.Register(p); err != nil {
		return nil, err
	}
	a.Manager = m
	a.BeginURL = a.URL + "/auth/fake?success=" + url.QueryEscape(a.SuccessURL) + "&failure=" + url.QueryEscape(a.URL+"/failed")
	a.SessionCookie = "oauthlogin_session"
	a.Private = m.RequireSession(empty)
	mux := http.NewServeMux()
	mux.Handle("/auth/", m.Handler())
	mux.Handle("GET /private", a.Private)
	a.start(mux)
	return a, nil
}

// NewGothApp mounts goth's gothic as its README says: the openidConnect
// provider from discovery, gothic.Store a gorilla/sessions CookieStore
// (HMAC and AES keys), BeginAuthHandler and CompleteUserAuth. goth offers no
// PKCE, nonce or ID token signature check. The app keeps its own session in
// the same store, as goth apps do.
func NewGothApp(f *Fake, back *http.Client) (*App, error) { return newGothApp(f, back, nil) }

// newGothApp is NewGothApp as one of the instances sh joins: the same
// client and store keys in each. goth keeps its providers and gothic.Store
// in package variables, so instances in one process share the provider
// registered last and the store set last (alike in every instance); the
// provider is named after the shared client, to leave the lone goth
// app's in place.
func newGothApp(f *Fake, back *http.Client, sh *Shared) (*App, error) {
	a := newApp("goth", f, sh)
	name := "openid-connect"
	if sh != nil {
		name = sh.ClientID
	}
	id := sh.clientID("goth")
	c := &FakeClient{ID: id, Secret: "secret-" + id, RedirectURI: a.URL + "/auth/" + name + "/callback"}
	f.AddClient(c)
	p, err := openidConnect.New(c.ID, c.Secret, c.RedirectURI, f.URL+"/.well-known/openid-configuration", "email", "profile")
	if err != nil {
		return nil, err
	}
	p.SetName(name)
	p.HTTPClient = back
	goth.UseProviders(p)
	store := sessions.NewCookieStore(sh.key("goth-hash", 64), sh.key("goth-block", 32))
	store.Options = &sessions.Options{Path: "/", MaxAge: 30 * 86400, HttpOnly: true, SameSite: http.SameSiteLaxMode}
	gothic.Store = store
	a.BeginURL = a.URL + "/auth/" + name
	a.SessionCookie = "app_session"
	mux := http.NewServeMux()
	mux.HandleFunc("GET /auth/{provider}", gothic.BeginAuthHandler)
	mux.HandleFunc("GET /auth/{provider}/callback", func(w http.ResponseWriter, r *http.Request) {
		user, err := gothic.CompleteUserAuth(w, r)
		if err != nil {
			http.Redirect(w, r, a.URL+"/failed", http.StatusFound)
			return
		}
		s, _ := store.New(r, "app_session")
		s.Values["uid"], s.Values["provider"] = user.UserID, user.Provider
		if err := s.Save(r, w); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		http.Redirect(w, r, a.SuccessURL, http.StatusFound)
	})
	a.Private = gothSession(store, empty)
	mux.Handle("GET /private", a.Private)
	a.start(mux)
	return a, nil
}

type ctxKey struct{}

// gothSession is a goth app's session middleware: the gorilla session's
// user id into the request context.
func gothSession(store sessions.Store, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := store.Get(r, "app_session")
		uid, _ := s.Values["uid"].(string)
		if err != nil || uid == "" {
			http.Error(w, "no session", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, uid)))
	})
}

// appSession is the session cookie of the zitadel and cap apps, which
// leave sessions to the app: the subject and an expiry, sealed with
// securecookie (HMAC + AES, JSON).
type appSession struct {
	Sub     string `json:"s"`
	Expires int64  `json:"e"`
}

// newSealer returns a securecookie (JSON) with the keys sh holds under
// label (new ones for a nil sh).
func newSealer(sh *Shared, label string) *securecookie.SecureCookie {
	sc := securecookie.New(sh.key(label+"-hash", 64), sh.key(label+"-block", 32))
	sc.SetSerializer(securecookie.JSONEncoder{})
	return sc
}

func setAppSession(w http.ResponseWriter, sc *securecookie.SecureCookie, sub string) error {
	exp := time.Now().Add(30 * 24 * time.Hour)
	v, err := sc.Encode("app_session", appSession{Sub: sub, Expires: exp.Unix()})
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: "app_session", Value: v, Path: "/", MaxAge: 30 * 86400, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	return nil
}

func sealedSession(sc *securecookie.SecureCookie, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie("app_session")
		var s appSession
		if err != nil || sc.Decode("app_session", c.Value, &s) != nil || time.Now().Unix() >= s.Expires {
			http.Error(w, "no session", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, s.Sub)))
	})
}

// NewZitadelApp mounts zitadel/oidc's relying party as its example app
// does, with PKCE: NewRelyingPartyOIDC (discovery), a securecookie
// CookieHandler for state and verifier, signing algorithms from
// discovery, AuthURLHandler and CodeExchangeHandler with UserinfoCallback.
// rp sends no nonce unless the app adds one per request itself.
func NewZitadelApp(f *Fake, back *http.Client) (*App, error) { return newZitadelApp(f, back, nil) }

// newZitadelApp is NewZitadelApp as one of the instances sh joins: the
// same client, and the same keys for rp's cookies and the app session.
func newZitadelApp(f *Fake, back *http.Client, sh *Shared) (*App, error) {
	a := newApp("zitadel", f, sh)
	id := sh.clientID("zitadel")
	c := &FakeClient{ID: id, Secret: "secret-" + id, RedirectURI: a.URL + "/auth/callback"}
	f.AddClient(c)
	cookies := zhttp.NewCookieHandler(sh.key("zitadel-hash", 64), sh.key("zitadel-block", 32), zhttp.WithUnsecure())
	party, err := rp.NewRelyingPartyOIDC(context.Background(), f.URL, c.ID, c.Secret, c.RedirectURI,
		[]string{"openid", "email", "profile"},
		rp.WithPKCE(cookies),
		rp.WithHTTPClient(back),
		rp.WithVerifierOpts(rp.WithIssuedAtOffset(5*time.Second)),
		rp.WithSigningAlgsFromDiscovery(),
	)
	if err != nil {
		return nil, err
	}
	sealer := newSealer(sh, "session")
	a.BeginURL = a.URL + "/auth/login"
	a.SessionCookie = "app_session"
	mux := http.NewServeMux()
	mux.Handle("GET /auth/login", rp.AuthURLHandler(func() string { return randomString(32) }, party))
	mux.Handle("GET /auth/callback", rp.CodeExchangeHandler(rp.UserinfoCallback(
		func(w http.ResponseWriter, r *http.Request, tokens *zoidc.Tokens[*zoidc.IDTokenClaims], state string, party rp.RelyingParty, info *zoidc.UserInfo) {
			if err := setAppSession(w, sealer, info.Subject); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			http.Redirect(w, r, a.SuccessURL, http.StatusFound)
		}), party))
	a.Private = sealedSession(sealer, empty)
	mux.Handle("GET /private", a.Private)
	a.start(mux)
	return a, nil
}

// capRequest is the cap app's login request state, kept in a sealed
// cookie between begin and callback.
type capRequest struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Expires  int64  `json:"e"`
}

// NewCapApp mounts hashicorp/cap's oidc as its docs describe, with PKCE
// and a nonce (cap always sends one): NewConfig with the client id as
// audience, NewProvider (discovery), NewRequest per login, the request kept
// in a securecookie (JSON) as an app would, callback.AuthCode, and
// Provider.UserInfo.
func NewCapApp(f *Fake, back *http.Client) (*App, error) { return newCapApp(f, back, nil) }

// newCapApp is NewCapApp as one of the instances sh joins: the same
// client, and the same keys for the request and session cookies.
func newCapApp(f *Fake, back *http.Client, sh *Shared) (*App, error) {
	a := newApp("cap", f, sh)
	id := sh.clientID("cap")
	c := &FakeClient{ID: id, Secret: "secret-" + id, RedirectURI: a.URL + "/auth/callback"}
	f.AddClient(c)
	cfg, err := capoidc.NewConfig(f.URL, c.ID, capoidc.ClientSecret(c.Secret), []capoidc.Alg{capoidc.RS256}, []string{c.RedirectURI},
		capoidc.WithScopes("email", "profile"),
		capoidc.WithAudiences(c.ID),
		capoidc.WithRoundTripper(back.Transport),
	)
	if err != nil {
		return nil, err
	}
	p, err := capoidc.NewProvider(cfg)
	if err != nil {
		return nil, err
	}
	requests, sessionSealer := newSealer(sh, "cap-request"), newSealer(sh, "session")
	const flowTTL = 10 * time.Minute
	a.BeginURL = a.URL + "/auth/login"
	a.SessionCookie = "app_session"
	mux := http.NewServeMux()
	mux.HandleFunc("GET /auth/login", func(w http.ResponseWriter, r *http.Request) {
		v, err := capoidc.NewCodeVerifier()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		req, err := capoidc.NewRequest(flowTTL, c.RedirectURI, capoidc.WithPKCE(v))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		to, err := p.AuthURL(r.Context(), req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		sealed, err := requests.Encode("cap_request", capRequest{State: req.State(), Nonce: req.Nonce(), Verifier: v.Verifier(), Expires: time.Now().Add(flowTTL).Unix()})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "cap_request", Value: sealed, Path: "/auth/", MaxAge: int(flowTTL / time.Second), HttpOnly: true, SameSite: http.SameSiteLaxMode})
		http.Redirect(w, r, to, http.StatusFound)
	})
	fail := func(state string, e *capcallback.AuthenErrorResponse, err error, w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, a.URL+"/failed", http.StatusFound)
	}
	success := func(state string, t capoidc.Token, w http.ResponseWriter, r *http.Request) {
		var id struct {
			Sub string `json:"sub"`
		}
		if err := t.IDToken().Claims(&id); err != nil {
			fail(state, nil, err, w, r)
			return
		}
		ts, ok := t.(interface{ StaticTokenSource() oauth2.TokenSource })
		if !ok {
			fail(state, nil, fmt.Errorf("no token source"), w, r)
			return
		}
		var info map[string]any
		if err := p.UserInfo(r.Context(), ts.StaticTokenSource(), id.Sub, &info); err != nil {
			fail(state, nil, err, w, r)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "cap_request", Path: "/auth/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
		if err := setAppSession(w, sessionSealer, id.Sub); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		http.Redirect(w, r, a.SuccessURL, http.StatusFound)
	}
	mux.HandleFunc("GET /auth/callback", func(w http.ResponseWriter, r *http.Request) {
		ck, err := r.Cookie("cap_request")
		var st capRequest
		if err != nil || requests.Decode("cap_request", ck.Value, &st) != nil {
			http.Error(w, "no login request", http.StatusBadRequest)
			return
		}
		left := time.Until(time.Unix(st.Expires, 0))
		if left <= 0 {
			fail("", nil, fmt.Errorf("expired"), w, r)
			return
		}
		v, err := capoidc.NewCodeVerifier(capoidc.WithVerifier(st.Verifier))
		if err != nil {
			fail("", nil, err, w, r)
			return
		}
		req, err := capoidc.NewRequest(left, c.RedirectURI, capoidc.WithState(st.State), capoidc.WithNonce(st.Nonce), capoidc.WithPKCE(v))
		if err != nil {
			fail("", nil, err, w, r)
			return
		}
		h, err := capcallback.AuthCode(r.Context(), p, &capcallback.SingleRequestReader{Request: req}, success, fail)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		h(w, r)
	})
	a.Private = sealedSession(sessionSealer, empty)
	mux.Handle("GET /private", a.Private)
	a.start(mux)
	return a, nil
}

// NewBackChannel returns the HTTP client every library gets for its
// discovery, key, token and userinfo requests: keep-alive to loopback, a
// 10-second timeout.
func NewBackChannel() *http.Client {
	return &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: 256, IdleConnTimeout: time.Minute},
		Timeout:   10 * time.Second,
	}
}

// randomKey returns n bytes from crypto/rand.
func randomKey(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}
