package cookiestore_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/securecookie"
	"golang.org/x/oauth2"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
	"github.com/oauthlogin/oauthlogin/providers"
	"github.com/oauthlogin/oauthlogin/store/cookiestore"
)

func session(expires time.Time) *oauthlogin.Session {
	return &oauthlogin.Session{ID: "id", UserID: "u", Provider: "p", ProviderUID: "s", ProviderTokens: []byte("sealed"), Created: time.Now().UTC().Truncate(time.Second), Expires: expires.UTC().Truncate(time.Second)}
}

func TestSealOpen(t *testing.T) {
	oldKey, newKey := oauthlogin.GenerateCookieKey(), oauthlogin.GenerateCookieKey()
	mem := oauthlogin.NewMemoryStore()
	before, during, after := cookiestore.New(mem, oldKey), cookiestore.New(mem, newKey, oldKey), cookiestore.New(mem, newKey)
	v := session(time.Now().Add(time.Hour))
	token, err := before.SealSession(v)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(token, "sealed") || strings.Contains(token, `"u"`) {
		t.Fatal("the sealed session shows its contents")
	}
	got, err := during.OpenSession(token)
	if err != nil || got.UserID != "u" || string(got.ProviderTokens) != "sealed" || !got.Expires.Equal(v.Expires) {
		t.Fatalf("open with rotated keys = %+v, %v", got, err)
	}
	if _, err := after.OpenSession(token); !errors.Is(err, oauthlogin.ErrNotFound) {
		t.Fatalf("open after the old key was dropped: %v", err)
	}
	forged := token[:len(token)-2] + "AA"
	if forged == token {
		forged = token[:len(token)-2] + "BB"
	}
	if _, err := before.OpenSession(forged); !errors.Is(err, oauthlogin.ErrNotFound) {
		t.Fatalf("open forged: %v", err)
	}
	expired, _ := before.SealSession(session(time.Now().Add(-time.Second)))
	if _, err := before.OpenSession(expired); !errors.Is(err, oauthlogin.ErrNotFound) {
		t.Fatalf("open expired: %v", err)
	}
}

// A token-mode pending record sealed by the version before v1 carried
// "Pending": true and an ID like any session's. It is no session: opening
// it as one is ErrNotFound, even within its lifetime.
func TestOldSealedPendingIsNoSession(t *testing.T) {
	key := oauthlogin.GenerateCookieKey()
	store := cookiestore.New(oauthlogin.NewMemoryStore(), key)
	old := securecookie.New(key.Hash, key.Block)
	old.SetSerializer(securecookie.JSONEncoder{})
	v := session(time.Now().Add(time.Hour))
	token, err := old.Encode("oauthlogin-session", struct {
		*oauthlogin.Session
		Pending bool
	}{v, true})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := store.OpenSession(token); !errors.Is(err, oauthlogin.ErrNotFound) {
		t.Fatalf("an old pending record opened as %+v, %v; want ErrNotFound", got, err)
	}
	current, err := old.Encode("oauthlogin-session", v)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := store.OpenSession(current); err != nil || got.UserID != v.UserID {
		t.Fatalf("a session sealed the same way without the flag = %+v, %v", got, err)
	}
}

// padded is a provider whose access tokens are 8 KB, as some are: the
// sealed session then needs several cookies.
type padded struct{ *providers.OIDCProvider }

const pad = "." // separates the real token from its padding

func (p padded) Exchange(ctx context.Context, cfg *oauth2.Config, code string, opts ...oauth2.AuthCodeOption) (*oauth2.Token, error) {
	tok, err := cfg.Exchange(ctx, code, opts...)
	if err == nil {
		tok.AccessToken += pad + strings.Repeat("x", 8<<10)
	}
	return tok, err
}

func (p padded) Refresh(ctx context.Context, cfg *oauth2.Config, refreshToken string) (*oauth2.Token, error) {
	tok, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: refreshToken}).Token()
	if err == nil {
		tok.AccessToken += pad + strings.Repeat("y", 8<<10)
	}
	return tok, err
}

func (p padded) Identify(ctx context.Context, tok *oauth2.Token, nonce string) (*oauthlogin.Profile, error) {
	real := *tok
	real.AccessToken, _, _ = strings.Cut(tok.AccessToken, pad)
	return p.OIDCProvider.Identify(ctx, real.WithExtra(map[string]any{"id_token": tok.Extra("id_token")}), nonce)
}

type app struct {
	idp *oauthlogintest.Server
	srv *httptest.Server
	m   *oauthlogin.Manager
}

