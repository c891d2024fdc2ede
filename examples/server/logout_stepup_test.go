package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
)

// The example's part of issue 17: "sign out of the provider too"
// (OpenID Connect RP-Initiated Logout 1.0), step-up logins (max_age,
// acr_values: OpenID Connect Core §3.1.2.1) and the back-channel logout
// URLs (Back-Channel Logout 1.0 §2.2).

// visit GETs target with b, following redirects, and fails the test on a
// network error.
func visit(t *testing.T, b *oauthlogintest.Browser, target string) *oauthlogintest.Page {
	t.Helper()
	page, err := b.Visit(t.Context(), target, nil)
	if err != nil {
		t.Fatal(err)
	}
	return page
}

// href returns the href of the element with id on page, absolute on app.
func href(t *testing.T, page *oauthlogintest.Page, app *httptest.Server, id string) string {
	t.Helper()
	m := regexp.MustCompile(`id="` + regexp.QuoteMeta(id) + `" href="([^"]+)"`).FindSubmatch(page.Body)
	if m == nil {
		t.Fatalf("no link #%s on %s:\n%s", id, page.URL, page.Body)
	}
	return app.URL + html.UnescapeString(string(m[1]))
}

// signedInWithOIDC serves the app with idp as its "oidc" provider (and env
// on top of oidcEnv), signs b in, and returns the app and the profile page.
func signedInWithOIDC(t *testing.T, idp *oauthlogintest.Server, env map[string]string) (*httptest.Server, *app, *oauthlogintest.Browser, *oauthlogintest.Page) {
	t.Helper()
	base := oidcEnv(idp)
	app, a := start(t, options{getenv: func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		return base(k)
	}})
	b := oauthlogintest.NewBrowser()
	profile := visit(t, b, signInLink(t, b, app, "oidc"))
	if profile.URL.Path != "/profile" {
		t.Fatalf("sign-in ended at %s:\n%s", profile.URL, profile.Body)
	}
	return app, a, b, profile
}

// The home page lists what to register at every provider: the one
// post-logout redirect URI, and each provider's redirect URI and
// back-channel logout URL (Back-Channel Logout 1.0 §2.2: the RP's
// backchannel_logout_uri).
func TestProviderURLsListed(t *testing.T) {
	idp := oauthlogintest.NewServer()
	t.Cleanup(idp.Close)
	app, _ := start(t, options{demo: true, getenv: oidcEnv(idp)})
	page := visit(t, oauthlogintest.NewBrowser(), app.URL+"/")
	for _, want := range []string{
		`<code id="post-logout-uri">` + app.URL + `/auth/logout/callback</code>`,
		`<code id="redirect-oidc">` + app.URL + `/auth/oidc/callback</code>`,
		`<code class="backchannel" id="backchannel-oidc">` + app.URL + `/auth/oidc/backchannel-logout</code>`,
		`<code class="backchannel" id="backchannel-demo">` + app.URL + `/auth/demo/backchannel-logout</code>`,
		`<code class="backchannel" id="backchannel-demo2">` + app.URL + `/auth/demo2/backchannel-logout</code>`,
	} {
		if !bytes.Contains(page.Body, []byte(want)) {
			t.Errorf("home page lacks %s:\n%s", want, page.Body)
		}
	}
}

// The back-channel logout URL the page lists is the library's route: a
// logout token it cannot verify gets 400 invalid_request, never cached
// (Back-Channel Logout 1.0 §2.8).
func TestBackChannelURLAnswers(t *testing.T) {
	_, a := startDemoApp(t)
	resp, err := http.PostForm(a.providers[0].BackChannelLogoutURI, url.Values{"logout_token": {"not.a.token"}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ Error string }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusBadRequest || body.Error != "invalid_request" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("bad logout token: %d %+v, Cache-Control %q", resp.StatusCode, body, resp.Header.Get("Cache-Control"))
	}
}

// The profile page offers "sign out of the provider too", as a button
// and as a plain link, both ending on the home page.
func TestProfileOffersProviderSignOut(t *testing.T) {
	idp := oauthlogintest.NewServer()
	t.Cleanup(idp.Close)
	app, _, _, profile := signedInWithOIDC(t, idp, nil)
	back := app.URL + "/?done=provider-signed-out"
	for _, want := range []string{
		`id="signout-provider" data-action="signout-provider" data-return="` + html.EscapeString(back) + `"`,
		`id="signout-provider-link" href="` + html.EscapeString("/auth/logout?"+url.Values{"return": {back}}.Encode()) + `"`,
	} {
		if !bytes.Contains(profile.Body, []byte(want)) {
			t.Errorf("profile lacks %s:\n%s", want, profile.Body)
		}
	}
}

