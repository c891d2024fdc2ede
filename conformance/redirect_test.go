package conformance_test

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/securecookie"
	"golang.org/x/oauth2"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
)

// goodOrigin is the one extra origin the redirect tests allow.
const goodOrigin = "https://good.example"

// hostileRedirects are success and failure values that must be refused
// with the allowlist {app, https://good.example}: each would take a
// browser, or a lax URL parser, somewhere else.
var hostileRedirects = []string{
	"//evil.example/",
	"///evil.example/",
	"/\\evil.example/",
	"\\\\evil.example\\",
	"/\tevil.example/",
	"/done\r\nLocation: https://evil.example/",
	"done",
	"./done",
	"https:evil.example",
	"https:/evil.example",
	"https:\\\\evil.example",
	"https://good.example\\@evil.example/",
	"https://evil.example\\good.example/",
	"https://evil.example\\.good.example/",
	"https://good.example%2F@evil.example/",
	"https://evil.example%2Fgood.example/",
	"https://evil.example%2f.good.example/",
	"https://good.example%2eevil.example/",
	"https://good.example@evil.example/",
	"https://evil.example@good.example/",
	"https://good.example:@evil.example/",
	"https://:@good.example/",
	"https://good.example.evil.example/",
	"https://good.example./",
	"https://good.examp\u0142e/",
	"https://gооd.example/", // Cyrillic o
	"https://xn--gd-wnc.example/",
	"https://good.example:8443/",
	"https://good.example:0443/",
	"http://good.example/",
	"wss://good.example/",
	"ftp://good.example/",
	"javascript:alert(document.cookie)",
	"JavaScript://good.example/%0Aalert(1)",
	"javascript://good.example/%0aalert(1)",
	"data:text/html,<script>alert(1)</script>",
	"vbscript:msgbox(1)",
	"https://good.example\t.evil.example/",
	"\thttps://good.example/",
	" https://good.example/",
	"https://good.example/\r\nLocation: https://evil.example/",
	"https://good.example\r\n.evil.example/",
	"https://good.example\x00.evil.example/",
	"https://evil.example#https://good.example/",
	"https://evil.example?https://good.example/",
	"https://good.example" + strings.Repeat("/a", 1100),
}

// allowedRedirects are odd-looking values that are on the allowlist: they
// are accepted, and the browser is sent to good.example and nowhere else.
var allowedRedirects = []string{
	"https://good.example/path?x=1#frag",
	"HTTPS://GOOD.EXAMPLE/Upper",
	"https://good.example:443/",
	"https://good.example/%0d%0aSet-Cookie:x=y",
	"https://good.example/..%2f..%2fevil.example",
	"https://good.example/#@evil.example",
	"https://good.example/?next=https://evil.example/",
}

// pathRedirects are paths, resolved against BaseURL, however odd: each
// sends the browser to the app's own origin.
var pathRedirects = []string{
	"/done",
	"/done?x=1#frag",
	"/./done",
	"/../../done",
	"/..//evil.example/",
	"/.//evil.example/",
	"/%2F%2Fevil.example/",
	"/%5Cevil.example/",
	"/@evil.example",
	"/:@evil.example",
}

