package oauthlogin_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"time"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
	"github.com/oauthlogin/oauthlogin/providers"
)

// A host app mounts the Manager's handler at /auth/ and registers an
// OpenID Connect provider; here the provider is oauthlogintest's fake.
func Example() {
	ctx := context.Background()
	idp := oauthlogintest.NewServer() // any OpenID Connect issuer
	defer idp.Close()

	app := httptest.NewUnstartedServer(nil)
	m, err := oauthlogin.New(oauthlogin.Config{
		BaseURL: "http://" + app.Listener.Addr().String(),
		Keys:    oauthlogin.Keys{Cookie: []oauthlogin.CookieKey{oauthlogin.GenerateCookieKey()}}, // load yours from a secret store
	})
	if err != nil {
		log.Fatal(err)
	}
	p, err := providers.OIDC(ctx, "acme", idp.URL, providers.Config{ClientID: idp.ClientID, ClientSecret: idp.ClientSecret})
	if err != nil {
		log.Fatal(err)
	}
	if err := m.Register(p); err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.Handle("/auth/", m.Handler())
	mux.Handle("GET /me", m.RequireSession(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := oauthlogin.SessionFromContext(r.Context())
		fmt.Fprintf(w, "signed in with %s as %s", s.Provider, s.ProviderUID)
	})))
	app.Config.Handler = mux
	app.Start()
	defer app.Close()

	// A browser follows the sign-in link: to the provider and back.
	q := url.Values{"success": {app.URL + "/me"}, "failure": {app.URL + "/"}}
	page, err := oauthlogintest.NewBrowser().Visit(ctx, app.URL+"/auth/acme?"+q.Encode(), nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(page.URL.Path, string(page.Body))
	// Output: /me signed in with acme as user-1
}

// A failed login ends on the failure URL with a short error code.
func ExampleCode() {
	ctx := context.Background()
	idp := oauthlogintest.NewServer()
	defer idp.Close()
	idp.Behave(oauthlogintest.Behavior{AuthorizeError: "access_denied"}) // the user said no

	app := httptest.NewUnstartedServer(nil)
	m, _ := oauthlogin.New(oauthlogin.Config{
		BaseURL: "http://" + app.Listener.Addr().String(),
		Keys:    oauthlogin.Keys{Cookie: []oauthlogin.CookieKey{oauthlogin.GenerateCookieKey()}},
	})
	p, _ := providers.OIDC(ctx, "acme", idp.URL, providers.Config{ClientID: idp.ClientID, ClientSecret: idp.ClientSecret})
	m.Register(p)
	mux := http.NewServeMux()
	mux.Handle("/auth/", m.Handler())
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "error: ", r.URL.Query().Get("error"))
	})
	app.Config.Handler = mux
	app.Start()
	defer app.Close()

	q := url.Values{"success": {app.URL + "/"}, "failure": {app.URL + "/login"}}
	page, _ := oauthlogintest.NewBrowser().Visit(ctx, app.URL+"/auth/acme?"+q.Encode(), nil)
	fmt.Println(string(page.Body))
	fmt.Println(oauthlogin.Code(fmt.Errorf("login: %w", oauthlogin.ErrProviderDenied)))
	// Output:
	// error: access_denied
	// access_denied
}

