package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
)

// startApp runs the quick start against a fake provider, configured
// through the environment as the README says.
func startApp(t *testing.T) (*httptest.Server, *oauthlogintest.Server) {
	t.Helper()
	idp := oauthlogintest.NewServer()
	t.Cleanup(idp.Close)
	srv := httptest.NewUnstartedServer(nil)
	t.Setenv("COOKIE_KEYS", oauthlogin.GenerateCookieKey().Encode())
	t.Setenv("BASE_URL", "http://"+srv.Listener.Addr().String())
	t.Setenv("OIDC_ISSUER", idp.URL)
	t.Setenv("OIDC_CLIENT_ID", idp.ClientID)
	t.Setenv("OIDC_CLIENT_SECRET", idp.ClientSecret)
	app, err := newApp(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = app
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, idp
}

// The quick start signs a user in: the home page's link goes through the
// provider to /me, which shows the session; the home page then knows the
// user.
func TestQuickstartLogin(t *testing.T) {
	srv, _ := startApp(t)
	b := oauthlogintest.NewBrowser()
	ctx := context.Background()
	home, err := b.Visit(ctx, srv.URL+"/", nil)
	link := `<a href="/auth/oidc?success=/me&amp;failure=/">Sign in</a>`
	if err != nil || home.Status != http.StatusOK || !strings.Contains(string(home.Body), link) {
		t.Fatalf("home page = %v, %v; want the sign-in link", home, err)
	}
	if page, err := b.Visit(ctx, srv.URL+"/me", nil); err != nil || page.Status != http.StatusUnauthorized {
		t.Fatalf("/me before signing in = %v, %v; want 401", page, err)
	}
	me, err := b.Visit(ctx, srv.URL+"/auth/oidc?success=/me&failure=/", nil)
	if err != nil || me.URL.String() != srv.URL+"/me" || me.Status != http.StatusOK || !strings.Contains(string(me.Body), "(oidc user ") {
		t.Fatalf("the login ended at %v, %v; want /me with the session", me, err)
	}
	home, err = b.Visit(ctx, srv.URL+"/", nil)
	if err != nil || !strings.Contains(string(home.Body), "Signed in as ") || !strings.Contains(string(home.Body), `<a href="/me">`) {
		t.Fatalf("home page after login = %v, %v", home, err)
	}
}

// Without its keys, or with a provider it cannot reach, the quick start
// stops at once with an error that says which.
func TestQuickstartConfigErrors(t *testing.T) {
	t.Setenv("COOKIE_KEYS", "")
	if _, err := newApp(context.Background()); err == nil || !strings.Contains(err.Error(), "COOKIE_KEYS is empty") {
		t.Fatalf("newApp without keys = %v", err)
	}
	idp := oauthlogintest.NewServer()
	issuer := idp.URL
	idp.Close()
	t.Setenv("COOKIE_KEYS", oauthlogin.GenerateCookieKey().Encode())
	t.Setenv("OIDC_ISSUER", issuer)
	t.Setenv("OIDC_CLIENT_ID", "id")
	if _, err := newApp(context.Background()); err == nil || !strings.Contains(err.Error(), "discovery") {
		t.Fatalf("newApp with an unreachable issuer = %v", err)
	}
}

// -genkey prints a new key in the form COOKIE_KEYS takes, and nothing else.
func TestQuickstartGenkey(t *testing.T) {
	out, err := os.CreateTemp(t.TempDir(), "stdout")
	if err != nil {
		t.Fatal(err)
	}
	args, stdout := os.Args, os.Stdout
	os.Args, os.Stdout = []string{"quickstart", "-genkey"}, out
	defer func() { os.Args, os.Stdout = args, stdout }()
	main()
	printed, err := os.ReadFile(out.Name())
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("COOKIE_KEYS", strings.TrimSuffix(string(printed), "\n"))
	keys, err := oauthlogin.CookieKeysFromEnv("COOKIE_KEYS")
	if err != nil || len(keys) != 1 || strings.Count(string(printed), "\n") != 1 {
		t.Fatalf("-genkey printed %d bytes that read as %d keys, %v; want one key on one line", len(printed), len(keys), err)
	}
}
