package oauthlogin_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"

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
