package oauthlogin_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
	"github.com/oauthlogin/oauthlogin/providers"
)

// recorded drives a login through handlers without a listening app: begin
// on one Manager, the provider hop over real HTTP, callback on another.
type recorded struct {
	t   *testing.T
	idp *oauthlogintest.Server
}

func (rc recorded) manager(base string, keys []oauthlogin.CookieKey, store *oauthlogin.MemoryStore, edit ...func(*oauthlogin.Config)) *oauthlogin.Manager {
	rc.t.Helper()
	cfg := oauthlogin.Config{BaseURL: base, Keys: oauthlogin.Keys{Cookie: keys}, Store: store}
	for _, e := range edit {
		e(&cfg)
	}
	m, err := oauthlogin.New(cfg)
	if err != nil {
		rc.t.Fatal(err)
	}
	p, err := providers.OIDC(context.Background(), "test", rc.idp.URL, providers.Config{ClientID: rc.idp.ClientID, ClientSecret: rc.idp.ClientSecret})
	if err != nil {
		rc.t.Fatal(err)
	}
	if err := m.Register(p); err != nil {
		rc.t.Fatal(err)
	}
	return m
}

// begin returns the begin response and the callback request it leads to.
func (rc recorded) begin(m *oauthlogin.Manager, base string, query ...string) (*http.Response, *http.Request) {
	rc.t.Helper()
	w := httptest.NewRecorder()
	m.Handler().ServeHTTP(w, httptest.NewRequest("GET", base+"/auth/test?"+strings.Join(query, "&"), nil))
	resp := w.Result()
	if resp.StatusCode != http.StatusFound {
		rc.t.Fatalf("begin = %d", resp.StatusCode)
	}
	host := mustParse(rc.t, base).Host
	page, err := oauthlogintest.NewBrowser().Visit(context.Background(), resp.Header.Get("Location"), func(u *url.URL) bool { return u.Host == host })
	if err != nil || page.Location == nil {
		rc.t.Fatalf("provider hop: %v", err)
	}
	req := httptest.NewRequest("GET", page.Location.String(), nil)
	for _, c := range resp.Cookies() {
		req.AddCookie(c)
	}
	return resp, req
}

func (rc recorded) callback(m *oauthlogin.Manager, req *http.Request) *http.Response {
	w := httptest.NewRecorder()
	m.Handler().ServeHTTP(w, req)
	return w.Result()
}

func TestCookiesOverHTTPS(t *testing.T) {
	idp := oauthlogintest.NewServer()
	t.Cleanup(idp.Close)
	rc := recorded{t, idp}
	const base = "https://app.example.com"
	m := rc.manager(base, []oauthlogin.CookieKey{oauthlogin.GenerateCookieKey()}, oauthlogin.NewMemoryStore())
	begin, cb := rc.begin(m, base)
	flow := begin.Cookies()
	if len(flow) != 1 || !strings.HasPrefix(flow[0].Name, "__Host-oauthlogin_flow_") || !flow[0].Secure || !flow[0].HttpOnly ||
		flow[0].Path != "/" || flow[0].Domain != "" || flow[0].SameSite != http.SameSiteLaxMode || flow[0].MaxAge != 600 {
		t.Fatalf("flow cookie = %+v", flow)
	}
	resp := rc.callback(m, cb)
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != base+"/" {
		t.Fatalf("callback = %d to %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "__Host-oauthlogin_session" {
			session = c
		} else if c.Name == flow[0].Name && c.MaxAge >= 0 {
			t.Fatalf("flow cookie not cleared: %+v", c)
		}
	}
	if session == nil || !session.Secure || !session.HttpOnly || session.Path != "/" || session.SameSite != http.SameSiteLaxMode || len(session.Value) != 43 {
		t.Fatalf("session cookie = %+v", session)
	}
}