// TestOpenRedirects checks the success and failure URLs: refused at begin,
// and checked again at the callback before any redirect.
func TestOpenRedirects(t *testing.T) {
	allowGood := withConfig(func(c *oauthlogin.Config) { c.RedirectOrigins = []string{goodOrigin} })
	t.Run("RefusedAtBegin", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, allowGood)
		for _, bad := range hostileRedirects {
			for _, param := range []string{"success", "failure"} {
				b := oauthlogintest.NewBrowser()
				q := url.Values{param: {bad}}
				resp := h.do(b, "GET", "/auth/test?"+q.Encode(), nil)
				body := readAll(t, resp)
				if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" || !strings.Contains(body, "redirect_not_allowed") {
					t.Errorf("%s=%q: %d %s %.100s", param, bad, resp.StatusCode, resp.Header.Get("Location"), body)
				}
				if len(b.Client.Jar.Cookies(mustParse(t, h.app.URL+"/auth/"))) != 0 {
					t.Errorf("%s=%q: a flow cookie was set", param, bad)
				}
			}
		}
		h.hits("authorize", 0)
	})

	t.Run("AllowedLookalikesStayOnOrigin", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, allowGood)
		for _, good := range allowedRedirects {
			b := oauthlogintest.NewBrowser()
			page, err := b.Visit(t.Context(), h.beginURL("test", "success", good), func(u *url.URL) bool {
				return u.Host != mustParse(t, h.app.URL).Host && u.Host != mustParse(t, h.idp.URL).Host
			})
			if err != nil {
				t.Fatal(err)
			}
			loc := page.Location
			if loc == nil || loc.Scheme != "https" || !strings.EqualFold(loc.Hostname(), "good.example") || loc.User != nil || strings.ContainsAny(page.Header.Get("Location"), "\r\n\\") {
				t.Errorf("success=%q: sent to %v", good, page.Header.Get("Location"))
			}
		}
	})

	t.Run("PathsStayOnBaseOrigin", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, allowGood)
		app := mustParse(t, h.app.URL)
		for _, path := range pathRedirects {
			for _, param := range []string{"success", "failure"} {
				b := oauthlogintest.NewBrowser()
				q := url.Values{param: {path}}
				resp := h.do(b, "GET", "/auth/test?"+q.Encode(), nil)
				readAll(t, resp)
				if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), h.idp.URL) {
					t.Errorf("%s=%q: refused at begin: %d", param, path, resp.StatusCode)
				}
			}
			b := oauthlogintest.NewBrowser()
			page, err := b.Visit(t.Context(), h.beginURL("test", "success", path), func(u *url.URL) bool {
				return u.Host != app.Host && u.Host != mustParse(t, h.idp.URL).Host
			})
			if err != nil {
				t.Fatal(err)
			}
			if page.Location != nil || page.URL.Scheme != app.Scheme || page.URL.Host != app.Host {
				t.Errorf("success=%q: ended at %v, stopped before %v", path, page.URL, page.Location)
			}
			// A forged flow holding the path is sent to it resolved,
			// as checked again at the callback.
			fc := h.forgedCallback(t, path, h.app.URL+"/failed")
			resp := h.do(fc.b, "GET", strings.TrimPrefix(fc.url, h.app.URL), nil)
			readAll(t, resp)
			if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, h.app.URL+"/") {
				t.Errorf("forged success=%q: %d to %q, want %s/...", path, resp.StatusCode, loc, h.app.URL)
			}
		}
	})

	// A flow begun while an origin was allowed ends with a 400, not a
	// redirect, once it no longer is: the callback checks again.
	t.Run("RecheckedAtCallbackAfterAllowlistChange", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, allowGood)
		strict, err := oauthlogin.New(oauthlogin.Config{BaseURL: h.cfg.BaseURL, Keys: oauthlogin.Keys{Cookie: h.cfg.Keys.Cookie}, Store: h.store})
		if err != nil {
			t.Fatal(err)
		}
		h.register(strict, h.idp, "test", h.pc)
		b := oauthlogintest.NewBrowser()
		cb := h.toCallback(b, "test", "success", goodOrigin+"/in")
		resp := serve(strict, "GET", cb.String(), b.Client.Jar.Cookies(cb))
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
			t.Fatalf("callback = %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		h.hits("token", 0)
	})

	// With a leaked cookie key an attacker can seal any flow. The callback
	// still checks its redirects before it redirects anywhere. The
	// control case proves that the forged flows are read at all.
	t.Run("RecheckedAtCallbackWithForgedFlow", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, allowGood)
		control := h.forgedCallback(t, h.app.URL+"/done", h.app.URL+"/failed")
		h.mustSucceed(control.b, h.visit(control.b, control.url))
		for _, bad := range hostileRedirects {
			for _, param := range []string{"success", "failure"} {
				success, failure := h.app.URL+"/done", h.app.URL+"/failed"
				if param == "success" {
					success = bad
				} else {
					failure = bad
				}
				fc := h.forgedCallback(t, success, failure)
				tokens := h.idp.Hits("token")
				resp := h.do(fc.b, "GET", strings.TrimPrefix(fc.url, h.app.URL), nil)
				if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
					t.Errorf("forged %s=%q: %d %s", param, bad, resp.StatusCode, resp.Header.Get("Location"))
				}
				if h.idp.Hits("token") != tokens {
					t.Errorf("forged %s=%q: the code was redeemed", param, bad)
				}
			}
		}
	})
}

// forged is a callback, with its browser, for a flow sealed by hand.
type forged struct {
	b   *oauthlogintest.Browser
	url string
}

// forgedCallback seals a flow with success and failure under the app's
// cookie key, as an attacker holding that key could, has the provider
// approve it, and returns the callback to visit.
func (h *harness) forgedCallback(t *testing.T, success, failure string) forged {
	t.Helper()
	state, nonce, verifier := oauth2.GenerateVerifier(), oauth2.GenerateVerifier(), oauth2.GenerateVerifier()
	flow := map[string]any{"p": "test", "s": state, "v": verifier, "n": nonce, "ok": success, "f": failure, "e": time.Now().Add(time.Minute).Unix()}
	sum := sha256.Sum256([]byte(state))
	name := "oauthlogin_flow_" + base64.RawURLEncoding.EncodeToString(sum[:16])
	sc := securecookie.New(h.cfg.Keys.Cookie[0].Hash, h.cfg.Keys.Cookie[0].Block)
	sc.SetSerializer(securecookie.JSONEncoder{})
	sc.MaxLength(0) // the Manager's own limit is part of what is tested
	value, err := sc.Encode(name, flow)
	if err != nil {
		t.Fatal(err)
	}
	cfg := oauth2.Config{ClientID: h.idp.ClientID, Endpoint: oauth2.Endpoint{AuthURL: h.idp.URL + "/authorize"},
		RedirectURL: h.app.URL + "/auth/test/callback", Scopes: []string{"openid", "email", "profile"}}
	b := oauthlogintest.NewBrowser()
	page, err := b.Visit(t.Context(), cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("nonce", nonce)),
		func(u *url.URL) bool { return strings.HasSuffix(u.Path, "/callback") })
	if err != nil || page.Location == nil {
		t.Fatalf("provider hop: %v", err)
	}
	b.Client.Jar.SetCookies(mustParse(t, h.app.URL+"/auth/"), []*http.Cookie{{Name: name, Value: value, Path: "/auth/"}})
	h.log.secret(value, state, nonce, verifier)
	return forged{b, page.Location.String()}
}