// A host that serves only some routes mounts Handler on just those
// patterns; Config.Prefix must match where they are mounted.
func ExampleManager_Handler_someRoutes() {
	m, err := oauthlogin.New(oauthlogin.Config{
		BaseURL: "https://app.example.com",
		Prefix:  "/login/",
		Keys:    oauthlogin.Keys{Cookie: []oauthlogin.CookieKey{oauthlogin.GenerateCookieKey()}},
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	h := m.Handler()
	mux.Handle("GET /login/{provider}", h)
	mux.Handle("GET /login/{provider}/callback", h)
	mux.Handle("GET /login/session", h)

	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest("GET", "/login/session", nil))
	fmt.Println(w.Code, w.Body.String())
	// Output: 401 {"error":"no_session","message":"no session"}
}

// New takes a Config: BaseURL and the cookie keys are required, every
// other field has a safe default. Store is the one field that changes
// with the deployment: NewMemoryStore for one process, or a shared store
// (redisstore.New(rdb), pgstore.New(pool), sqlitestore.New(db)) for
// several instances.
func ExampleNew() {
	keys := []oauthlogin.CookieKey{oauthlogin.GenerateCookieKey()} // in an app: oauthlogin.CookieKeysFromEnv
	m, err := oauthlogin.New(oauthlogin.Config{
		BaseURL:         "https://app.example.com",
		Keys:            oauthlogin.Keys{Cookie: keys},
		Store:           oauthlogin.NewMemoryStore(),
		Sessions:        oauthlogin.SessionOptions{Lifetime: 7 * 24 * time.Hour, IdleTimeout: 24 * time.Hour},
		RedirectOrigins: []string{"https://www.example.com"},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(m.Check(context.Background()))

	_, err = oauthlogin.New(oauthlogin.Config{BaseURL: "https://app.example.com"})
	fmt.Println(errors.Is(err, oauthlogin.ErrConfig))
	// Output:
	// <nil>
	// true
}

// Handler serves every route under Config.Prefix; mount it at that path.
// Here a browser signs in, lists its identities and signs out.
func ExampleManager_Handler() {
	ctx := context.Background()
	idp := oauthlogintest.NewServer()
	defer idp.Close()
	m, app, _ := exampleApp(ctx, idp)
	defer app.Close()

	browser := oauthlogintest.NewBrowser()
	q := url.Values{"success": {"/auth/identities"}, "failure": {"/"}}
	page, err := browser.Visit(ctx, app.URL+"/auth/acme?"+q.Encode(), nil)
	if err != nil {
		log.Fatal(err)
	}
	var ids struct{ Total int }
	if err := json.Unmarshal(page.Body, &ids); err != nil {
		log.Fatal(err)
	}
	fmt.Println(page.URL.Path, page.Status, ids.Total)

	// Logout is a same-origin DELETE.
	req, _ := http.NewRequestWithContext(ctx, http.MethodDelete, app.URL+"/auth/session", nil)
	req.Header.Set("Origin", app.URL)
	resp, err := browser.Client.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode, m.Providers())
	// Output:
	// /auth/identities 200 1
	// 204 [acme]
}

// TokenSource and Client call the provider's API with the session's
// token, refreshing it only when it is about to expire
// (Config.Sessions.RefreshMargin).
func ExampleManager_TokenSource() {
	ctx := context.Background()
	idp := oauthlogintest.NewServer()
	defer idp.Close()
	m, s, done := exampleSession(ctx, idp)
	defer done()

	tok, err := m.TokenSource(ctx, s).Token()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tok.Type(), tok.Valid(), idp.Hits("token")) // the login's one token request
	// Output: Bearer true 1
}

// Refresh renews the provider token now, say after the provider's API
// answered 401 (POST {prefix}refresh does the same for a browser).
func ExampleManager_Refresh() {
	ctx := context.Background()
	idp := oauthlogintest.NewServer()
	defer idp.Close()
	m, s, done := exampleSession(ctx, idp)
	defer done()

	before, _ := m.ProviderToken(s)
	s, err := m.Refresh(ctx, s)
	if err != nil {
		log.Fatal(err)
	}
	after, _ := m.ProviderToken(s)
	fmt.Println(after.AccessToken != before.AccessToken, idp.Hits("token"))
	// Output: true 2
}

// CookieKeysFromEnv reads the keys an app keeps in its secrets store:
// newest first, each 96 bytes in hex (CookieKey.Encode) or base64. Its
// errors name the variable and the key, never the key's value.
func ExampleCookieKeysFromEnv() {
	// In an app the variable is set outside: from the output of
	// fmt.Println(oauthlogin.GenerateCookieKey().Encode()), kept with its secrets.
	newKey, oldKey := oauthlogin.GenerateCookieKey(), oauthlogin.GenerateCookieKey()
	os.Setenv("EXAMPLE_COOKIE_KEYS", newKey.Encode()+","+oldKey.Encode())
	defer os.Unsetenv("EXAMPLE_COOKIE_KEYS")

	keys, err := oauthlogin.CookieKeysFromEnv("EXAMPLE_COOKIE_KEYS")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(keys), keys[0].Encode() == newKey.Encode())

	os.Setenv("EXAMPLE_COOKIE_KEYS", "not-a-key")
	_, err = oauthlogin.CookieKeysFromEnv("EXAMPLE_COOKIE_KEYS")
	fmt.Println(err)
	// Output:
	// 2 true
	// oauthlogin: invalid configuration: EXAMPLE_COOKIE_KEYS: key 1 of 1 is neither hex nor base64
}

// exampleApp serves a Manager with the provider "acme" (idp) at /auth/ of
// the returned mux, which takes more routes while it serves.
func exampleApp(ctx context.Context, idp *oauthlogintest.Server) (*oauthlogin.Manager, *httptest.Server, *http.ServeMux) {
	app := httptest.NewUnstartedServer(nil)
	m, err := oauthlogin.New(oauthlogin.Config{
		BaseURL: "http://" + app.Listener.Addr().String(),
		Keys:    oauthlogin.Keys{Cookie: []oauthlogin.CookieKey{oauthlogin.GenerateCookieKey()}},
	})
	if err != nil {
		log.Fatal(err)
	}
	p, err := providers.OIDC(ctx, "acme", idp.URL, providers.Config{ClientID: idp.ClientID, ClientSecret: idp.ClientSecret})
	if err != nil {
		log.Fatal(err)
	}
	if err := m.Register(p); err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", m.Handler())
	app.Config.Handler = mux
	app.Start()
	return m, app, mux
}

// exampleSession signs a user in at idp through a Manager's routes, as a
// browser would, and returns the Manager and the new session.
func exampleSession(ctx context.Context, idp *oauthlogintest.Server) (*oauthlogin.Manager, *oauthlogin.Session, func()) {
	m, app, mux := exampleApp(ctx, idp)
	var s *oauthlogin.Session
	mux.Handle("GET /me", m.RequireSession(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ = oauthlogin.SessionFromContext(r.Context())
	})))
	q := url.Values{"success": {"/me"}, "failure": {"/"}}
	if _, err := oauthlogintest.NewBrowser().Visit(ctx, app.URL+"/auth/acme?"+q.Encode(), nil); err != nil || s == nil {
		log.Fatal("sign-in failed: ", err)
	}
	return m, s, app.Close
}
