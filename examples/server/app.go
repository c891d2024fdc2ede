package main

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/providers"
)

// web holds the page templates and the static files (CSS, a little JS).
//
//go:embed web
var web embed.FS

// options configure the app; run fills them from flags and environment.
type options struct {
	baseURL string
	// demo runs the in-process demo providers, whose access tokens last
	// demoTokenTTL.
	demo         bool
	demoTokenTTL time.Duration
	// getenv reads real providers' settings (see registerProviders); nil
	// means none.
	getenv func(string) string
}

// label is a provider's name as the pages show it.
func label(name string) string {
	switch name {
	case "oidc":
		return "OpenID Connect"
	case "github":
		return "GitHub"
	case "x":
		return "X"
	}
	return strings.ToUpper(name[:1]) + name[1:]
}

// provider is a registered provider as the pages show it.
type provider struct {
	Name  string // the URL segment: "github", "demo"
	Label string // for people: "GitHub", "Demo provider"
	Demo  bool   // one of the in-process demo providers
	// OpenID: an OpenID Connect provider, which step-up logins (max_age,
	// acr_values) need.
	OpenID bool
	// StepUpACR is the acr value the step-up button asks for (acr_values),
	// "" for none: <NAME>_STEP_UP_ACR, or demoACRMultiFactor for the demos.
	StepUpACR string
	// EndSession: the provider has an end_session_endpoint, so that "sign
	// out of the provider too" reaches it; without one, logout is local.
	EndSession bool
	// RedirectURI and BackChannelLogoutURI are the URLs to register at the
	// provider: the callback, and where it sends back-channel logout
	// tokens (OpenID Connect Back-Channel Logout 1.0).
	RedirectURI, BackChannelLogoutURI string
}

// app is the example web app: oauthlogin under /auth/, a home page, a
// profile page and an error page.
type app struct {
	m         *oauthlogin.Manager
	store     *oauthlogin.MemoryStore
	base      string
	providers []provider // in the order the home page lists them
	demos     []*demoProvider
	handler   http.Handler
}

// newApp builds the app with the providers o configures. Close it to stop
// the demo providers.
func newApp(ctx context.Context, o options, log io.Writer) (*app, error) {
	// One memory store for everything, which the profile page also reads
	// the user's identities from.
	store := oauthlogin.NewMemoryStore()
	events := slog.New(slog.NewTextHandler(log, nil))
	m, err := oauthlogin.New(oauthlogin.Config{
		BaseURL: o.baseURL,
		// A fresh key each start: fine for a demo whose sessions live in
		// memory anyway. A real app loads its keys from its secrets.
		Keys:  oauthlogin.Keys{Cookie: []oauthlogin.CookieKey{oauthlogin.GenerateCookieKey()}},
		Store: store,
		// The pages never need the provider's access token, so the session
		// JSON does not carry it either.
		// The device flow (examples/device) is served for the demo
		// provider only: an app opts in per provider.
		DeviceProviders: []string{"demo"},
		// Sign-ups, logins, links, unlinks, logouts and refresh failures
		// go to the server's log: never a token.
		Hooks: oauthlogin.Hooks{OnEvent: func(ctx context.Context, e oauthlogin.Event) {
			events.InfoContext(ctx, "event", "type", e.Type, "user", e.UserID, "provider", e.Provider, "identity", e.IdentityID, "ip", e.IP, "code", e.Code)
		}},
	})
	if err != nil {
		return nil, err
	}
	a := &app{m: m, store: store, base: o.baseURL}
	if err := a.registerProviders(ctx, o, log); err != nil {
		a.Close()
		return nil, err
	}
	a.logProviderURLs(log)
	if len(a.providers) == 0 {
		fmt.Fprintln(log, "no provider configured: set <PROVIDER>_CLIENT_ID and <PROVIDER>_CLIENT_SECRET (e.g. GITHUB_, GOOGLE_, or OIDC_ with OIDC_ISSUER), or leave -demo on")
	}
	a.handler = a.routes()
	return a, nil
}