func newApp(t *testing.T, big bool) *app {
	t.Helper()
	a := &app{idp: oauthlogintest.NewServer()}
	t.Cleanup(a.idp.Close)
	a.srv = httptest.NewUnstartedServer(nil)
	keys := []oauthlogin.CookieKey{oauthlogin.GenerateCookieKey()}
	m, err := oauthlogin.New(oauthlogin.Config{
		BaseURL:    "http://" + a.srv.Listener.Addr().String(),
		Keys:       oauthlogin.Keys{Cookie: keys},
		Store:      cookiestore.New(oauthlogin.NewMemoryStore(), keys...),
		Sessions:   oauthlogin.SessionOptions{Lifetime: time.Hour, ExposeProviderAccessToken: true},
		NativeApps: oauthlogin.NativeApps{Schemes: []string{"myapp"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	p, err := providers.OIDC(context.Background(), "test", a.idp.URL, providers.Config{ClientID: a.idp.ClientID, ClientSecret: a.idp.ClientSecret})
	if err != nil {
		t.Fatal(err)
	}
	var prov oauthlogin.Provider = p
	if big {
		prov = padded{p}
	}
	if err := m.Register(prov); err != nil {
		t.Fatal(err)
	}
	a.m = m
	mux := http.NewServeMux()
	mux.Handle("/auth/", m.Handler())
	mux.HandleFunc("GET /done", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "done") })
	a.srv.Config.Handler = mux
	a.srv.Start()
	t.Cleanup(a.srv.Close)
	return a
}

func (a *app) login(t *testing.T, b *oauthlogintest.Browser) *oauthlogintest.Page {
	t.Helper()
	q := url.Values{"success": {a.srv.URL + "/done"}, "failure": {a.srv.URL + "/done"}}
	page, err := b.Visit(context.Background(), a.srv.URL+"/auth/test?"+q.Encode(), nil)
	if err != nil || page.URL.Path != "/done" || page.URL.RawQuery != "" {
		t.Fatalf("login ended at %v: %v", page.URL, err)
	}
	return page
}

func (a *app) do(t *testing.T, b *oauthlogintest.Browser, method, path string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, a.srv.URL+path, nil)
	resp, err := b.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]any
	json.NewDecoder(resp.Body).Decode(&v)
	return resp, v
}

func TestSessionsInTheClient(t *testing.T) {
	for _, big := range []bool{false, true} {
		a := newApp(t, big)
		b := oauthlogintest.NewBrowser()
		page := a.login(t, b)
		var sessionCookies []string
		for _, c := range b.Client.Jar.Cookies(page.URL) {
			if strings.Contains(c.Name, "session") {
				sessionCookies = append(sessionCookies, c.Name)
			}
		}
		if big != (len(sessionCookies) > 1) || len(sessionCookies) == 0 {
			t.Fatalf("big=%v: session cookies %v", big, sessionCookies)
		}
		resp, s := a.do(t, b, "GET", "/auth/session")
		if resp.StatusCode != http.StatusOK || s["providerUid"] != "user-1" {
			t.Fatalf("big=%v: GET /auth/session = %d %v", big, resp.StatusCode, s)
		}
		if big && !strings.HasSuffix(s["providerAccessToken"].(string), strings.Repeat("x", 100)) {
			t.Fatal("the chunked session lost its token")
		}

		// A refresh sends the changed session back.
		before := s["providerAccessToken"]
		resp, s = a.do(t, b, "POST", "/auth/refresh")
		if resp.StatusCode != http.StatusOK || s["providerAccessToken"] == before {
			t.Fatalf("big=%v: refresh = %d", big, resp.StatusCode)
		}
		if _, again := a.do(t, b, "GET", "/auth/session"); again["providerAccessToken"] != s["providerAccessToken"] {
			t.Fatalf("big=%v: the refreshed session was not sent back", big)
		}

		// What needs a server store says so.
		if resp, v := a.do(t, b, "GET", "/auth/sessions"); resp.StatusCode != http.StatusNotImplemented || v["error"] != "unsupported" {
			t.Fatalf("sessions list = %d %v", resp.StatusCode, v)
		}
		if resp, v := a.do(t, b, "DELETE", "/auth/sessions"); resp.StatusCode != http.StatusNotImplemented || v["error"] != "unsupported" {
			t.Fatalf("sign out everywhere = %d %v", resp.StatusCode, v)
		}

		// Logout clears every cookie of the session; a copy taken before
		// stays valid until the session expires, as the package doc says.
		copied := oauthlogintest.NewBrowser()
		copied.Client.Jar.SetCookies(page.URL, b.Client.Jar.Cookies(page.URL))
		if resp, _ := a.do(t, b, "DELETE", "/auth/session"); resp.StatusCode != http.StatusNoContent {
			t.Fatalf("logout = %d", resp.StatusCode)
		}
		for _, c := range b.Client.Jar.Cookies(page.URL) {
			if strings.Contains(c.Name, "session") {
				t.Fatalf("big=%v: cookie %s survived logout", big, c.Name)
			}
		}
		if resp, _ := a.do(t, b, "GET", "/auth/session"); resp.StatusCode != http.StatusUnauthorized {
			t.Fatal("signed in after logout")
		}
		if resp, _ := a.do(t, copied, "GET", "/auth/session"); resp.StatusCode != http.StatusOK {
			t.Fatal("the documented limit changed: a copied cookie no longer outlives logout (update the package doc)")
		}
	}
}

