package oauthlogin_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
)

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