// registerProviders registers the real providers whose credentials o has,
// then, unless switched off, the demo providers.
func (a *app) registerProviders(ctx context.Context, o options, log io.Writer) error {
	// Any provider of the catalogue whose client id is in the environment:
	// <NAME>_CLIENT_ID, <NAME>_CLIENT_SECRET and <NAME>_<SETTING>.
	getenv := o.getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	for _, e := range providers.Catalog() {
		prefix := strings.ToUpper(e.Name) + "_"
		id := getenv(prefix + "CLIENT_ID")
		if id == "" {
			continue
		}
		s := providers.Settings{
			Config: providers.Config{ClientID: id, ClientSecret: getenv(prefix + "CLIENT_SECRET"), OfflineAccess: true},
			Values: map[string]string{},
		}
		for _, set := range e.Settings {
			s.Values[set.Name] = getenv(prefix + strings.ToUpper(set.Name))
		}
		p, err := e.New(ctx, s)
		if err != nil {
			return fmt.Errorf("provider %s: %w", e.Name, err)
		}
		if err := a.register(p, label(e.Name), false, getenv(prefix+"STEP_UP_ACR")); err != nil {
			return err
		}
		fmt.Fprintf(log, "provider %s (redirect URI %s/auth/%s/callback)\n", e.Name, o.baseURL, e.Name)
	}
	if !o.demo {
		return nil
	}
	for _, d := range []struct{ name, label string }{{"demo", "Demo provider"}, {"demo2", "Demo provider 2"}} {
		demo, err := startDemo(d.name, d.label, o.baseURL, o.demoTokenTTL)
		if err != nil {
			return err
		}
		a.demos = append(a.demos, demo)
		p, err := providers.OIDC(ctx, d.name, demo.idp.URL, providers.Config{ClientID: demo.idp.ClientID, ClientSecret: demo.idp.ClientSecret})
		if err != nil {
			return err
		}
		if err := a.register(p, d.label, true, demoACRMultiFactor); err != nil {
			return err
		}
		fmt.Fprintf(log, "provider %s: %s (demo provider, not for production; access tokens last %v)\n", d.name, demo.idp.URL, o.demoTokenTTL)
	}
	return nil
}

// logProviderURLs prints what to register at each provider for logout:
// the one post-logout redirect URI, and each provider's back-channel
// logout URL.
func (a *app) logProviderURLs(log io.Writer) {
	if len(a.providers) == 0 {
		return
	}
	fmt.Fprintf(log, "post-logout redirect URI (register it at every provider): %s\n", a.postLogoutRedirectURI())
	for _, p := range a.providers {
		fmt.Fprintf(log, "provider %s: back-channel logout URL %s\n", p.Name, p.BackChannelLogoutURI)
	}
}

// authURL is the absolute URL of one of oauthlogin's routes, path
// relative to its prefix /auth/.
func (a *app) authURL(path string) string {
	return strings.TrimSuffix(a.base, "/") + "/auth/" + path
}

// postLogoutRedirectURI is where providers send the browser back after
// "sign out of the provider too": one URL for every provider.
func (a *app) postLogoutRedirectURI() string { return a.authURL("logout/callback") }

func (a *app) register(p oauthlogin.Provider, label string, demo bool, stepUpACR string) error {
	if err := a.m.Register(p); err != nil {
		return err
	}
	_, openID := p.(oauthlogin.OpenIDProvider)
	lp, logout := p.(oauthlogin.LogoutProvider)
	a.providers = append(a.providers, provider{
		Name: p.Name(), Label: label, Demo: demo,
		OpenID:               openID,
		StepUpACR:            stepUpACR,
		EndSession:           logout && lp.EndSessionEndpoint() != "",
		RedirectURI:          a.authURL(p.Name() + "/callback"),
		BackChannelLogoutURI: a.authURL(p.Name() + "/backchannel-logout"),
	})
	return nil
}

// Close stops the demo providers.
func (a *app) Close() {
	for _, d := range a.demos {
		d.Close()
	}
}

func (a *app) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.handler.ServeHTTP(w, r) }

