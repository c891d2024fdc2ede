// Command server is a small web app that signs users in with oauthlogin.
//
//	go run ./examples/server
//
// and open the URL it prints. With no flags it runs two demo OpenID
// providers in-process ("demo" and "demo2", each on its own loopback port,
// built on package oauthlogintest), whose login page lets you type any
// name and email: sign in, link the second provider, refresh the provider
// token, unlink, sign out. The profile page also signs out of the provider
// too (OpenID Connect RP-Initiated Logout), and steps up: it signs in
// again with max_age=0 (a fresh authentication) or with acr_values (a
// stronger one: the demo's login page has a "second factor" box), and
// shows the login's auth_time and acr. The demo providers are for trying
// things out, not for production; -demo=false turns them off.
//
// Any provider of package providers' catalogue is registered when its
// credentials are in the environment, <NAME>_CLIENT_ID and
// <NAME>_CLIENT_SECRET plus its settings as <NAME>_<SETTING>:
//
//	GITHUB_CLIENT_ID, GITHUB_CLIENT_SECRET               GitHub
//	GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET               Google
//	OIDC_ISSUER, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET      any OpenID Connect issuer
//	AUTH0_DOMAIN, AUTH0_CLIENT_ID, AUTH0_CLIENT_SECRET   Auth0, and so on
//
// Register BASE_URL/auth/<name>/callback as the redirect URI at the
// provider, BASE_URL/auth/logout/callback as the post-logout redirect URI,
// and BASE_URL/auth/<name>/backchannel-logout as the back-channel logout
// URL: the server prints them at startup, and the home page lists them.
// <NAME>_STEP_UP_ACR, when set, is the acr value the profile page's
// step-up button asks an OpenID provider for. Flags: -addr (env ADDR, default 127.0.0.1:8080),
// -base-url (env BASE_URL, default http://localhost:8080), -demo (default
// true) and -demo-token-ttl (how long the demo providers' access tokens
// last, default 2m, so that refreshing can be seen at work).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}

// run parses the command line and environment and serves until ctx ends.
func run(ctx context.Context, args []string, getenv func(string) string, log io.Writer) error {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(log)
	o := options{getenv: getenv}
	addr := fs.String("addr", envOr(getenv, "ADDR", "127.0.0.1:8080"), "listen address")
	fs.StringVar(&o.baseURL, "base-url", envOr(getenv, "BASE_URL", "http://localhost:8080"), "external URL of this server")
	fs.BoolVar(&o.demo, "demo", true, "run the in-process demo providers (not for production)")
	fs.DurationVar(&o.demoTokenTTL, "demo-token-ttl", 2*time.Minute, "lifetime of the demo providers' access tokens")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	a, err := newApp(ctx, o, log)
	if err != nil {
		return err
	}
	defer a.Close()
	srv := &http.Server{Addr: *addr, Handler: a, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
	}()
	fmt.Fprintf(log, "listening on %s, open %s\n", *addr, o.baseURL)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}