func TestCookiesOverHTTP(t *testing.T) {
	idp := oauthlogintest.NewServer()
	t.Cleanup(idp.Close)
	rc := recorded{t, idp}
	const base = "http://localhost:8080"
	m := rc.manager(base, []oauthlogin.CookieKey{oauthlogin.GenerateCookieKey()}, oauthlogin.NewMemoryStore())
	begin, cb := rc.begin(m, base)
	flow := begin.Cookies()
	if len(flow) != 1 || !strings.HasPrefix(flow[0].Name, "oauthlogin_flow_") || flow[0].Secure || flow[0].Path != "/auth/" {
		t.Fatalf("flow cookie = %+v", flow)
	}
	for _, c := range rc.callback(m, cb).Cookies() {
		if c.Name == "oauthlogin_session" && (c.Secure || c.Path != "/" || !c.HttpOnly) {
			t.Fatalf("session cookie = %+v", c)
		}
	}
}

func TestCookieKeyRotation(t *testing.T) {
	idp := oauthlogintest.NewServer()
	t.Cleanup(idp.Close)
	rc := recorded{t, idp}
	const base = "http://localhost:8080"
	oldKey, newKey := oauthlogin.GenerateCookieKey(), oauthlogin.GenerateCookieKey()
	store := oauthlogin.NewMemoryStore()
	before := rc.manager(base, []oauthlogin.CookieKey{oldKey}, store)
	during := rc.manager(base, []oauthlogin.CookieKey{newKey, oldKey}, store)
	after := rc.manager(base, []oauthlogin.CookieKey{newKey}, store)

	// A flow begun under the old key finishes after the new key is added.
	_, cb := rc.begin(before, base)
	if resp := rc.callback(during, cb); resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != base+"/" {
		t.Fatalf("old-key flow with rotated keys = %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	// The new key seals: the flow opens once the old key is gone...
	_, cb = rc.begin(during, base)
	if resp := rc.callback(after, cb); resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != base+"/" {
		t.Fatalf("new-key flow = %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	// ...and an old-key flow no longer does.
	_, cb = rc.begin(before, base)
	if resp := rc.callback(after, cb); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("old-key flow after the old key was dropped = %d", resp.StatusCode)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	key := oauthlogin.GenerateCookieKey()
	for name, cfg := range map[string]oauthlogin.Config{
		"NoBaseURL":        {Keys: oauthlogin.Keys{Cookie: []oauthlogin.CookieKey{key}}},
		"RelativeBaseURL":  {BaseURL: "/app", Keys: oauthlogin.Keys{Cookie: []oauthlogin.CookieKey{key}}},
		"NoKeys":           {BaseURL: "https://app.example.com"},
		"ShortHashKey":     {BaseURL: "https://app.example.com", Keys: oauthlogin.Keys{Cookie: []oauthlogin.CookieKey{{Hash: make([]byte, 16), Block: make([]byte, 32)}}}},
		"BadBlockKey":      {BaseURL: "https://app.example.com", Keys: oauthlogin.Keys{Cookie: []oauthlogin.CookieKey{{Hash: make([]byte, 32), Block: make([]byte, 20)}}}},
		"ShortTokenKey":    {BaseURL: "https://app.example.com", Keys: oauthlogin.Keys{Cookie: []oauthlogin.CookieKey{key}, Token: [][]byte{make([]byte, 16)}}},
		"PrefixNoSlash":    {BaseURL: "https://app.example.com", Keys: oauthlogin.Keys{Cookie: []oauthlogin.CookieKey{key}}, Prefix: "auth"},
		"RedirectWithPath": {BaseURL: "https://app.example.com", Keys: oauthlogin.Keys{Cookie: []oauthlogin.CookieKey{key}}, RedirectOrigins: []string{"https://app.example.com/done"}},
		"RedirectNoScheme": {BaseURL: "https://app.example.com", Keys: oauthlogin.Keys{Cookie: []oauthlogin.CookieKey{key}}, RedirectOrigins: []string{"app.example.com"}},
	} {
		if _, err := oauthlogin.New(cfg); !errors.Is(err, oauthlogin.ErrConfig) {
			t.Errorf("%s: New = %v, want ErrConfig", name, err)
		}
	}
}

func TestRegisterRefusesBadProviders(t *testing.T) {
	idp := oauthlogintest.NewServer()
	t.Cleanup(idp.Close)
	m, err := oauthlogin.New(oauthlogin.Config{BaseURL: "http://localhost:8080", Keys: oauthlogin.Keys{Cookie: []oauthlogin.CookieKey{oauthlogin.GenerateCookieKey()}}})
	if err != nil {
		t.Fatal(err)
	}
	newProvider := func(name string, pc providers.Config) oauthlogin.Provider {
		pc.ClientID = idp.ClientID
		p, err := providers.OIDC(context.Background(), name, idp.URL, pc)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	if err := m.Register(newProvider("test", providers.Config{})); err != nil {
		t.Fatal(err)
	}
	for name, p := range map[string]oauthlogin.Provider{
		"Duplicate":       newProvider("test", providers.Config{}),
		"Reserved":        namedProvider("session"),
		"UpperCase":       namedProvider("Test"),
		"Slash":           namedProvider("a/b"),
		"Space":           namedProvider("Test Provider"),
		"OverridesState":  newProvider("p1", providers.Config{AuthParams: url.Values{"state": {"fixed"}}}),
		"OverridesPKCE":   newProvider("p2", providers.Config{AuthParams: url.Values{"code_challenge_method": {"plain"}}}),
		"OverridesScopes": newProvider("p3", providers.Config{AuthParams: url.Values{"scope": {"admin"}}}),
	} {
		if err := m.Register(p); !errors.Is(err, oauthlogin.ErrConfig) {
			t.Errorf("%s: Register = %v, want ErrConfig", name, err)
		}
	}
	if got := m.Providers(); len(got) != 1 || got[0] != "test" {
		t.Fatalf("Providers() = %v", got)
	}
	// The error states the rule, the same one the providers constructors
	// enforce (TestProviderNameRuleAgrees).
	err = m.Register(namedProvider("Test Provider"))
	for _, want := range []string{`"Test Provider"`, "a-z, 0-9", "starting with a letter or digit", "route names"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Register(\"Test Provider\") = %v: does not say %q", err, want)
		}
	}
}

// namedProvider is a provider with a name the providers constructors would
// refuse, for Register's own check.
type namedProvider string

func (p namedProvider) Name() string { return string(p) }
func (p namedProvider) OAuth2Config() oauth2.Config {
	return oauth2.Config{ClientID: "id", Endpoint: oauth2.Endpoint{AuthURL: "https://idp.example/auth", TokenURL: "https://idp.example/token"}}
}
func (p namedProvider) Identify(context.Context, *oauth2.Token, string) (*oauthlogin.Profile, error) {
	return nil, errors.New("not used")
}

// Register and the providers constructors accept and refuse the same names.
func TestProviderNameRuleAgrees(t *testing.T) {
	spec := providers.Spec{
		Endpoint:    oauth2.Endpoint{AuthURL: "https://idp.example/auth", TokenURL: "https://idp.example/token"},
		UserInfoURL: "https://idp.example/user",
	}
	for _, name := range []string{"google", "a", "0", "my-idp_2", strings.Repeat("z", 64), strings.Repeat("z", 65),
		"", "Test Provider", "Google", "-a", "_a", "a.b", "a/b", "é", "session", "sessions", "refresh", "identities", "token", "device"} {
		m, err := oauthlogin.New(oauthlogin.Config{BaseURL: "http://localhost:8080", Keys: oauthlogin.Keys{Cookie: []oauthlogin.CookieKey{oauthlogin.GenerateCookieKey()}}})
		if err != nil {
			t.Fatal(err)
		}
		regErr := m.Register(namedProvider(name))
		_, ctorErr := providers.OAuth2(name, spec, providers.Config{ClientID: "id"})
		if (regErr == nil) != (ctorErr == nil) {
			t.Errorf("name %q: Register = %v, providers.OAuth2 = %v", name, regErr, ctorErr)
		}
	}
}

// Redirect targets are checked again at the callback: a flow begun while an
// origin was allowed cannot redirect there once it no longer is.
func TestCallbackRechecksRedirects(t *testing.T) {
	idp := oauthlogintest.NewServer()
	t.Cleanup(idp.Close)
	rc := recorded{t, idp}
	const base = "http://localhost:8080"
	keys := []oauthlogin.CookieKey{oauthlogin.GenerateCookieKey()}
	store := oauthlogin.NewMemoryStore()
	allowing := rc.manager(base, keys, store, func(c *oauthlogin.Config) { c.RedirectOrigins = []string{"https://partner.example"} })
	strict := rc.manager(base, keys, store)

	_, cb := rc.begin(allowing, base, "success=https%3A%2F%2Fpartner.example%2Fin")
	resp := rc.callback(strict, cb)
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
		t.Fatalf("callback to a no longer allowed origin = %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	for _, c := range resp.Cookies() {
		if strings.Contains(c.Name, "session") {
			t.Fatal("a session was started for a flow whose redirect is no longer allowed")
		}
	}
	if idp.Hits("token") != 0 {
		t.Fatal("the code was redeemed")
	}
	_, cb = rc.begin(allowing, base, "success=https%3A%2F%2Fpartner.example%2Fin")
	if resp := rc.callback(allowing, cb); resp.Header.Get("Location") != "https://partner.example/in" {
		t.Fatalf("callback while allowed: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// A form_post provider's callback is a cross-site POST: over https its flow
// cookie is SameSite=None (and Secure), and the POSTed response is checked
// like a query one.
func TestFormPostProvider(t *testing.T) {
	idp := oauthlogintest.NewServer()
	t.Cleanup(idp.Close)
	const base = "https://app.example.com"
	m, err := oauthlogin.New(oauthlogin.Config{BaseURL: base, Keys: oauthlogin.Keys{Cookie: []oauthlogin.CookieKey{oauthlogin.GenerateCookieKey()}}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := providers.OIDC(context.Background(), "test", idp.URL, providers.Config{
		ClientID: idp.ClientID, ClientSecret: idp.ClientSecret,
		AuthParams: url.Values{"response_mode": {"form_post"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Register(p); err != nil {
		t.Fatal(err)
	}
	rc := recorded{t, idp}
	begin, cb := rc.begin(m, base)
	if q := mustParse(t, begin.Header.Get("Location")).Query(); q.Get("response_mode") != "form_post" {
		t.Fatalf("authorization request without response_mode: %v", q)
	}
	flow := begin.Cookies()[0]
	if flow.SameSite != http.SameSiteNoneMode || !flow.Secure {
		t.Fatalf("flow cookie for a form_post provider: %+v", flow)
	}
	// The fake answers with a redirect; replay its parameters as the form POST.
	post := httptest.NewRequest("POST", base+"/auth/test/callback", strings.NewReader(cb.URL.RawQuery))
	post.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	post.AddCookie(flow)
	resp := rc.callback(m, post)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != base+"/" { // 303 after a POST
		t.Fatalf("form_post callback = %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	// A POST without the state fails like a GET would.
	_, cb = rc.begin(m, base)
	q := cb.URL.Query()
	q.Del("state")
	post = httptest.NewRequest("POST", base+"/auth/test/callback", strings.NewReader(q.Encode()))
	post.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, c := range cb.Cookies() {
		post.AddCookie(c)
	}
	resp = rc.callback(m, post)
	if loc := resp.Header.Get("Location"); !strings.Contains(loc, "error="+"state_missing") {
		t.Fatalf("form_post callback without state = %d %s", resp.StatusCode, loc)
	}
}