// No Set-Cookie header passes 4096 bytes, even with 8 KB tokens.
func TestSetCookieBound(t *testing.T) {
	a := newApp(t, true)
	var longest int
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	jar := oauthlogintest.NewBrowser().Client.Jar
	client.Jar = jar
	next := a.srv.URL + "/auth/test?success=" + url.QueryEscape(a.srv.URL+"/done")
	for range 5 {
		resp, err := client.Get(next)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		for _, h := range resp.Header.Values("Set-Cookie") {
			longest = max(longest, len("Set-Cookie: ")+len(h))
		}
		next = resp.Header.Get("Location")
		if next == "" || strings.HasSuffix(next, "/done") {
			break
		}
	}
	if longest < 3000 || longest > 4096 { // chunks are filled close to the bound
		t.Fatalf("longest Set-Cookie header: %d bytes", longest)
	}
}

func TestTokenModeAndBearer(t *testing.T) {
	a := newApp(t, false)
	q := url.Values{"mode": {"token"}, "success": {"myapp://done"}, "failure": {"myapp://failed"}}
	page, err := oauthlogintest.NewBrowser().Visit(context.Background(), a.srv.URL+"/auth/test?"+q.Encode(), nil)
	if err != nil || page.Location == nil || page.Location.Scheme != "myapp" {
		t.Fatalf("token mode ended at %v: %v", page.Location, err)
	}
	form := url.Values{"userId": {page.Location.Query().Get("userId")}, "secret": {page.Location.Query().Get("secret")}}
	post := func() (*http.Response, map[string]any) {
		resp, err := http.PostForm(a.srv.URL+"/auth/session", form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v map[string]any
		json.NewDecoder(resp.Body).Decode(&v)
		return resp, v
	}
	resp, s := post()
	if resp.StatusCode != http.StatusCreated || s["secret"] == "" {
		t.Fatalf("exchange = %d %v", resp.StatusCode, s)
	}
	if resp, _ := post(); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the secret worked twice: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest("GET", a.srv.URL+"/auth/session", nil)
	req.Header.Set("Authorization", "Bearer "+s["secret"].(string))
	got, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got.Body.Close()
	if got.StatusCode != http.StatusOK {
		t.Fatalf("bearer = %d", got.StatusCode)
	}
}

func TestIdleTimeoutRefused(t *testing.T) {
	keys := []oauthlogin.CookieKey{oauthlogin.GenerateCookieKey()}
	_, err := oauthlogin.New(oauthlogin.Config{BaseURL: "http://localhost", Keys: oauthlogin.Keys{Cookie: keys}, Store: cookiestore.New(oauthlogin.NewMemoryStore(), keys...), Sessions: oauthlogin.SessionOptions{IdleTimeout: time.Hour}})
	if !errors.Is(err, oauthlogin.ErrConfig) {
		t.Fatalf("IdleTimeout with client-held sessions: %v, want ErrConfig", err)
	}
}

// A Store given no keys, or keys it cannot use, is refused at New
// (ErrConfig), not at the first login's callback: issue 16 §7, attack
// report defect 9.
func TestNewRefusesStoreWithoutKeys(t *testing.T) {
	good := []oauthlogin.CookieKey{oauthlogin.GenerateCookieKey()}
	for name, keys := range map[string][]oauthlogin.CookieKey{
		"no keys":       nil,
		"no hash key":   {{Block: good[0].Block}},
		"bad block key": {{Hash: good[0].Hash, Block: []byte("short")}},
	} {
		_, err := oauthlogin.New(oauthlogin.Config{
			BaseURL: "https://app.example.com",
			Keys:    oauthlogin.Keys{Cookie: good},
			Store:   cookiestore.New(oauthlogin.NewMemoryStore(), keys...),
		})
		if !errors.Is(err, oauthlogin.ErrConfig) || !strings.Contains(err.Error(), "cookiestore.Store") {
			t.Errorf("%s: New = %v, want ErrConfig naming the store", name, err)
		}
	}
}
