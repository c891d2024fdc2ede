package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
	"github.com/oauthlogin/oauthlogin/providers"
)

// What headless Chromium does with the Location of a login that ends on a
// success or failure given as a path (RFC 9700 §4.11: no open
// redirector). The "evil" host is a second loopback server named
// localhost:port; a browser that reaches it, or ends anywhere but the
// app's own host, is an open redirect. Each path the Manager accepts at
// begin is driven through a whole login in Chromium (the fake provider
// approving, then refusing with access_denied), so the Location the
// browser acts on is the one the callback really sends.
func TestAttackV1BrowserPathRedirects(t *testing.T) {
	var mu sync.Mutex
	var evilHits []string
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		evilHits = append(evilHits, r.URL.String())
		mu.Unlock()
		io.WriteString(w, "evil")
	}))
	t.Cleanup(evil.Close)
	evilHost := "localhost:" + strings.TrimPrefix(evil.URL, "http://127.0.0.1:")

	idp := oauthlogintest.NewServer()
	t.Cleanup(idp.Close)
	app := httptest.NewUnstartedServer(nil)
	m, err := oauthlogin.New(oauthlogin.Config{
		BaseURL: "http://" + app.Listener.Addr().String(),
		Keys:    oauthlogin.Keys{Cookie: []oauthlogin.CookieKey{oauthlogin.GenerateCookieKey()}},
	})
	if err != nil {
		t.Fatal(err)
	}
	p, err := providers.OIDC(context.Background(), "test", idp.URL, providers.Config{ClientID: idp.ClientID, ClientSecret: idp.ClientSecret})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Register(p); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", m.Handler())
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "app") })
	app.Config.Handler = mux
	app.Start()
	t.Cleanup(app.Close)
	appHost := strings.TrimPrefix(app.URL, "http://")

	tab := newChromium(t)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	accepted := 0
	for _, raw := range []string{
		"/me?tab=1#frag",
		"//" + evilHost, "/\\" + evilHost, "/%2F%2F" + evilHost, "/%2f/" + evilHost, "/%5C" + evilHost, "/%5c%5c" + evilHost,
		"/..//" + evilHost, "/..///" + evilHost, "/%2e%2e//" + evilHost, "/.%2e///" + evilHost, "/%2e%2e%2f%2f" + evilHost,
		"/@" + evilHost, "/;//" + evilHost, "/?//" + evilHost, "/#//" + evilHost, "/?\\" + evilHost,
		"/\u2215\u2215" + evilHost, "/\uff0f\uff0f" + evilHost, "/\uff3c" + evilHost, "/\u3002" + evilHost,
		"/%09/" + evilHost, "/%0a/" + evilHost, "/%00/" + evilHost, "/%E2%80%8B/" + evilHost,
	} {
		q := url.Values{"success": {raw}, "failure": {raw}}
		begin := app.URL + "/auth/test?" + q.Encode()
		resp, err := noFollow.Get(begin) // does the Manager accept it? (no cookies: a throwaway flow)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound {
			continue // refused at begin: nothing to follow
		}
		accepted++
		for _, authorizeError := range []string{"", "access_denied"} {
			idp.Behave(oauthlogintest.Behavior{AuthorizeError: authorizeError})
			step(t, tab, "login with "+raw, chromedp.Navigate(begin))
			loc := value(t, tab, "reading where the login ended", chromedp.Location())
			t.Logf("%q %q -> %s", raw, authorizeError, loc)
			u, err := url.Parse(loc)
			if err != nil || u.Host != appHost {
				t.Errorf("path %q (authorize error %q): Chromium ended at %s, want host %s", raw, authorizeError, loc, appHost)
			}
			if authorizeError != "" && u != nil && u.Query().Get("error") != "provider_denied" && !strings.Contains(loc, "error=") {
				t.Errorf("path %q: failure page %s carries no error", raw, loc)
			}
		}
	}
	if accepted == 0 {
		t.Fatal("no path was accepted: the test drove nothing through the browser")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(evilHits) > 0 {
		t.Errorf("Chromium reached the other host: %v", evilHits)
	}
}