func (a *app) routes() http.Handler {
	static, err := fs.Sub(web, "web/static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	pages := http.NewServeMux()
	pages.HandleFunc("GET /{$}", a.home)
	pages.HandleFunc("GET /profile", a.profile)
	pages.HandleFunc("GET /error", a.errorPage)

	mux := http.NewServeMux()
	mux.Handle("/auth/", a.m.Handler())
	mux.Handle("GET /static/", secureHeaders(http.StripPrefix("/static/", http.FileServerFS(static))))
	mux.Handle("/", secureHeaders(a.m.LoadSession(pages)))
	return mux
}

// secureHeaders sets the headers every page of the app carries: a content
// security policy that allows only the app's own scripts and styles (so
// no inline script), no framing, no sniffing and no referrer.
func secureHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}

// notice is the message a page shows after an action; Error marks one
// that reports a failure.
type notice struct {
	Done, Text string
	Error      bool
}

// noticeFor returns the notice for the value of a page's done parameter,
// nil for none.
func noticeFor(done string) *notice {
	if text, ok := notices[done]; ok {
		return &notice{Done: done, Text: text}
	}
	return nil
}

// homeNotice is the home page's notice for its query q. After "sign out
// of the provider too", the library sends the browser back here with
// logout=local when the provider had no end_session_endpoint (the app's
// session ended, the provider's did not), or with error= when the return
// from the provider could not be trusted (logout_state_mismatch).
func homeNotice(q url.Values) *notice {
	done := q.Get("done")
	if done != "provider-signed-out" {
		return noticeFor(done)
	}
	if code := q.Get("error"); code != "" {
		text, ok := errorText[code]
		if !ok {
			code, text = "error", "Signing out at the provider failed with an error this page does not know."
		}
		// This app's session ended before the browser left for the
		// provider: only the provider's part is in doubt.
		return &notice{Done: code, Text: "You are signed out of this app, but not surely of the provider: " + text, Error: true}
	}
	if q.Get("logout") == "local" {
		return noticeFor("signed-out-local")
	}
	return noticeFor(done)
}

// notices are the messages a page shows after an action, by the value of
// its done parameter. Other values show nothing.
var notices = map[string]string{
	"linked":              "Linked a new identity to your account.",
	"refreshed":           "The provider access token was refreshed.",
	"unlinked":            "Identity unlinked.",
	"signed-out":          "You are signed out.",
	"provider-signed-out": "You are signed out of this app and of the provider.",
	"signed-out-local":    "You are signed out of this app. The provider has no sign-out endpoint, so you may still be signed in there.",
	"stepped-up":          "You signed in again at the provider: the sign-in facts below are the new login's.",
}

// signIn is a provider's sign-in link on the home page.
type signIn struct {
	provider
	URL string
}

func (a *app) home(w http.ResponseWriter, r *http.Request) {
	_, signedIn := oauthlogin.SessionFromContext(r.Context())
	data := struct {
		SignedIn   bool
		Notice     *notice
		Base       string
		SignIns    []signIn
		HasDemo    bool
		PostLogout string
	}{SignedIn: signedIn, Notice: homeNotice(r.URL.Query()), Base: a.base, PostLogout: a.postLogoutRedirectURI()}
	for _, p := range a.providers {
		q := url.Values{"success": {a.base + "/profile"}, "failure": {a.base + "/error"}}
		data.SignIns = append(data.SignIns, signIn{p, "/auth/" + p.Name + "?" + q.Encode()})
		data.HasDemo = data.HasDemo || p.Demo
	}
	render(w, http.StatusOK, homePage, data)
}

// identity is one row of the profile page's identity list.
type identity struct {
	ID, Provider, Label, ProviderUID, Email string
	EmailVerified                           bool // the provider asserted Email verified
	Linked                                  time.Time
	Current                                 bool // the identity this session signed in with
}