// After "sign out of the provider too" the home page says how it went:
// signed out of both, of the app only (logout=local: the provider has no
// end_session_endpoint), or not surely of the provider (an error code it
// knows; anything else is not reflected).
func TestProviderSignOutNotices(t *testing.T) {
	app, _ := start(t, options{})
	b := oauthlogintest.NewBrowser()
	for _, c := range []struct{ query, want string }{
		{"done=provider-signed-out", `data-done="provider-signed-out">` + notices["provider-signed-out"]},
		{"done=provider-signed-out&logout=local", `data-done="signed-out-local">` + html.EscapeString(notices["signed-out-local"])},
		{"done=provider-signed-out&error=logout_state_mismatch", `class="notice error" id="notice" role="status" data-done="logout_state_mismatch">`},
		{"done=provider-signed-out&error=%3Cb%3Ecall+us%3C%2Fb%3E", `data-done="error">`},
	} {
		page := visit(t, b, app.URL+"/?"+c.query)
		if !bytes.Contains(page.Body, []byte(c.want)) {
			t.Errorf("/?%s lacks %s:\n%s", c.query, c.want, page.Body)
		}
		if bytes.Contains(page.Body, []byte("call us")) {
			t.Errorf("/?%s reflects the error parameter:\n%s", c.query, page.Body)
		}
	}
}

// Sign out of the provider too, through the JSON route the button calls:
// DELETE /auth/session?provider=1 ends the session and names the
// provider's end_session_endpoint (RP-Initiated Logout 1.0 §2), which
// sends the browser back through the library to the home page.
func TestSignOutOfProvider(t *testing.T) {
	idp := oauthlogintest.NewServer()
	t.Cleanup(idp.Close)
	app, _, b, profile := signedInWithOIDC(t, idp, nil)
	allowPostLogoutRedirect(idp, app.URL+"/auth/logout/callback")
	if bytes.Contains(profile.Body, []byte(`id="no-end-session"`)) {
		t.Errorf("the profile says the provider has no sign-out endpoint:\n%s", profile.Body)
	}

	back := app.URL + "/?done=provider-signed-out"
	req, _ := http.NewRequest(http.MethodDelete, app.URL+"/auth/session?"+url.Values{"provider": {"1"}, "return": {back}}.Encode(), nil)
	resp, err := b.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var answer struct {
		ProviderLogout bool
		Redirect       string
	}
	err = json.NewDecoder(resp.Body).Decode(&answer)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || !answer.ProviderLogout || !strings.HasPrefix(answer.Redirect, idp.URL+"/") {
		t.Fatalf("sign out of the provider: %d %+v %v", resp.StatusCode, answer, err)
	}
	home := visit(t, b, answer.Redirect)
	if home.URL.String() != back || !bytes.Contains(home.Body, []byte(`data-done="provider-signed-out"`)) {
		t.Fatalf("back from the provider at %s:\n%s", home.URL, home.Body)
	}
	if after := visit(t, b, app.URL+"/profile"); after.URL.Path != "/" {
		t.Errorf("signed out, /profile ended at %s", after.URL)
	}
}

// The same as a plain link: GET /auth/logout?return= goes to the provider
// and back.
func TestSignOutOfProviderLink(t *testing.T) {
	idp := oauthlogintest.NewServer()
	t.Cleanup(idp.Close)
	app, _, b, profile := signedInWithOIDC(t, idp, nil)
	allowPostLogoutRedirect(idp, app.URL+"/auth/logout/callback")

	home := visit(t, b, href(t, profile, app, "signout-provider-link"))
	if home.URL.String() != app.URL+"/?done=provider-signed-out" || !bytes.Contains(home.Body, []byte(`data-done="provider-signed-out"`)) {
		t.Fatalf("after the sign-out link: %s\n%s", home.URL, home.Body)
	}
	if after := visit(t, b, app.URL+"/profile"); after.URL.Path != "/" {
		t.Errorf("signed out, /profile ended at %s", after.URL)
	}
}

