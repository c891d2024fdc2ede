package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/oauthlogin/oauthlogin/oauthlogintest"
)

// start serves the example app on a loopback port with o.
func start(t *testing.T, o options) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	o.baseURL = "http://" + srv.Listener.Addr().String()
	h, err := newApp(context.Background(), o, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = h
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

func TestSignInAndOut(t *testing.T) {
	idp := oauthlogintest.NewServer()
	t.Cleanup(idp.Close)
	app := start(t, options{issuer: idp.URL, clientID: idp.ClientID, clientSecret: idp.ClientSecret})
	ctx := context.Background()
	b := oauthlogintest.NewBrowser()

	home, err := b.Visit(ctx, app.URL+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	link := regexp.MustCompile(`id="signin-oidc" href="([^"]+)"`).FindSubmatch(home.Body)
	if link == nil {
		t.Fatalf("no sign-in link on the home page:\n%s", home.Body)
	}
	href := strings.ReplaceAll(string(link[1]), "&amp;", "&")
	profile, err := b.Visit(ctx, app.URL+href, nil)
	if err != nil {
		t.Fatal(err)
	}
	if profile.URL.Path != "/profile" || !bytes.Contains(profile.Body, []byte(`<dd id="provider-uid">user-1</dd>`)) {
		t.Fatalf("after sign-in: %s\n%s", profile.URL, profile.Body)
	}

	req, _ := http.NewRequest("DELETE", app.URL+"/auth/session", nil)
	resp, err := b.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("sign out = %d", resp.StatusCode)
	}
	after, err := b.Visit(ctx, app.URL+"/profile", nil)
	if err != nil {
		t.Fatal(err)
	}
	if after.URL.Path != "/" {
		t.Fatalf("signed out, /profile ended at %s", after.URL)
	}
}

func TestFailedSignInShowsCode(t *testing.T) {
	idp := oauthlogintest.NewServer()
	t.Cleanup(idp.Close)
	idp.Behave(oauthlogintest.Behavior{AuthorizeError: "access_denied"})
	app := start(t, options{issuer: idp.URL, clientID: idp.ClientID, clientSecret: idp.ClientSecret})
	page, err := oauthlogintest.NewBrowser().Visit(context.Background(), app.URL+"/auth/oidc?failure="+app.URL+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(page.Body, []byte(`<code>access_denied</code>`)) {
		t.Fatalf("failure page:\n%s", page.Body)
	}
}

func TestNoProviderConfigured(t *testing.T) {
	app := start(t, options{})
	page, err := oauthlogintest.NewBrowser().Visit(context.Background(), app.URL+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	if page.Status != http.StatusOK || !bytes.Contains(page.Body, []byte(`id="no-provider"`)) || !bytes.Contains(page.Body, []byte("OIDC_ISSUER")) {
		t.Fatalf("home page without a provider:\n%s", page.Body)
	}
}

func TestRun(t *testing.T) {
	env := map[string]string{"ADDR": "127.0.0.1:0"}
	var log bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // serve nothing: start, then shut down at once
	if err := run(ctx, []string{"-base-url", "http://127.0.0.1:9"}, func(k string) string { return env[k] }, &log); err != nil {
		t.Fatalf("run: %v\n%s", err, log.String())
	}
	if !strings.Contains(log.String(), "no provider configured") || !strings.Contains(log.String(), "open http://127.0.0.1:9") {
		t.Fatalf("log:\n%s", log.String())
	}
	if err := run(context.Background(), []string{"-nope"}, func(string) string { return "" }, io.Discard); err == nil {
		t.Fatal("run accepted an unknown flag")
	}
	env["OIDC_ISSUER"] = "http://127.0.0.1:1" // nothing listens there
	if err := run(context.Background(), nil, func(k string) string { return env[k] }, io.Discard); err == nil {
		t.Fatal("run started with an unreachable issuer")
	}
}
