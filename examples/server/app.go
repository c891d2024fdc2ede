package main

import (
	"context"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/providers"
)

// options configure the app; main fills them from flags and environment.
type options struct {
	baseURL                        string
	issuer, clientID, clientSecret string
}

type app struct {
	m    *oauthlogin.Manager
	base string
}

// newApp builds the web app: oauthlogin under /auth/, a home page and a
// profile page.
func newApp(ctx context.Context, o options, log io.Writer) (http.Handler, error) {
	m, err := oauthlogin.New(oauthlogin.Config{
		BaseURL: o.baseURL,
		// A fresh key each start: fine for a demo whose sessions live in
		// memory anyway. A real app loads its keys from its secrets.
		CookieKeys: []oauthlogin.CookieKey{oauthlogin.GenerateCookieKey()},
	})
	if err != nil {
		return nil, err
	}
	if o.issuer != "" {
		p, err := providers.OIDC(ctx, "oidc", o.issuer, providers.Config{ClientID: o.clientID, ClientSecret: o.clientSecret})
		if err != nil {
			return nil, err
		}
		if err := m.Register(p); err != nil {
			return nil, err
		}
		fmt.Fprintf(log, "provider oidc: %s (redirect URI %s/auth/oidc/callback)\n", o.issuer, o.baseURL)
	} else {
		fmt.Fprintln(log, "no provider configured: set OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET")
	}
	a := &app{m: m, base: o.baseURL}
	mux := http.NewServeMux()
	mux.Handle("/auth/", m.Handler())
	mux.HandleFunc("GET /{$}", a.home)
	mux.Handle("GET /profile", m.LoadSession(http.HandlerFunc(a.profile)))
	return mux, nil
}

var pages = template.Must(template.New("").Parse(`
{{define "head"}}<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>oauthlogin example</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}
a.button,button{display:inline-block;padding:.5rem 1rem;border:1px solid #333;border-radius:.4rem;background:#fff;color:#000;text-decoration:none;cursor:pointer}
dt{font-weight:600}.error{color:#a00}</style></head><body>{{end}}
{{define "home"}}{{template "head"}}<h1>oauthlogin example</h1>
{{with .Error}}<p class="error" id="error">Sign-in failed: <code>{{.}}</code></p>{{end}}
{{range .Providers}}<p><a class="button" id="signin-{{.Name}}" href="{{.URL}}">Sign in with {{.Name}}</a></p>
{{else}}<p id="no-provider">No provider is configured. Set <code>OIDC_ISSUER</code>, <code>OIDC_CLIENT_ID</code>
and <code>OIDC_CLIENT_SECRET</code> and register <code>{{.Base}}/auth/oidc/callback</code> as the redirect URI.</p>{{end}}
</body></html>{{end}}
{{define "profile"}}{{template "head"}}<h1>Signed in</h1>
<dl><dt>User</dt><dd id="user">{{.UserID}}</dd><dt>Provider</dt><dd id="provider">{{.Provider}}</dd>
<dt>Provider user id</dt><dd id="provider-uid">{{.ProviderUID}}</dd>
<dt>Access token expires</dt><dd>{{.ProviderAccessTokenExpiry.UTC.Format "2006-01-02 15:04:05 UTC"}}</dd></dl>
<button id="signout" onclick="fetch('/auth/session',{method:'DELETE'}).then(()=>location='/')">Sign out</button>
</body></html>{{end}}
`))

type providerLink struct{ Name, URL string }

func (a *app) home(w http.ResponseWriter, r *http.Request) {
	data := struct {
		Error     string
		Base      string
		Providers []providerLink
	}{Error: r.URL.Query().Get("error"), Base: a.base}
	for _, name := range a.m.Providers() {
		q := url.Values{"success": {a.base + "/profile"}, "failure": {a.base + "/"}}
		data.Providers = append(data.Providers, providerLink{name, "/auth/" + name + "?" + q.Encode()})
	}
	render(w, "home", data)
}

func (a *app) profile(w http.ResponseWriter, r *http.Request) {
	s, ok := oauthlogin.SessionFromContext(r.Context())
	if !ok {
		http.Redirect(w, r, "/", http.StatusFound)
		return
	}
	render(w, "profile", s)
}

func render(w http.ResponseWriter, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := pages.ExecuteTemplate(w, name, data); err != nil {
		http.Error(w, "template error", http.StatusInternalServerError)
	}
}