func (a *app) profile(w http.ResponseWriter, r *http.Request) {
	s, ok := oauthlogin.SessionFromContext(r.Context())
	if !ok {
		http.Redirect(w, r, "/", http.StatusFound)
		return
	}
	tok, err := a.m.ProviderToken(s)
	if err != nil {
		http.Error(w, "cannot open the session's provider tokens", http.StatusInternalServerError)
		return
	}
	ids, err := a.store.UserIdentities(r.Context(), s.UserID)
	if err != nil {
		http.Error(w, "cannot read identities", http.StatusInternalServerError)
		return
	}
	data := struct {
		Session         *oauthlogin.Session
		ProviderLabel   string
		HasRefreshToken bool
		Identities      []identity
		LinkProviders   []provider
		Notice          *notice
		Base            string
		Provider        provider // the session's
		SignOutReturn   string   // where "sign out of the provider too" ends
		SignOutLink     string   // the same as a plain link
		StepUpFresh     string   // begin with max_age=0, "" for none
		StepUpACR       string   // begin with acr_values, "" for none
	}{
		Session:         s,
		ProviderLabel:   a.label(s.Provider),
		HasRefreshToken: tok != nil && tok.RefreshToken != "",
		LinkProviders:   a.providers,
		Notice:          noticeFor(r.URL.Query().Get("done")),
		Base:            a.base,
		Provider:        a.provider(s.Provider),
		SignOutReturn:   a.base + "/?done=provider-signed-out",
	}
	data.SignOutLink = "/auth/logout?" + url.Values{"return": {data.SignOutReturn}}.Encode()
	data.StepUpFresh, data.StepUpACR = a.stepUpLinks(data.Provider)
	for _, id := range ids {
		data.Identities = append(data.Identities, identity{
			ID: id.ID, Provider: id.Provider, Label: a.label(id.Provider), ProviderUID: id.ProviderUID,
			Email: id.ProviderEmail, EmailVerified: id.VerifiedEmail != "", Linked: id.Created, Current: id.ID == s.IdentityID,
		})
	}
	// Personal data: no caching anywhere.
	w.Header().Set("Cache-Control", "no-store")
	render(w, http.StatusOK, profilePage, data)
}

func (a *app) errorPage(w http.ResponseWriter, r *http.Request) {
	_, signedIn := oauthlogin.SessionFromContext(r.Context())
	// The page shows a code it knows, and nothing else of its URL: the
	// parameter is anyone's text (a crafted link), never reflected.
	code := r.URL.Query().Get("error")
	explanation, known := errorText[code]
	switch {
	case code == "":
		explanation = "No error code was given."
	case !known:
		code, explanation = "", "The sign-in failed with an error this page does not know."
	}
	render(w, http.StatusOK, errorPageTmpl, struct {
		Code, Explanation string
		SignedIn          bool
	}{code, explanation, signedIn})
}

// label is the name people see for a provider.
func (a *app) label(name string) string {
	return a.provider(name).Label
}

// provider returns the registered provider name, or one that only has
// the name (a session of a provider no longer registered).
func (a *app) provider(name string) provider {
	for _, p := range a.providers {
		if p.Name == name {
			return p
		}
	}
	return provider{Name: name, Label: name}
}

// stepUpLinks returns the begin links of p's step-up buttons: a login
// that must be fresh (max_age=0: the provider asks the user to
// authenticate again, and the callback refuses an older auth_time), and
// one that must reach p.StepUpACR (acr_values: the callback refuses
// another acr). Each is "" when p cannot do it: step-up needs an OpenID
// provider.
func (a *app) stepUpLinks(p provider) (fresh, acr string) {
	if !p.OpenID {
		return "", ""
	}
	q := url.Values{"success": {a.base + "/profile?done=stepped-up"}, "failure": {a.base + "/error"}, "max_age": {"0"}}
	fresh = "/auth/" + p.Name + "?" + q.Encode()
	if p.StepUpACR != "" {
		q.Del("max_age")
		q.Set("acr_values", p.StepUpACR)
		acr = "/auth/" + p.Name + "?" + q.Encode()
	}
	return fresh, acr
}

var funcs = template.FuncMap{
	"utc":       func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	"rfc3339":   func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"unixMilli": func(t time.Time) int64 { return t.UnixMilli() },
}

// page parses one page of the app with the shared layout.
func page(name string) *template.Template {
	return template.Must(template.New("").Funcs(funcs).ParseFS(web, "web/templates/layout.html", "web/templates/"+name+".html"))
}

var (
	homePage      = page("home")
	profilePage   = page("profile")
	errorPageTmpl = page("error")
)

// render writes a page, or a plain 500 if the template fails before
// anything is written.
func render(w http.ResponseWriter, status int, t *template.Template, data any) {
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		http.Error(w, "template error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	buf.WriteTo(w)
}
