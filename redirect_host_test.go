package oauthlogin_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
)

// localhostURL is the harness app's URL with the name localhost for its
// BaseURL's 127.0.0.1: the same server, another cookie host.
func (h *harness) localhostURL() string {
	return strings.Replace(h.app.URL, "127.0.0.1", "localhost", 1)
}

// A begin opened at localhost when BaseURL says 127.0.0.1 is sent to
// 127.0.0.1 first, same path and query, without a flow cookie; the login
// then works from there.
func TestBeginRedirectsToBaseHost(t *testing.T) {
	h := newHarness(t)
	q := url.Values{"success": {"/done"}, "failure": {"/failed"}, "scopes": {"repo"}}.Encode()
	req, err := http.NewRequest("GET", h.localhostURL()+"/auth/test?"+q, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != h.app.URL+"/auth/test?"+q {
		t.Fatalf("begin at localhost = %d to %q, want 302 to %s/auth/test?%s", resp.StatusCode, resp.Header.Get("Location"), h.app.URL, q)
	}
	if sc := resp.Header.Values("Set-Cookie"); len(sc) != 0 {
		t.Fatalf("the redirect set cookies: %v", sc)
	}
	if h.idp.Hits("authorize") != 0 {
		t.Fatal("the begin at the other host went to the provider")
	}
	b := oauthlogintest.NewBrowser()
	page, err := b.Visit(context.Background(), h.localhostURL()+"/auth/test?"+q, nil)
	if err != nil || page.URL.String() != h.app.URL+"/done" {
		t.Fatalf("a login begun at localhost ended at %v, %v; want %s/done", page, err, h.app.URL)
	}
	if _, status := h.session(b); status != http.StatusOK {
		t.Fatalf("no session at BaseURL's host: %d", status)
	}
}

// A link's begin (a POST) cannot be redirected: at another loopback name
// it is refused with a message naming BaseURL, before any flow cookie.
func TestBeginPostAtOtherHostRefused(t *testing.T) {
	h := newHarness(t)
	req, err := http.NewRequest("POST", h.localhostURL()+"/auth/test", strings.NewReader("link=1"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusBadRequest || v["error"] != "bad_request" || !strings.Contains(v["message"], h.app.URL+", the app's BaseURL") {
		t.Fatalf("POST begin at localhost = %d %v, want 400 naming %s", resp.StatusCode, v, h.app.URL)
	}
	if sc := resp.Header.Values("Set-Cookie"); len(sc) != 0 {
		t.Fatalf("cookies set: %v", sc)
	}
}

// A callback at another host that finds no flow keeps its code,
// state_mismatch, but its message says the callback must arrive at
// BaseURL's host, and a debug record says where it came; at BaseURL's own
// host the message stays the plain one.
func TestCallbackAtOtherHostExplains(t *testing.T) {
	h := newHarness(t)
	callback := "/auth/test/callback?state=" + strings.Repeat("s", 43) + "&code=c"
	get := func(base string) (int, map[string]string) {
		resp, err := http.Get(base + callback)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v map[string]string
		if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, v
	}
	status, v := get(h.localhostURL())
	if status != http.StatusBadRequest || v["error"] != "state_mismatch" ||
		!strings.Contains(v["message"], "must arrive at "+h.app.URL) || strings.Contains(v["message"], "localhost") {
		t.Fatalf("callback at localhost = %d %v, want 400 state_mismatch naming %s only", status, v, h.app.URL)
	}
	logs := h.logs.String()
	if !strings.Contains(logs, "callback at another host than BaseURL's finds no flow") || !strings.Contains(logs, "host=localhost:") {
		t.Fatalf("no debug record of the host in:\n%s", logs)
	}
	status, v = get(h.app.URL)
	if status != http.StatusBadRequest || v["error"] != "state_mismatch" || strings.Contains(v["message"], "arrive at") {
		t.Fatalf("callback at BaseURL's host = %d %v, want the plain state_mismatch", status, v)
	}
}

// A request whose Host a reverse proxy rewrote (a name other than
// BaseURL's that is not a loopback alias of it, or a loopback name on
// another port, as a dev server's proxy sends) begins as usual: sending it
// to BaseURL would come back the same way, a redirect loop.
func TestBeginBehindProxyNotRedirected(t *testing.T) {
	for _, tc := range []struct{ base, host string }{
		{"https://app.example.com", "backend:8080"},
		{"https://app.example.com", "127.0.0.1:8080"},
		{"http://localhost:5173", "localhost:8080"},
		{"http://localhost:5173", "127.0.0.1:8080"},
	} {
		h := newHarness(t, func(c *oauthlogin.Config) { c.BaseURL = tc.base })
		req := httptest.NewRequest("GET", "http://"+tc.host+"/auth/test?success=/done", nil)
		rec := httptest.NewRecorder()
		h.m.Handler().ServeHTTP(rec, req)
		if loc := rec.Header().Get("Location"); rec.Code != http.StatusFound || !strings.HasPrefix(loc, h.idp.URL) || len(rec.Header().Values("Set-Cookie")) != 1 {
			t.Errorf("BaseURL %s, Host %s: begin = %d to %q, want the provider with a flow cookie", tc.base, tc.host, rec.Code, loc)
		}
	}
}
