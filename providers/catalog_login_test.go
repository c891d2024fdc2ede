package providers_test

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
	"github.com/oauthlogin/oauthlogin/providers"
)

// loginCase is one whole login through a catalogue entry against a fake
// serving the entry's documented responses.
type loginCase struct {
	entry   string // catalogue name
	fixture string // testdata/<fixture>.json; default entry
	values  map[string]string
	config  func(*providers.Config)
	secret  func(string) error // checks the client secret; default equality
	want    oauthlogin.Profile
}

// app is a host app with a Manager and the one provider under test.
type app struct {
	srv      *httptest.Server
	fake     *fake
	browser  *oauthlogintest.Browser
	provider oauthlogin.Provider

	mu      sync.Mutex
	profile *oauthlogin.Profile
}

// newApp builds the provider of entry name from settings, with its HTTP
// client going to f, and a Manager serving it.
func newApp(t *testing.T, f *fake, name string, settings providers.Settings) (*app, error) {
	t.Helper()
	a := &app{fake: f}
	var handler http.Handler
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(a.srv.Close)
	appHost := strings.TrimPrefix(a.srv.URL, "http://")
	client := &http.Client{Transport: f.transport(appHost)}

	entry, ok := providers.Find(name)
	if !ok {
		t.Fatalf("no catalogue entry %q", name)
	}
	settings.HTTPClient = client
	p, err := entry.New(t.Context(), settings)
	if err != nil {
		return nil, err
	}
	a.provider = p
	if p.Name() != name {
		t.Errorf("Name() = %q, want %q", p.Name(), name)
	}
	m, err := oauthlogin.New(oauthlogin.Config{
		BaseURL:    a.srv.URL,
		Keys:       oauthlogin.Keys{Cookie: []oauthlogin.CookieKey{oauthlogin.GenerateCookieKey()}},
		HTTPClient: client,
		Hooks: oauthlogin.Hooks{ResolveUser: func(_ context.Context, _ string, p *oauthlogin.Profile) (string, error) {
			a.mu.Lock()
			defer a.mu.Unlock()
			cp := *p
			a.profile = &cp
			return "user-" + p.Subject, nil
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Register(p); err != nil {
		t.Fatalf("Register: %v", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", m.Handler())
	handler = mux
	jar, _ := cookiejar.New(nil)
	a.browser = &oauthlogintest.Browser{Client: &http.Client{Jar: jar, Transport: f.transport(appHost)}}
	return a, nil
}

// login runs a login and returns the profile the Manager got, or the
// failure code.
func (a *app) login(t *testing.T, name string) (*oauthlogin.Profile, string) {
	t.Helper()
	ctx := t.Context()
	begin := a.srv.URL + "/auth/" + name + "?" + url.Values{
		"success": {a.srv.URL + "/done"},
		"failure": {a.srv.URL + "/failed"},
	}.Encode()
	appHost := strings.TrimPrefix(a.srv.URL, "http://")
	end := func(u *url.URL) bool {
		return u.Host == appHost && (u.Path == "/done" || u.Path == "/failed")
	}
	page, err := a.browser.Visit(ctx, begin, end)
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	if page.Location == nil && a.fake.fx.FormPost {
		page = a.postForm(t, page)
	}
	if page.Location == nil {
		t.Fatalf("login ended at %s %d: %s", page.URL, page.Status, page.Body)
	}
	if page.Location.Path == "/failed" {
		return nil, page.Location.Query().Get("error")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.profile == nil {
		t.Fatal("the login succeeded without a profile")
	}
	return a.profile, ""
}

var formField = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)

// postForm submits the form_post page like a browser: a cross-site POST
// of its fields to the callback.
func (a *app) postForm(t *testing.T, page *oauthlogintest.Page) *oauthlogintest.Page {
	t.Helper()
	action := regexp.MustCompile(`action="([^"]*)"`).FindSubmatch(page.Body)
	if action == nil {
		t.Fatalf("no form in %s", page.Body)
	}
	form := url.Values{}
	for _, m := range formField.FindAllSubmatch(page.Body, -1) {
		form.Set(unescape(string(m[1])), unescape(string(m[2])))
	}
	c := *a.browser.Client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.PostForm(unescape(string(action[1])), form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := resp.Location()
	if err != nil {
		t.Fatalf("form_post callback: status %d, no redirect", resp.StatusCode)
	}
	return &oauthlogintest.Page{Status: resp.StatusCode, Location: loc}
}

func unescape(s string) string {
	r := strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">", "&#34;", `"`, "&#39;", "'", "&quot;", `"`)
	return r.Replace(s)
}

// runLogin runs c and returns the profile, failing the test on a login
// failure.
func runLogin(t *testing.T, c loginCase) (*oauthlogin.Profile, *app) {
	t.Helper()
	name := c.fixture
	if name == "" {
		name = c.entry
	}
	f := newFake(t, loadFixture(t, name))
	if c.secret != nil {
		f.secret = c.secret
	}
	cfg := providers.Config{ClientID: fakeClientID, ClientSecret: fakeClientSecret}
	if c.config != nil {
		c.config(&cfg)
	}
	a, err := newApp(t, f, c.entry, providers.Settings{Config: cfg, Values: c.values})
	if err != nil {
		t.Fatalf("constructor: %v", err)
	}
	p, code := a.login(t, c.entry)
	if code != "" {
		t.Fatalf("login failed: %s", code)
	}
	return p, a
}

// checkProfile compares a profile field by field, Raw aside.
func checkProfile(t *testing.T, got *oauthlogin.Profile, want oauthlogin.Profile) {
	t.Helper()
	for _, f := range []struct {
		name      string
		got, want any
	}{
		{"Subject", got.Subject, want.Subject},
		{"Email", got.Email, want.Email},
		{"EmailVerified", got.EmailVerified, want.EmailVerified},
		{"Name", got.Name, want.Name},
		{"Username", got.Username, want.Username},
		{"AvatarURL", got.AvatarURL, want.AvatarURL},
	} {
		if f.got != f.want {
			t.Errorf("%s = %v, want %v", f.name, f.got, f.want)
		}
	}
	if len(got.Raw) == 0 {
		t.Error("Raw is empty")
	}
}
