package oauthlogin_test

import (
	"errors"
	"net/http"
	"net/url"
	"testing"

	"github.com/oauthlogin/oauthlogin"
)

// RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ).
// RFC 8252 §7.1 and §8.1: a native app's private-use scheme must be one no
// web page or browser feature claims. New refuses every other AppSchemes
// entry with ErrConfig.
func TestAppSchemesValidated(t *testing.T) {
	for _, s := range []string{
		"http", "https", "HTTPS", "javascript", "JavaScript", "data", "file", "vbscript", "blob", "about",
		"", "1app", "-app", ".app", "+app", "my app", "my_app", "myapp:", "myapp://", "my/app", "é-app", "app\x00", "app\n",
	} {
		keys := []oauthlogin.CookieKey{oauthlogin.GenerateCookieKey()}
		_, err := oauthlogin.New(oauthlogin.Config{BaseURL: "https://app.example", Keys: oauthlogin.Keys{Cookie: keys}, NativeApps: oauthlogin.NativeApps{Schemes: []string{"com.example.app", s}}})
		if !errors.Is(err, oauthlogin.ErrConfig) {
			t.Errorf("AppSchemes %q: New = %v, want ErrConfig", s, err)
		}
	}
	keys := []oauthlogin.CookieKey{oauthlogin.GenerateCookieKey()}
	for _, s := range []string{"com.example.app", "myapp-callback", "a", "x+y.z-1"} {
		if _, err := oauthlogin.New(oauthlogin.Config{BaseURL: "https://app.example", Keys: oauthlogin.Keys{Cookie: keys}, NativeApps: oauthlogin.NativeApps{Schemes: []string{s}}}); err != nil {
			t.Errorf("AppSchemes %q refused: %v", s, err)
		}
	}
}

// Schemes are case-insensitive (RFC 3986 §3.1): an entry in capitals
// matches a redirect in lower case, and the other way round.
func TestAppSchemesCaseInsensitive(t *testing.T) {
	h := newHarness(t, func(c *oauthlogin.Config) { c.NativeApps.Schemes = []string{"Com.Example.App"} })
	for _, success := range []string{"com.example.app://cb", "COM.EXAMPLE.APP://cb"} {
		q := url.Values{"mode": {"token"}, "success": {success}, "failure": {"com.example.app://failed"}}
		resp, err := noFollow().Get(h.app.URL + "/auth/test?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound {
			t.Errorf("success=%s: begin = %d, want 302", success, resp.StatusCode)
		}
	}
}

// noFollow is a client that returns redirects instead of following them.
func noFollow() *http.Client {
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}
