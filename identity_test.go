package oauthlogin_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"golang.org/x/oauth2"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
	"github.com/oauthlogin/oauthlogin/providers"
)

func TestNormalizeEmail(t *testing.T) {
	for in, want := range map[string]string{
		"Ada@Example.COM":        "Ada@example.com",
		"ada@ｅｘａｍｐｌｅ.com":        "", // a non-ASCII domain links nothing (see TestNormalizeEmailNeverMerges)
		"ａｄａ@example.com":        "", // full-width letters are not folded: refused
		"ada@example.com":        "ada@example.com",
		"":                       "",
		"ada":                    "",
		"@example.com":           "",
		"ada@":                   "",
		"ada@b@example.com":      "",
		"ada @example.com":       "",
		"ada@example.com\n":      "",
		"ada\x00@example.com":    "",
		"ada@exa\u200bmple.com":  "", // a zero-width space is a format character: refused
		"\xffada@example.com":    "",
		"ada@example.com\u2028x": "",
		"ADA@EXAMPLE.COM":        "ADA@example.com",
	} {
		got, ok := oauthlogin.NormalizeEmailForTest(in)
		if got != want || ok != (want != "") {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

// plain registers a plain OAuth 2.0 provider on the fake's endpoints whose
// user document is doc, whatever the token.
func (h *harness) plain(name string, doc func() string) {
	h.t.Helper()
	info := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, doc())
	}))
	h.t.Cleanup(info.Close)
	p, err := providers.OAuth2(name, providers.Spec{
		Endpoint:    oauth2.Endpoint{AuthURL: info.URL + "/authorize-unused", TokenURL: h.idp.URL + "/token"},
		UserInfoURL: info.URL,
	}, providers.Config{ClientID: h.idp.ClientID, ClientSecret: h.idp.ClientSecret})
	if err != nil {
		h.t.Fatal(err)
	}
	// The fake's authorize endpoint issues the code; the begin redirect
	// goes there.
	if err := h.m.Register(plainAt{p, h.idp.URL + "/authorize"}); err != nil {
		h.t.Fatal(err)
	}
}

// plainAt moves a provider's authorization endpoint.
type plainAt struct {
	*providers.OAuth2Provider
	authURL string
}

func (p plainAt) OAuth2Config() oauth2.Config {
	c := p.OAuth2Provider.OAuth2Config()
	c.Endpoint.AuthURL = p.authURL
	return c
}

func TestLinkByVerifiedEmail(t *testing.T) {
	for _, tc := range []struct {
		name     string
		verified string // the JSON value of email_verified, "" for absent
		trusted  []string
		linked   bool
	}{
		{"VerifiedTrue", `true`, []string{"test", "plain"}, true},
		{"Absent", ``, []string{"test", "plain"}, false},
		{"False", `false`, []string{"test", "plain"}, false},
		{"StringFalse", `"false"`, []string{"test", "plain"}, false},
		{"StringTrue", `"true"`, []string{"test", "plain"}, false}, // a string is not an assertion, unless a provider's own rule says so
		{"OffByDefault", `true`, nil, false},
		{"NewProviderNotTrusted", `true`, []string{"test"}, false},
		{"FirstProviderNotTrusted", `true`, []string{"plain"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, func(c *oauthlogin.Config) { c.EmailLinkProviders = tc.trusted })
			doc := `{"sub": "plain-1", "email": "ada@EXAMPLE.com"` // the domain's case does not matter
			if tc.verified != "" {
				doc += `, "email_verified": ` + tc.verified
			}
			doc += `}`
			h.plain("plain", func() string { return doc })
			a := oauthlogintest.NewBrowser()
			h.mustSucceed(h.login(a)) // Ada, ada@example.com, verified, at "test"
			sa, _ := h.session(a)

			b := oauthlogintest.NewBrowser()
			page, err := b.Visit(context.Background(), h.beginURL("plain"), nil)
			if err != nil {
				t.Fatal(err)
			}
			h.mustSucceed(page)
			sb, _ := h.session(b)
			if linked := sb["userId"] == sa["userId"]; linked != tc.linked {
				t.Fatalf("linked = %v, want %v (users %v, %v)", linked, tc.linked, sa["userId"], sb["userId"])
			}
		})
	}
}

