package oauthlogin_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

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
