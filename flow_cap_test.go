package oauthlogin_test

import (
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/oauthlogin/oauthlogin/oauthlogintest"
)

// Begins cannot fill the browser's cookie jar: each sets a flow cookie,
// and any site can send a browser to one (a top-level navigation), so a
// flood of them would push the session cookie out of the jar or make every
// request too large to serve. Past a few logins in progress, a begin ends
// the others; the latest login still finishes.
func TestBeginsCannotFloodTheCookieJar(t *testing.T) {
	h := newHarness(t)
	jar, _ := cookiejar.New(nil)
	client := noFollow()
	client.Jar = jar
	app, _ := url.Parse(h.app.URL + "/auth/")
	var last *http.Response
	for range 50 {
		resp, err := client.Get(h.beginURL("test"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("begin = %d", resp.StatusCode)
		}
		last = resp
	}
	flows := 0
	for _, c := range jar.Cookies(app) {
		if strings.HasPrefix(c.Name, "oauthlogin_flow_") {
			flows++
		}
	}
	if flows == 0 || flows > 8 {
		t.Fatalf("after 50 begins the jar holds %d flow cookies, want 1 to 8", flows)
	}
	// The latest login finishes: the provider signs in and returns.
	b := &oauthlogintest.Browser{Client: &http.Client{Jar: jar}}
	page, err := b.Visit(t.Context(), last.Header.Get("Location"), nil)
	if err != nil {
		t.Fatal(err)
	}
	h.mustSucceed(page)
}