// The profile page's step-up links: begin with max_age=0, and with
// acr_values when the provider has a step-up acr (<NAME>_STEP_UP_ACR);
// both come back to the profile.
func TestProfileStepUpLinks(t *testing.T) {
	idp := oauthlogintest.NewServer()
	t.Cleanup(idp.Close)
	for _, acr := range []string{"", "gold"} {
		app, _, _, profile := signedInWithOIDC(t, idp, map[string]string{"OIDC_STEP_UP_ACR": acr})
		fresh, err := url.Parse(href(t, profile, app, "stepup-fresh"))
		if err != nil {
			t.Fatal(err)
		}
		if q := fresh.Query(); fresh.Path != "/auth/oidc" || q.Get("max_age") != "0" || q.Get("success") != app.URL+"/profile?done=stepped-up" || q.Has("acr_values") {
			t.Errorf("max_age=0 link: %s", fresh)
		}
		hasACR := bytes.Contains(profile.Body, []byte(`id="stepup-acr"`))
		if hasACR != (acr != "") {
			t.Errorf("OIDC_STEP_UP_ACR=%q: acr_values link shown: %v", acr, hasACR)
		}
		if acr == "" {
			continue
		}
		stepUp, err := url.Parse(href(t, profile, app, "stepup-acr"))
		if err != nil {
			t.Fatal(err)
		}
		if q := stepUp.Query(); stepUp.Path != "/auth/oidc" || q.Get("acr_values") != acr || q.Has("max_age") {
			t.Errorf("acr_values link: %s", stepUp)
		}
	}
}

