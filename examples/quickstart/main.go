// Command quickstart is the README's quick start: a web app with sign-in
// through one OpenID Connect provider.
//
//	go run ./examples/quickstart -genkey   # prints a new cookie key
//	export COOKIE_KEYS=<that key>          # keep it: see the README
//	export OIDC_ISSUER=https://accounts.google.com OIDC_CLIENT_ID=... OIDC_CLIENT_SECRET=...
//	go run ./examples/quickstart
//
// At the provider, register the redirect URI
// http://localhost:8080/auth/oidc/callback.
package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"html"
	"log"
	"net/http"
	"os"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/providers"
)

func main() {
	genkey := flag.Bool("genkey", false, "print a new cookie key for COOKIE_KEYS and exit")
	flag.Parse()
	if *genkey {
		fmt.Println(oauthlogin.GenerateCookieKey().Encode()) // reveals the key, a secret: store it with your other secrets
		return
	}
	app, err := newApp(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	addr := cmp.Or(os.Getenv("ADDR"), "localhost:8080")
	log.Printf("listening on %s", addr)
	log.Fatal(http.ListenAndServe(addr, app))
}

// newApp builds the app from the environment.
func newApp(ctx context.Context) (http.Handler, error) {
	keys, err := oauthlogin.CookieKeysFromEnv("COOKIE_KEYS")
	if err != nil {
		return nil, err
	}
	m, err := oauthlogin.New(oauthlogin.Config{
		BaseURL: cmp.Or(os.Getenv("BASE_URL"), "http://localhost:8080"),
		Keys:    oauthlogin.Keys{Cookie: keys},
	})
	if err != nil {
		return nil, err
	}
	if err := m.Check(ctx); err != nil { // reaches the store once
		return nil, err
	}
	provider, err := providers.OIDC(ctx, "oidc", os.Getenv("OIDC_ISSUER"), providers.Config{
		ClientID:     os.Getenv("OIDC_CLIENT_ID"),
		ClientSecret: os.Getenv("OIDC_CLIENT_SECRET"),
	})
	if err != nil {
		return nil, err
	}
	if err := m.Register(provider); err != nil { // redirect URI: BASE_URL + /auth/oidc/callback
		return nil, err
	}

	mux := http.NewServeMux()
	mux.Handle("/auth/", m.Handler())
	mux.Handle("GET /{$}", m.LoadSession(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if s, ok := oauthlogin.SessionFromContext(r.Context()); ok {
			fmt.Fprintf(w, `<p>Signed in as %s. <a href="/me">Your session</a></p>`, html.EscapeString(s.UserID))
			return
		}
		fmt.Fprint(w, `<p><a href="/auth/oidc?success=/me&amp;failure=/">Sign in</a></p>`)
	})))
	mux.Handle("GET /me", m.RequireSession(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := oauthlogin.SessionFromContext(r.Context())
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "hello %s (%s user %s)\n", s.UserID, s.Provider, s.ProviderUID)
	})))
	return mux, nil
}
