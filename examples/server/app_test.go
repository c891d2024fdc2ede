package main

import (
	"bytes"
	"context"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
)

// start serves the example app on a loopback port with o.
func start(t *testing.T, o options) (*httptest.Server, *app) {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	o.baseURL = "http://" + srv.Listener.Addr().String()
	a, err := newApp(context.Background(), o, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	srv.Config.Handler = a
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, a
}

// startDemoApp serves the app with its demo providers only.
func startDemoApp(t *testing.T) (*httptest.Server, *app) {
	t.Helper()
	return start(t, options{demo: true, demoTokenTTL: 2 * time.Minute})
}

// signInLink returns the href of the home page's sign-in link for provider.
func signInLink(t *testing.T, b *oauthlogintest.Browser, app *httptest.Server, provider string) string {
	t.Helper()
	home, err := b.Visit(t.Context(), app.URL+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	link := regexp.MustCompile(`id="signin-` + provider + `" href="([^"]+)"`).FindSubmatch(home.Body)
	if link == nil {
		t.Fatalf("no sign-in link for %s on the home page:\n%s", provider, home.Body)
	}
	return app.URL + html.UnescapeString(string(link[1]))
}

// loginID returns the login request id of a demo login page.
func loginID(t *testing.T, page *oauthlogintest.Page) string {
	t.Helper()
	m := regexp.MustCompile(`name="id" value="([^"]+)"`).FindSubmatch(page.Body)
	if page.Status != http.StatusOK || m == nil {
		t.Fatalf("not a demo login page: %d %s\n%s", page.Status, page.URL, page.Body)
	}
	return html.UnescapeString(string(m[1]))
}

// post submits form to target with b's cookies, following redirects, and
// returns the final response's URL, status and body.
func post(t *testing.T, b *oauthlogintest.Browser, target string, form url.Values) (*url.URL, int, []byte) {
	t.Helper()
	resp, err := b.Client.PostForm(target, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.Request.URL, resp.StatusCode, body
}

func TestSignInAndOut(t *testing.T) {
	idp := oauthlogintest.NewServer()
	t.Cleanup(idp.Close)
	app, _ := start(t, options{getenv: oidcEnv(idp)})
	b := oauthlogintest.NewBrowser()

	profile, err := b.Visit(t.Context(), signInLink(t, b, app, "oidc"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if profile.URL.Path != "/profile" || !bytes.Contains(profile.Body, []byte(`<dd id="provider-uid">user-1</dd>`)) {
		t.Fatalf("after sign-in: %s\n%s", profile.URL, profile.Body)
	}
	if !bytes.Contains(profile.Body, []byte(`<dd id="has-refresh-token">yes</dd>`)) {
		t.Errorf("profile does not say the session has a refresh token:\n%s", profile.Body)
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
	after, err := b.Visit(t.Context(), app.URL+"/profile", nil)
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
	app, _ := start(t, options{getenv: oidcEnv(idp)})
	b := oauthlogintest.NewBrowser()
	page, err := b.Visit(t.Context(), signInLink(t, b, app, "oidc"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if page.URL.Path != "/error" || !bytes.Contains(page.Body, []byte(`<code id="error-code">access_denied</code>`)) ||
		!bytes.Contains(page.Body, []byte(html.EscapeString(errorText[oauthlogin.ErrProviderDenied.Code()]))) {
		t.Fatalf("failure page %s:\n%s", page.URL, page.Body)
	}
}

func TestErrorPage(t *testing.T) {
	app, _ := start(t, options{})
	b := oauthlogintest.NewBrowser()
	for code, text := range errorText {
		page, err := b.Visit(t.Context(), app.URL+"/error?error="+url.QueryEscape(code), nil)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(page.Body, []byte(`<code id="error-code">`+code+`</code>`)) || !bytes.Contains(page.Body, []byte(html.EscapeString(text))) {
			t.Errorf("error page for %s:\n%s", code, page.Body)
		}
	}
}

// TestErrorPageReflectsNothing: the error page's parameter comes from
// whoever made the link, or from a provider's text passed along by a
// careless caller. The page shows a code it knows and nothing else: an
// unknown value, markup or a credential, is not reflected at all, escaped
// or not (OWASP: no content spoofing, no secret in a page).
func TestErrorPageReflectsNothing(t *testing.T) {
	app, _ := start(t, options{})
	b := oauthlogintest.NewBrowser()
	for _, v := range []string{
		`<script>alert(1)</script>`,
		"refresh token 1//0gAbCdEfGhIjKlMnOpQrStUvWxYz",
		"Your account is locked: call +1 555 0100",
		"invalid_grant",
	} {
		page, err := b.Visit(t.Context(), app.URL+"/error?error="+url.QueryEscape(v), nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, form := range []string{v, html.EscapeString(v), url.QueryEscape(v)} {
			if bytes.Contains(page.Body, []byte(form)) {
				t.Errorf("the error page reflects %q:\n%s", v, page.Body)
			}
		}
		if bytes.Contains(page.Body, []byte(`id="error-code"`)) || !bytes.Contains(page.Body, []byte("this page does not know")) {
			t.Errorf("unknown code %q not explained as unknown:\n%s", v, page.Body)
		}
	}
}

// TestErrorPageKnowsREADMECodes keeps the error page in step with the
// README's error table: every code there has a sentence here.
func TestErrorPageKnowsREADMECodes(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(readme), "\n## Error codes\n")
	table, _, _ = strings.Cut(table, "\n## ")
	rows := regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\|").FindAllStringSubmatch(table, -1)
	if !ok || len(rows) < 20 {
		t.Fatalf("found %d codes in the README's error table", len(rows))
	}
	for _, row := range rows {
		if _, ok := errorText[row[1]]; !ok {
			t.Errorf("the error page has no explanation for %s", row[1])
		}
	}
}

func TestSecurityHeaders(t *testing.T) {
	app, _ := start(t, options{})
	for _, path := range []string{"/", "/error?error=x", "/static/style.css", "/static/app.js"} {
		page, err := oauthlogintest.NewBrowser().Visit(t.Context(), app.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		h := page.Header
		if page.Status != http.StatusOK || !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") ||
			h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("%s: %d, headers %v", path, page.Status, h)
		}
	}
}

func TestNoProviderConfigured(t *testing.T) {
	app, _ := start(t, options{})
	page, err := oauthlogintest.NewBrowser().Visit(t.Context(), app.URL+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	if page.Status != http.StatusOK || !bytes.Contains(page.Body, []byte(`id="no-provider"`)) ||
		!bytes.Contains(page.Body, []byte("OIDC_ISSUER")) || !bytes.Contains(page.Body, []byte("GITHUB_CLIENT_ID")) {
		t.Fatalf("home page without a provider:\n%s", page.Body)
	}
}

func TestDemoSignIn(t *testing.T) {
	app, a := startDemoApp(t)
	b := oauthlogintest.NewBrowser()
	page, err := b.Visit(t.Context(), signInLink(t, b, app, "demo"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if page.URL.Host == strings.TrimPrefix(app.URL, "http://") || !strings.HasPrefix(page.URL.Host, "127.0.0.1:") {
		t.Errorf("login page served from %s; want the demo provider's own loopback origin", page.URL.Host)
	}
	h := page.Header
	if h.Get("Cache-Control") != "no-store" || !strings.Contains(h.Get("Content-Security-Policy"), "form-action 'self' "+app.URL+";") ||
		h.Get("X-Frame-Options") != "DENY" {
		t.Errorf("login page headers: %v", h)
	}
	for _, want := range []string{"demo provider — not for production", `id="approve"`, `id="deny"`, "<code>openid</code>", `id="email-verified"`} {
		if !bytes.Contains(page.Body, []byte(want)) {
			t.Errorf("login page lacks %q:\n%s", want, page.Body)
		}
	}
	id := loginID(t, page)
	login := *page.URL
	login.Path, login.RawQuery = "/login", ""
	u, status, body := post(t, b, login.String(), url.Values{"id": {id}, "name": {"Grace"}, "email": {"grace@example.com"}})
	if u.Path != "/profile" || status != http.StatusOK {
		t.Fatalf("after approving: %d %s\n%s", status, u, body)
	}
	for _, want := range []string{`<span id="provider">demo</span>`, `<dd id="provider-uid">` + subjectFor("grace@example.com") + `</dd>`,
		"grace@example.com", `<dd id="has-refresh-token">yes</dd>`, `id="refresh"`, `id="link-demo2"`, `<span class="count" id="identity-count">1</span>`} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("profile lacks %q:\n%s", want, body)
		}
	}

	// Neither the page nor the session JSON carries a provider token.
	resp, err := b.Client.Get(app.URL + "/auth/session")
	if err != nil {
		t.Fatal(err)
	}
	var js map[string]any
	err = json.NewDecoder(resp.Body).Decode(&js)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	s, err := a.store.Session(t.Context(), js["id"].(string))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := a.m.ProviderToken(s)
	if err != nil || tok == nil || tok.AccessToken == "" || tok.RefreshToken == "" {
		t.Fatalf("provider tokens: %v, %v", tok, err)
	}
	if bytes.Contains(body, []byte(tok.AccessToken)) || bytes.Contains(body, []byte(tok.RefreshToken)) {
		t.Error("the profile page shows a provider token")
	}
	if _, ok := js["providerAccessToken"]; ok {
		t.Error("the session JSON carries the provider access token")
	}
	if exp := time.Until(s.ProviderAccessTokenExpiry); exp < time.Minute || exp > 2*time.Minute+time.Second {
		t.Errorf("demo access token expires in %v, want about -demo-token-ttl (2m)", exp)
	}
}

func TestDemoDeny(t *testing.T) {
	app, _ := startDemoApp(t)
	b := oauthlogintest.NewBrowser()
	page, err := b.Visit(t.Context(), signInLink(t, b, app, "demo2"), nil)
	if err != nil {
		t.Fatal(err)
	}
	login := *page.URL
	login.Path, login.RawQuery = "/login", ""
	u, _, body := post(t, b, login.String(), url.Values{"id": {loginID(t, page)}, "decision": {"deny"}})
	if u.Path != "/error" || !bytes.Contains(body, []byte(`<code id="error-code">access_denied</code>`)) {
		t.Fatalf("after denying: %s\n%s", u, body)
	}
}

func TestDemoLoginForm(t *testing.T) {
	app, _ := startDemoApp(t)
	b := oauthlogintest.NewBrowser()
	page, err := b.Visit(t.Context(), signInLink(t, b, app, "demo"), nil)
	if err != nil {
		t.Fatal(err)
	}
	id := loginID(t, page)
	login := *page.URL
	login.Path, login.RawQuery = "/login", ""

	// A bad email shows the form again, everything typed escaped.
	evil := `<script>alert("x")</script>`
	u, status, body := post(t, b, login.String(), url.Values{"id": {id}, "name": {evil}, "email": {"not an address"}})
	if u.Path != "/login" || status != http.StatusUnprocessableEntity || !bytes.Contains(body, []byte(`id="form-error"`)) {
		t.Fatalf("bad email: %d %s\n%s", status, u, body)
	}
	if bytes.Contains(body, []byte("<script>")) || !bytes.Contains(body, []byte("&lt;script&gt;")) {
		t.Errorf("typed name not escaped:\n%s", body)
	}
	if u, status, _ := post(t, b, login.String(), url.Values{"id": {id}, "name": {""}, "email": {"a@example.com"}}); status != http.StatusUnprocessableEntity {
		t.Errorf("empty name: %d %s", status, u)
	}

	// The request is still pending after form errors, and single use.
	if u, status, body := post(t, b, login.String(), url.Values{"id": {id}, "name": {"Ada"}, "email": {"ada@example.com"}}); u.Path != "/profile" {
		t.Fatalf("approve after form errors: %d %s\n%s", status, u, body)
	}
	u, status, body = post(t, b, login.String(), url.Values{"id": {id}, "name": {"Ada"}, "email": {"ada@example.com"}})
	if status != http.StatusBadRequest || !bytes.Contains(body, []byte("expired or was already answered")) {
		t.Errorf("second approve: %d %s\n%s", status, u, body)
	}
}

func TestDemoLoginRefusals(t *testing.T) {
	_, a := startDemoApp(t)
	idp := a.demos[0].idp

	// Another Host (DNS rebinding) is refused, on every route of the page.
	for _, path := range []string{"/static/style.css", "/login"} {
		req, _ := http.NewRequest(http.MethodGet, idp.URL+path, nil)
		if path == "/login" {
			req.Method = http.MethodPost
		}
		req.Host = "rebound.example"
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMisdirectedRequest {
			t.Errorf("%s for Host rebound.example = %d, want 421", path, resp.StatusCode)
		}
	}

	// A cross-site form post is refused.
	req, _ := http.NewRequest(http.MethodPost, idp.URL+"/login", strings.NewReader("id=x&decision=deny"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site login post = %d, want 403", resp.StatusCode)
	}

	// Only the app's own callback is a registered redirect URI.
	q := url.Values{"client_id": {idp.ClientID}, "response_type": {"code"}, "redirect_uri": {"http://evil.example/cb"}, "state": {"s"}}
	page, err := oauthlogintest.NewBrowser().Visit(t.Context(), idp.URL+"/authorize?"+q.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if page.Status != http.StatusBadRequest || bytes.Contains(page.Body, []byte(`name="id"`)) {
		t.Errorf("foreign redirect URI: %d\n%s", page.Status, page.Body)
	}
}

func TestRun(t *testing.T) {
	env := map[string]string{"ADDR": "127.0.0.1:0"}
	getenv := func(k string) string { return env[k] }

	// Each run serves nothing: it stops as soon as it says it listens.
	log := &untilListening{}
	if err := run(log.context(), []string{"-base-url", "http://127.0.0.1:9", "-demo=false"}, getenv, log); err != nil {
		t.Fatalf("run: %v\n%s", err, log.String())
	}
	if !strings.Contains(log.String(), "no provider configured") || !strings.Contains(log.String(), "open http://127.0.0.1:9") {
		t.Fatalf("log:\n%s", log.String())
	}

	log = &untilListening{}
	if err := run(log.context(), []string{"-base-url", "http://127.0.0.1:9", "-demo-token-ttl", "30s"}, getenv, log); err != nil {
		t.Fatalf("run: %v\n%s", err, log.String())
	}
	for _, want := range []string{"provider demo: http://127.0.0.1:", "provider demo2: http://127.0.0.1:", "not for production", "access tokens last 30s",
		"post-logout redirect URI (register it at every provider): http://127.0.0.1:9/auth/logout/callback\n",
		"provider demo: back-channel logout URL http://127.0.0.1:9/auth/demo/backchannel-logout\n",
		"provider demo2: back-channel logout URL http://127.0.0.1:9/auth/demo2/backchannel-logout\n"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, log.String())
		}
	}
	if strings.Contains(log.String(), "no provider configured") {
		t.Errorf("demo providers are on by default:\n%s", log.String())
	}

	if err := run(context.Background(), []string{"-nope"}, getenv, io.Discard); err == nil {
		t.Fatal("run accepted an unknown flag")
	}
	env["OIDC_ISSUER"], env["OIDC_CLIENT_ID"] = "http://127.0.0.1:1", "client" // nothing listens there
	log = &untilListening{}                                                    // should it start after all, it stops at once
	if err := run(log.context(), []string{"-demo=false"}, getenv, log); err == nil {
		t.Fatal("run started with an unreachable issuer")
	}
}

// untilListening is a log that cancels its context when run says it
// listens.
type untilListening struct {
	bytes.Buffer
	cancel context.CancelFunc
}

func (l *untilListening) context() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	return ctx
}

func (l *untilListening) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte("listening on")) {
		l.cancel()
	}
	return l.Buffer.Write(p)
}

// syncBuffer is a log the server writes to while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// The server logs oauthlogin's events: a sign-up here.
func TestEventsLogged(t *testing.T) {
	idp := oauthlogintest.NewServer()
	t.Cleanup(idp.Close)
	var log syncBuffer
	srv := httptest.NewUnstartedServer(nil)
	a, err := newApp(context.Background(), options{baseURL: "http://" + srv.Listener.Addr().String(), getenv: oidcEnv(idp)}, &log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	srv.Config.Handler = a
	srv.Start()
	t.Cleanup(srv.Close)
	b := oauthlogintest.NewBrowser()
	if _, err := b.Visit(t.Context(), signInLink(t, b, srv, "oidc"), nil); err != nil {
		t.Fatal(err)
	}
	if got := log.String(); !strings.Contains(got, "msg=event type=signup") || !strings.Contains(got, "provider=oidc") {
		t.Fatalf("log has no sign-up event:\n%s", got)
	}
}

// oidcEnv is the environment that registers idp as the "oidc" provider.
func oidcEnv(idp *oauthlogintest.Server) func(string) string {
	env := map[string]string{"OIDC_ISSUER": idp.URL, "OIDC_CLIENT_ID": idp.ClientID, "OIDC_CLIENT_SECRET": idp.ClientSecret}
	return func(k string) string { return env[k] }
}

// The demo provider's device page approves a device signing in through
// the app's device routes (what examples/device does).
func TestDemoDevice(t *testing.T) {
	app, _ := startDemoApp(t)
	postJSON := func(u string, form url.Values) (int, map[string]any) {
		resp, err := http.PostForm(u, form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v map[string]any
		json.NewDecoder(resp.Body).Decode(&v)
		return resp.StatusCode, v
	}
	status, start := postJSON(app.URL+"/auth/demo/device", nil)
	if status != http.StatusOK {
		t.Fatalf("device start = %d %v", status, start)
	}
	page, err := oauthlogintest.NewBrowser().Visit(t.Context(), start["verification_uri_complete"].(string), nil)
	if err != nil || page.Status != http.StatusOK || !bytes.Contains(page.Body, []byte(`value="`+start["user_code"].(string)+`"`)) {
		t.Fatalf("activate page: %v %d\n%s", err, page.Status, page.Body)
	}
	resp, err := http.PostForm(start["verification_uri"].(string), url.Values{"user_code": {start["user_code"].(string)},
		"name": {"Ada"}, "email": {"ada@example.com"}, "email_verified": {"1"}, "decision": {"approve"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(`id="done"`)) {
		t.Fatalf("approve = %d\n%s", resp.StatusCode, body)
	}
	status, s := postJSON(app.URL+"/auth/device/token", url.Values{"handle": {start["handle"].(string)}})
	if status != http.StatusCreated || s["providerUid"] != subjectFor("ada@example.com") {
		t.Fatalf("poll = %d %v", status, s)
	}
}