// Step-up needs an OpenID provider: a plain OAuth 2.0 one (GitHub) gets
// no step-up links, and the profile says why.
func TestStepUpNeedsOpenID(t *testing.T) {
	a := &app{base: "http://app.example"}
	if fresh, acr := a.stepUpLinks(provider{Name: "github", StepUpACR: "x"}); fresh != "" || acr != "" {
		t.Errorf("links for a plain OAuth 2.0 provider: %q %q", fresh, acr)
	}
	var buf bytes.Buffer
	err := profilePage.ExecuteTemplate(&buf, "layout", map[string]any{
		"Session": &oauthlogin.Session{Provider: "github"}, "ProviderLabel": "GitHub", "Provider": provider{Name: "github"}, "Identities": []identity{},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(buf.Bytes(), []byte(`id="no-stepup"`)) || bytes.Contains(buf.Bytes(), []byte(`id="stepup-`)) {
		t.Errorf("profile of a GitHub session:\n%s", buf.Bytes())
	}
}

// A step-up with max_age=0 signs in again and the profile shows the new
// login's auth_time (OpenID Connect Core §2: auth_time is required when
// max_age was asked).
func TestStepUpFresh(t *testing.T) {
	idp := oauthlogintest.NewServer()
	t.Cleanup(idp.Close)
	app, _, b, profile := signedInWithOIDC(t, idp, nil)

	after := visit(t, b, href(t, profile, app, "stepup-fresh"))
	if after.URL.Path != "/profile" || !bytes.Contains(after.Body, []byte(`data-done="stepped-up"`)) || !bytes.Contains(after.Body, []byte(`<time id="auth-time"`)) {
		t.Fatalf("after the max_age=0 step-up: %s\n%s", after.URL, after.Body)
	}
}

// A step-up with acr_values through the demo provider: approved with its
// second factor, the profile shows the multi-factor acr; approved
// without, the library refuses the login (acr_not_satisfied), since the
// app treats acr_values as essential.
func TestStepUpACR(t *testing.T) {
	app, _ := startDemoApp(t)
	b := oauthlogintest.NewBrowser()
	page := visit(t, b, signInLink(t, b, app, "demo"))
	login := *page.URL
	login.Path, login.RawQuery = "/login", ""
	u, _, body := post(t, b, login.String(), url.Values{"id": {loginID(t, page)}, "name": {"Ada"}, "email": {"ada@example.com"}})
	if u.Path != "/profile" {
		t.Fatalf("sign-in ended at %s:\n%s", u, body)
	}
	profile := &oauthlogintest.Page{URL: u, Body: body}
	for _, secondFactor := range []bool{false, true} {
		page := visit(t, b, href(t, profile, app, "stepup-acr"))
		if !bytes.Contains(page.Body, []byte(`id="acr-request"`)) {
			t.Fatalf("demo login page does not show the acr request:\n%s", page.Body)
		}
		form := url.Values{"id": {loginID(t, page)}, "name": {"Ada"}, "email": {"ada@example.com"}}
		if secondFactor {
			form.Set("second_factor", "1")
		}
		u, _, body := post(t, b, login.String(), form)
		switch {
		case !secondFactor && (u.Path != "/error" || !bytes.Contains(body, []byte(`<code id="error-code">acr_not_satisfied</code>`))):
			t.Errorf("without the second factor: %s\n%s", u, body)
		case secondFactor && (u.Path != "/profile" || !bytes.Contains(body, []byte(`<code id="acr">`+demoACRMultiFactor+`</code>`))):
			t.Errorf("with the second factor: %s\n%s", u, body)
		}
	}
}

// The demo provider's login page says what a step-up asks (max_age=0,
// acr_values), also after a form error, and offers the second factor.
func TestDemoLoginShowsStepUpRequest(t *testing.T) {
	_, a := startDemoApp(t)
	d := a.demos[0]
	sum := sha256.Sum256([]byte("a verifier long enough for RFC 7636, 43 characters at least"))
	q := url.Values{
		"client_id": {d.idp.ClientID}, "response_type": {"code"}, "redirect_uri": {d.redirectURI}, "scope": {"openid"}, "state": {"s"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
		"max_age": {"0"}, "acr_values": {"urn:example:weak " + demoACRMultiFactor},
	}
	b := oauthlogintest.NewBrowser()
	page := visit(t, b, d.idp.URL+"/authorize?"+q.Encode())
	wants := []string{`id="fresh-login"`, `id="acr-request"`, "Tick “second factor”", `id="second-factor"`,
		`name="acr_values" value="urn:example:weak ` + demoACRMultiFactor + `"`}
	for _, want := range wants {
		if !bytes.Contains(page.Body, []byte(want)) {
			t.Errorf("login page lacks %s:\n%s", want, page.Body)
		}
	}
	u, status, body := post(t, b, d.idp.URL+"/login", url.Values{"id": {loginID(t, page)}, "name": {""}, "email": {"ada@example.com"},
		"max_age": {"0"}, "acr_values": {"urn:example:weak " + demoACRMultiFactor}, "second_factor": {"1"}})
	if status != http.StatusUnprocessableEntity {
		t.Fatalf("form error: %d %s", status, u)
	}
	for _, want := range append(wants, `id="second-factor" name="second_factor" type="checkbox" value="1" checked`) {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("login page after a form error lacks %s:\n%s", want, body)
		}
	}
	if plain := visit(t, b, d.idp.URL+"/authorize?"+withoutStepUp(q).Encode()); bytes.Contains(plain.Body, []byte(`id="fresh-login"`)) || bytes.Contains(plain.Body, []byte(`id="acr-request"`)) {
		t.Errorf("a plain login page speaks of step-up:\n%s", plain.Body)
	}
}

// withoutStepUp returns q without max_age and acr_values.
func withoutStepUp(q url.Values) url.Values {
	c := url.Values{}
	for k, v := range q {
		if k != "max_age" && k != "acr_values" {
			c[k] = v
		}
	}
	return c
}

// noEndSession returns a provider without an end_session_endpoint.
func noEndSession(t *testing.T) *oauthlogintest.Server {
	t.Helper()
	idp := oauthlogintest.NewServer()
	t.Cleanup(idp.Close)
	idp.Behave(oauthlogintest.Behavior{Discovery: map[string]any{"end_session_endpoint": nil}})
	return idp
}

// A provider without an end_session_endpoint: the profile says sign-out
// will be local only, and so does the home page after the plain link
// (RP-Initiated Logout 1.0 needs the endpoint; the library ends the app's
// session and adds logout=local to the return URL).
func TestSignOutOfProviderLocalOnly(t *testing.T) {
	app, _, b, profile := signedInWithOIDC(t, noEndSession(t), nil)
	if !bytes.Contains(profile.Body, []byte(`id="no-end-session"`)) {
		t.Errorf("the profile does not say the provider has no sign-out endpoint:\n%s", profile.Body)
	}
	home := visit(t, b, href(t, profile, app, "signout-provider-link"))
	if home.URL.Path != "/" || home.URL.Query().Get("logout") != "local" || !bytes.Contains(home.Body, []byte(`data-done="signed-out-local"`)) {
		t.Fatalf("after the sign-out link: %s\n%s", home.URL, home.Body)
	}
	if after := visit(t, b, app.URL+"/profile"); after.URL.Path != "/" {
		t.Errorf("signed out, /profile ended at %s", after.URL)
	}
}