// The same email under another subject is another identity, and by default
// another user.
func TestSameEmailOtherSubject(t *testing.T) {
	h := newHarness(t)
	a := oauthlogintest.NewBrowser()
	h.mustSucceed(h.login(a))
	h.idp.SetUser(oauthlogintest.User{Subject: "user-2", Email: "ada@example.com", EmailVerified: true})
	b := oauthlogintest.NewBrowser()
	h.mustSucceed(h.login(b))
	sa, _ := h.session(a)
	sb, _ := h.session(b)
	if sa["userId"] == sb["userId"] {
		t.Fatal("an email address pulled a second account into the first user")
	}
	// And a new email for the same subject is the same identity.
	h.idp.SetUser(oauthlogintest.User{Subject: "user-1", Email: "ada@new.example"})
	c := oauthlogintest.NewBrowser()
	h.mustSucceed(h.login(c))
	if sc, _ := h.session(c); sc["userId"] != sa["userId"] {
		t.Fatal("a changed email made a new user")
	}
	if ids := identities(t, h, c); len(ids) != 1 || ids[0]["providerEmail"] != "ada@new.example" {
		t.Fatalf("identities = %v", ids)
	}
}

func TestAllowLoginVeto(t *testing.T) {
	errNotStaff := errors.New("not staff")
	h := newHarness(t, func(c *oauthlogin.Config) {
		c.Hooks.AllowLogin = func(ctx context.Context, provider string, p *oauthlogin.Profile) error {
			if p.Subject != "user-1" {
				return errNotStaff
			}
			return nil
		}
	})
	h.mustSucceed(h.login(oauthlogintest.NewBrowser()))
	h.idp.SetUser(oauthlogintest.User{Subject: "user-2"})
	b := oauthlogintest.NewBrowser()
	h.mustFail(h.login(b), oauthlogin.ErrLoginDenied.Code())
	if _, err := h.store.Identity(context.Background(), h.idp.URL, "user-2"); !errors.Is(err, oauthlogin.ErrNotFound) {
		t.Fatal("a denied login wrote an identity")
	}
	if _, status := h.session(b); status != http.StatusUnauthorized {
		t.Fatal("a denied login made a session")
	}
}

func TestResolveUser(t *testing.T) {
	h := newHarness(t, func(c *oauthlogin.Config) {
		c.Hooks.ResolveUser = func(ctx context.Context, provider string, p *oauthlogin.Profile) (string, error) {
			return "app-user-" + p.Subject, nil
		}
	})
	b := oauthlogintest.NewBrowser()
	h.mustSucceed(h.login(b))
	if s, _ := h.session(b); s["userId"] != "app-user-user-1" {
		t.Fatalf("userId = %v", s["userId"])
	}
}

// Two users linking the same provider account at the same moment: exactly
// one gets it.
func TestConcurrentLinksOfOneAccount(t *testing.T) {
	h := newHarness(t)
	h.register("other", providers.Config{})
	var browsers []*oauthlogintest.Browser
	for _, sub := range []string{"user-a", "user-b"} {
		h.idp.SetUser(oauthlogintest.User{Subject: sub})
		b := oauthlogintest.NewBrowser()
		h.mustSucceed(h.login(b))
		browsers = append(browsers, b)
	}
	h.idp.SetUser(oauthlogintest.User{Subject: "contested"})
	var callbacks []string
	for _, b := range browsers {
		resp := h.postLink(b, "other")
		page, err := b.Visit(context.Background(), resp.Header.Get("Location"), atCallback)
		if err != nil || page.Location == nil {
			t.Fatalf("did not reach the callback: %v", err)
		}
		callbacks = append(callbacks, page.Location.String())
	}
	results := make([]string, 2)
	var wg sync.WaitGroup
	for i, b := range browsers {
		wg.Go(func() {
			page, err := b.Visit(context.Background(), callbacks[i], nil)
			if err != nil {
				t.Error(err)
				return
			}
			results[i] = page.URL.Path + "?" + page.URL.RawQuery
		})
	}
	wg.Wait()
	won := 0
	for _, r := range results {
		switch r {
		case "/done?":
			won++
		case "/failed?error=" + oauthlogin.ErrIdentityConflict.Code():
		default:
			t.Fatalf("link ended at %s", r)
		}
	}
	if won != 1 {
		t.Fatalf("%d links of one account succeeded: %v", won, results)
	}
}
