// Command server is a minimal web app that signs users in with oauthlogin.
//
//	OIDC_ISSUER=https://issuer.example OIDC_CLIENT_ID=... OIDC_CLIENT_SECRET=... go run ./examples/server
//
// Register http://localhost:8080/auth/oidc/callback as the redirect URI at
// the provider. Flags: -addr (env ADDR, default 127.0.0.1:8080) and
// -base-url (env BASE_URL, default http://localhost:8080). With no provider
// configured the server still starts and its home page says how to add one.
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
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
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
	o := options{
		issuer:       getenv("OIDC_ISSUER"),
		clientID:     getenv("OIDC_CLIENT_ID"),
		clientSecret: getenv("OIDC_CLIENT_SECRET"),
	}
	addr := fs.String("addr", envOr(getenv, "ADDR", "127.0.0.1:8080"), "listen address")
	fs.StringVar(&o.baseURL, "base-url", envOr(getenv, "BASE_URL", "http://localhost:8080"), "external URL of this server")
	if err := fs.Parse(args); err != nil {
		return err
	}
	h, err := newApp(ctx, o, log)
	if err != nil {
		return err
	}
	srv := &http.Server{Addr: *addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
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
