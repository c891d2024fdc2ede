package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"html/template"
	"io/fs"
	"net/http"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/oauthlogin/oauthlogin/oauthlogintest"
)

// demoProvider is a real OpenID provider running in this process, on its
// own loopback port: an oauthlogintest.Server with a login page where the
// visitor makes up a user and approves or denies the request. It is for
// trying the app out, not for production.
type demoProvider struct {
	name, label string
	idp         *oauthlogintest.Server
	host        string // the provider's host:port; requests for any other Host are refused
	redirectURI string // the only redirect URI it accepts: the app's callback
	appOrigin   string // the app's origin, where the login form may lead
	csrf        *http.CrossOriginProtection
	approving   sync.Mutex // approveAs's turns
}

// startDemo starts a demo provider for the app at baseURL whose access
// tokens last ttl.
func startDemo(name, label, baseURL string, ttl time.Duration) (*demoProvider, error) {
	app, err := url.Parse(baseURL)
	if err != nil {
		return nil, err
	}
	idp := oauthlogintest.NewServer()
	u, err := url.Parse(idp.URL)
	if err != nil {
		idp.Close()
		return nil, err
	}
	d := &demoProvider{
		name: name, label: label, idp: idp, host: u.Host,
		redirectURI: strings.TrimSuffix(baseURL, "/") + "/auth/" + name + "/callback",
		appOrigin:   app.Scheme + "://" + app.Host,
		csrf:        http.NewCrossOriginProtection(),
	}
	idp.SetAccessTokenTTL(ttl)
	idp.SetLoginPage(d.loginPage)
	// The app's one post-logout redirect URI (OpenID Connect RP-Initiated
	// Logout 1.0 §3), the only one this provider's end_session_endpoint
	// sends browsers back to.
	allowPostLogoutRedirect(idp, strings.TrimSuffix(baseURL, "/")+"/auth/logout/callback")
	static, err := fs.Sub(web, "web/static")
	if err != nil {
		idp.Close()
		return nil, err
	}
	idp.Handle("GET /static/", d.onlyOwnHost(http.StripPrefix("/static/", http.FileServerFS(static))))
	idp.Handle("POST /login", d.onlyOwnHost(d.csrf.Handler(http.HandlerFunc(d.answer))))
	idp.Handle("GET /activate", d.onlyOwnHost(http.HandlerFunc(d.activatePage)))
	idp.Handle("POST /activate", d.onlyOwnHost(d.csrf.Handler(http.HandlerFunc(d.activate))))
	return d, nil
}

// Close stops the provider.
func (d *demoProvider) Close() { d.idp.Close() }

