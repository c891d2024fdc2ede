package providers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
	"github.com/oauthlogin/oauthlogin/providers"
)

// rehost sends requests for the named hosts to target instead.
type rehost struct {
	hosts  map[string]bool
	target *url.URL
}

func (t rehost) RoundTrip(r *http.Request) (*http.Response, error) {
	if t.hosts[r.URL.Host] {
		r = r.Clone(r.Context())
		r.URL.Scheme, r.URL.Host, r.Host = t.target.Scheme, t.target.Host, ""
	}
	return http.DefaultTransport.RoundTrip(r)
}

// RFC 6749 §6 (refreshing an access token): "If the client type is
// confidential or the client was issued client credentials (or assigned
// other authentication requirements), the client MUST authenticate with the
// authorization server as described in Section 3.2.1." With
// Config.ClientAuth the secret is removed from the provider's OAuth2Config
// (it is client_secret_jwt's HMAC key, never sent) and the Manager's
// transport adds the client assertion, but only to the endpoints it knows
// (rp.oauth.Endpoint.TokenURL, DeviceAuthURL, the PAR endpoint:
// authenticatingEndpoint). A provider whose Exchanger redeems refresh tokens
// at an endpoint of its own (Figma: /v1/oauth/refresh) therefore sends the
// refresh request with client_id and refresh_token and no client
// authentication at all: no assertion, no secret. Impact: every refresh of
// such a provider is an unauthenticated token request (a spec violation that
// either fails at the provider, so sessions cannot refresh, or, at a lenient
// server, lets a refresh token be redeemed without the client's
// credentials); the host configured key-based authentication and gets none.
func TestAttackV4RefreshAtOwnEndpointUnauthenticated(t *testing.T) {
	if os.Getenv("OAUTHLOGIN_ATTACK") != "1" {
		t.Skip("attack v4: run with OAUTHLOGIN_ATTACK=1")
	}
	var (
		mu    sync.Mutex
		forms = map[string]url.Values{}
	)
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/oauth":
			q := r.URL.Query()
			http.Redirect(w, r, q.Get("redirect_uri")+"?"+url.Values{"code": {"code-1"}, "state": {q.Get("state")}}.Encode(), http.StatusFound)
		case "/v1/oauth/token", "/v1/oauth/refresh":
			r.ParseForm()
			mu.Lock()
			forms[r.URL.Path] = r.PostForm
			mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]any{"access_token": "at-" + r.URL.Path, "token_type": "bearer", "refresh_token": "rt-1", "expires_in": 3600})
		case "/v1/me":
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]any{"id": "42", "email": "d@example.com", "handle": "d"})
		default:
			http.NotFound(w, r)
		}
	}))
	defer idp.Close()
	target, _ := url.Parse(idp.URL)
	client := &http.Client{Transport: rehost{hosts: map[string]bool{"www.figma.com": true, "api.figma.com": true}, target: target}}

	auth, err := providers.ClientSecretJWT(providers.JWTOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := providers.Figma(providers.Config{ClientID: "client-1", ClientSecret: strings.Repeat("s", 40), ClientAuth: auth, HTTPClient: client})
	if err != nil {
		t.Fatal(err)
	}
	m, store, id := attackLogin(t, p, client)
	mu.Lock()
	login := forms["/v1/oauth/token"]
	mu.Unlock()
	if login.Get("client_assertion") == "" {
		t.Fatalf("the code exchange carried no client assertion: %v", login)
	}
	s, err := store.Session(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Refresh(t.Context(), s); err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	mu.Lock()
	refresh := forms["/v1/oauth/refresh"]
	mu.Unlock()
	if refresh == nil {
		t.Fatal("no refresh request reached the provider")
	}
	if refresh.Get("client_assertion") == "" && refresh.Get("client_secret") == "" {
		t.Fatalf("the refresh request authenticated no client (RFC 6749 §6): form %v", refresh)
	}
}

// attackLogin signs in through p, whose hosts are served by the handler of
// the fake idp, with a Manager on a memory store; it returns the Manager,
// the store and the new session's id.
func attackLogin(t *testing.T, p oauthlogin.Provider, client *http.Client) (*oauthlogin.Manager, *oauthlogin.MemoryStore, string) {
	t.Helper()
	var (
		mu        sync.Mutex
		sessionID string
	)
	var handler http.Handler
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	defer app.Close()
	store := oauthlogin.NewMemoryStore()
	m, err := oauthlogin.New(oauthlogin.Config{
		BaseURL:    app.URL,
		Keys:       oauthlogin.Keys{Cookie: []oauthlogin.CookieKey{oauthlogin.GenerateCookieKey()}},
		HTTPClient: client,
		Store:      store,
		Hooks: oauthlogin.Hooks{OnEvent: func(_ context.Context, e oauthlogin.Event) {
			mu.Lock()
			defer mu.Unlock()
			if e.SessionID != "" {
				sessionID = e.SessionID
			}
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Register(p); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", m.Handler())
	handler = mux
	jar, _ := cookiejar.New(nil)
	b := &oauthlogintest.Browser{Client: &http.Client{Jar: jar, Transport: client.Transport}}
	appURL, _ := url.Parse(app.URL)
	page, err := b.Visit(t.Context(), app.URL+"/auth/"+p.Name()+"?success=/done&failure=/failed", func(u *url.URL) bool {
		return u.Host == appURL.Host && (u.Path == "/done" || u.Path == "/failed")
	})
	if err != nil {
		t.Fatal(err)
	}
	if page.Location == nil || page.Location.Path != "/done" {
		t.Fatalf("login did not succeed: %v %d %s", page.Location, page.Status, page.Body)
	}
	mu.Lock()
	defer mu.Unlock()
	return m, store, sessionID
}

// ClientSecretJWT: "authenticates the client with assertions signed with
// HMAC by Config.ClientSecret (client_secret_jwt), which is then never sent
// itself" (providers/clientauth.go; SECURITY.md: "client_secret_jwt's secret
// is never sent"). RFC 7523 §2.2 / OpenID Connect Core §9: with
// client_secret_jwt the shared secret is an HMAC key, proven, not
// transmitted. newBase clears the secret from the provider's OAuth2Config,
// but constructors that use Config.ClientSecret themselves keep their copy:
// Disqus puts it in the query of every user info request (api_secret), and
// Etsy in the x-api-key header. Impact: the HMAC key of client_secret_jwt
// travels in a URL query string (access logs, proxies, Referer-less but
// logged) on every login, while the host chose a method whose point is that
// it never travels; New accepts the combination instead of refusing it.
func TestAttackV4ClientSecretJWTSecretSentByDisqus(t *testing.T) {
	if os.Getenv("OAUTHLOGIN_ATTACK") != "1" {
		t.Skip("attack v4: run with OAUTHLOGIN_ATTACK=1")
	}
	secret := "hmac-key-" + strings.Repeat("k", 40)
	var (
		mu   sync.Mutex
		seen []string
	)
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.String()+" "+r.Header.Get("Authorization")+" "+r.Header.Get("X-Api-Key"))
		mu.Unlock()
		switch r.URL.Path {
		case "/api/oauth/2.0/authorize/":
			q := r.URL.Query()
			http.Redirect(w, r, q.Get("redirect_uri")+"?"+url.Values{"code": {"code-1"}, "state": {q.Get("state")}}.Encode(), http.StatusFound)
		case "/api/oauth/2.0/access_token/":
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]any{"access_token": "at-1", "token_type": "Bearer", "expires_in": 3600})
		case "/api/3.0/users/details.json":
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]any{"response": map[string]any{"id": "42", "email": "d@example.com", "name": "d", "username": "d"}})
		default:
			http.NotFound(w, r)
		}
	}))
	defer idp.Close()
	target, _ := url.Parse(idp.URL)
	client := &http.Client{Transport: rehost{hosts: map[string]bool{"disqus.com": true}, target: target}}
	auth, err := providers.ClientSecretJWT(providers.JWTOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := providers.Disqus(providers.Config{ClientID: "client-1", ClientSecret: secret, ClientAuth: auth, HTTPClient: client})
	if err != nil {
		return // refused at construction: no defect
	}
	attackLogin(t, p, client)
	mu.Lock()
	defer mu.Unlock()
	for _, req := range seen {
		if strings.Contains(req, secret) {
			t.Fatalf("the client_secret_jwt HMAC key was sent to the provider: %s", req)
		}
	}
}