// onlyOwnHost refuses requests whose Host is not the provider's loopback
// address, so that a DNS rebinding page cannot drive the login page.
func (d *demoProvider) onlyOwnHost(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Host != d.host {
			http.Error(w, "demo provider: wrong Host", http.StatusMisdirectedRequest)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// The authentication context classes (acr) the demo providers sign users
// in with: a password alone, or with a second factor (the demo's second
// factor is a checkbox). The multi-factor one is the OpenID PAPE policy
// URI that several real providers use for it.
const (
	demoACRPassword    = "urn:oauthlogin:demo:password"
	demoACRMultiFactor = "http://schemas.openid.net/pape/policies/2007/06/multi-factor"
)

// loginForm is what the login page shows.
type loginForm struct {
	Provider, Label string
	Request         oauthlogintest.LoginRequest
	App             string // the origin of the app asking
	Scopes          []scope
	Name, Email     string
	EmailVerified   bool
	Error           string
	// MaxAge and ACRValues are the request's max_age and acr_values, as
	// the app sent them: a step-up login. The page says what they ask.
	MaxAge, ACRValues string
	SecondFactor      bool // the second-factor box was ticked
}

// FreshLogin reports whether the app asks the user to authenticate again
// now (max_age=0).
func (f loginForm) FreshLogin() bool { return f.MaxAge == "0" }

// WantsMultiFactor reports whether the app's acr_values ask for the demo's
// multi-factor sign-in.
func (f loginForm) WantsMultiFactor() bool {
	return slices.Contains(strings.Fields(f.ACRValues), demoACRMultiFactor)
}

// scope is a requested scope with what it means.
type scope struct{ Name, Meaning string }

var scopeMeanings = map[string]string{
	"openid":         "sign you in (OpenID Connect)",
	"email":          "see your email address and whether it is verified",
	"profile":        "see your name and username",
	"offline_access": "keep access while you are away (refresh tokens)",
}

// loginPage serves the authorization endpoint's page for a held request.
// Like a real provider, it accepts only the registered redirect URI: the
// app's callback.
func (d *demoProvider) loginPage(w http.ResponseWriter, r *http.Request, req oauthlogintest.LoginRequest) {
	switch {
	case r.Host != d.host:
		http.Error(w, "demo provider: wrong Host", http.StatusMisdirectedRequest)
	case req.RedirectURI != d.redirectURI:
		d.render(w, http.StatusBadRequest, loginForm{Provider: d.name, Label: d.label,
			Error: "This sign-in request names a redirect URI that is not registered with the demo provider."})
	default:
		f := d.form(req)
		// The authorization request's own parameters: what a step-up
		// login asks of the provider (OpenID Connect Core §3.1.2.1).
		q := r.URL.Query()
		f.MaxAge, f.ACRValues = q.Get("max_age"), q.Get("acr_values")
		d.render(w, http.StatusOK, f)
	}
}

// form is the empty login form for req.
func (d *demoProvider) form(req oauthlogintest.LoginRequest) loginForm {
	f := loginForm{Provider: d.name, Label: d.label, Request: req, App: d.appOrigin}
	for _, s := range req.Scopes {
		m, ok := scopeMeanings[s]
		if !ok {
			m = "a permission this demo does not know"
		}
		f.Scopes = append(f.Scopes, scope{s, m})
	}
	return f
}

// answer receives the login form: Deny, or Approve for the user typed in.
func (d *demoProvider) answer(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "demo provider: unreadable form", http.StatusBadRequest)
		return
	}
	id := r.PostForm.Get("id")
	req, ok := d.idp.PendingLogin(id)
	if !ok || req.RedirectURI != d.redirectURI {
		d.render(w, http.StatusBadRequest, loginForm{Provider: d.name, Label: d.label,
			Error: "This sign-in request has expired or was already answered. Go back to the app and start again."})
		return
	}
	if r.PostForm.Get("decision") == "deny" {
		d.idp.Deny(w, r, id)
		return
	}
	name := strings.TrimSpace(r.PostForm.Get("name"))
	email := strings.TrimSpace(r.PostForm.Get("email"))
	verified := r.PostForm.Get("email_verified") != ""
	secondFactor := r.PostForm.Get("second_factor") != ""
	if msg := checkUser(name, email); msg != "" {
		f := d.form(req)
		f.Name, f.Email, f.EmailVerified, f.Error = name, email, verified, msg
		// Shown again as the first page showed them; they only explain.
		f.MaxAge, f.ACRValues, f.SecondFactor = r.PostForm.Get("max_age"), r.PostForm.Get("acr_values"), secondFactor
		d.render(w, http.StatusUnprocessableEntity, f)
		return
	}
	acr := demoACRPassword
	if secondFactor {
		acr = demoACRMultiFactor
	}
	d.approveAs(w, r, id, oauthlogintest.User{
		Subject:       subjectFor(email),
		Email:         email,
		EmailVerified: verified,
		Name:          name,
		Username:      strings.ToLower(email[:strings.LastIndexByte(email, '@')]),
	}, acr)
}

// checkUser returns what is wrong with a typed-in user, or "".
func checkUser(name, email string) string {
	switch {
	case name == "" || utf8.RuneCountInString(name) > 100:
		return "Type a display name of 1 to 100 characters."
	case len(email) > 254:
		return "That email address is too long."
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || a.Name != "" {
		return "Type an email address such as ada@example.com."
	}
	return ""
}

// subjectFor is the demo user id of an email address: the same address
// always signs in as the same provider account.
func subjectFor(email string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(email)))
	return "demo-" + hex.EncodeToString(sum[:8])
}

var loginTmpl = template.Must(template.ParseFS(web, "web/templates/demo_login.html"))

// render writes the login page with headers for a page that asks for
// credentials: never cached, never framed, forms only to this provider and
// back to the app.
func (d *demoProvider) render(w http.ResponseWriter, status int, f loginForm) {
	var buf bytes.Buffer
	if err := loginTmpl.Execute(&buf, f); err != nil {
		http.Error(w, "template error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; form-action 'self' "+d.appOrigin+"; base-uri 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	buf.WriteTo(w)
}
