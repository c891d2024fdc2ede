package providers_test

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"testing"

	"golang.org/x/oauth2"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/providers"
)

// authorizeQuery returns the query of the authorization request the fake
// got.
func authorizeQuery(t *testing.T, f *fake) url.Values {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.requests {
		if same(r, f.fx.Authorize) {
			return r.URL.Query()
		}
	}
	t.Fatal("no authorization request")
	return nil
}

func TestGitHubEmails(t *testing.T) {
	user := oauthlogin.Profile{Subject: "583231", Name: "The Octocat", Username: "octocat", AvatarURL: "https://avatars.githubusercontent.com/u/583231?v=4"}
	tests := []struct {
		fixture  string
		email    string
		verified bool
	}{
		// /user has no public address: the primary verified one is used.
		{"github", "octocat@example.com", true},
		// The only address is unverified: it is kept, unverified.
		{"github-unverified", "octocat@example.com", false},
		// /user/emails refused (no user:email scope): the public address,
		// unverified.
		{"github-no-email-scope", "public@example.com", false},
		// No address anywhere.
		{"github-no-email", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			t.Parallel()
			got, a := runLogin(t, loginCase{entry: "github", fixture: tt.fixture})
			want := user
			want.Email, want.EmailVerified = tt.email, tt.verified
			checkProfile(t, got, want)
			if n := a.fake.hit("https://api.github.com/user/emails"); n != 1 {
				t.Errorf("/user/emails requests = %d, want 1", n)
			}
		})
	}
}

func TestGoogle(t *testing.T) {
	got, a := runLogin(t, loginCase{entry: "google"})
	if hd := providers.GoogleHostedDomain(got); hd != "example.com" {
		t.Errorf("GoogleHostedDomain = %q, want example.com", hd)
	}
	if n := a.fake.hit("https://openidconnect.googleapis.com/v1/userinfo"); n != 0 {
		t.Errorf("userinfo requests = %d, want none: the ID token has the claims", n)
	}
	q := authorizeQuery(t, a.fake)
	if q.Has("access_type") || q.Has("prompt") {
		t.Errorf("access_type=%q prompt=%q without OfflineAccess, want neither", q.Get("access_type"), q.Get("prompt"))
	}
	if providers.GoogleHostedDomain(&oauthlogin.Profile{Raw: []byte(`{"sub":"1"}`)}) != "" {
		t.Error("GoogleHostedDomain of a personal account is not empty")
	}
	// With OfflineAccess the fixture requires access_type=offline and
	// prompt=consent (TestCatalogLogin/google-offline).
}

func TestMicrosoftIssuerAndTenant(t *testing.T) {
	tests := []struct {
		fixture string
		tenant  string
	}{
		// iss names another tenant than the token's tid.
		{"microsoft-wrong-iss", "common"},
		// A personal account (the consumers tenant) for "organizations".
		{"microsoft-organizations-msa", "organizations"},
		// A token from another tenant for a single-tenant app.
		{"microsoft-tenant-other", "72f988bf-86f1-41af-91ab-2d7cd011db47"},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			t.Parallel()
			if _, code := microsoftLogin(t, loadFixture(t, tt.fixture), tt.tenant); code != oauthlogin.ErrInvalidIDToken.Code() {
				t.Errorf("login: %q, want %s", code, oauthlogin.ErrInvalidIDToken.Code())
			}
		})
	}
}

// TestMicrosoftResponseIssuer sends an RFC 9207 iss in the authorization
// response of a multi-tenant login, which Microsoft does not do today. Its
// discovery names the {tenantid} template, so an exact match would refuse
// every login; the tenant's own issuer is accepted instead, when the
// tenant may sign in here.
func TestMicrosoftResponseIssuer(t *testing.T) {
	const (
		tid       = "72f988bf-86f1-41af-91ab-2d7cd011db47"
		consumers = "9188040d-6c67-4c5b-b112-36a304b66dad"
	)
	tests := []struct {
		tenant, iss, want string
	}{
		{"common", "https://login.microsoftonline.com/" + tid + "/v2.0", ""},
		{"organizations", "https://login.microsoftonline.com/" + tid + "/v2.0", ""},
		{"common", "https://login.microsoftonline.com/{tenantid}/v2.0", ""},
		{"organizations", "https://login.microsoftonline.com/" + consumers + "/v2.0", "issuer_mismatch"},
		{"consumers", "https://login.microsoftonline.com/" + tid + "/v2.0", "issuer_mismatch"},
		{"common", "https://login.microsoftonline.com/not-a-tenant/v2.0", "issuer_mismatch"},
		{"common", "https://login.example.com/" + tid + "/v2.0", "issuer_mismatch"},
		{"common", "https://login.microsoftonline.com/" + tid + "/v2.0/", "issuer_mismatch"},
	}
	for _, tt := range tests {
		t.Run(tt.tenant+" "+tt.iss, func(t *testing.T) {
			t.Parallel()
			fx := loadFixture(t, "microsoft")
			fx.ResponseIss = tt.iss
			fx.DiscoveryURL = "https://login.microsoftonline.com/" + tt.tenant + "/v2.0/.well-known/openid-configuration"
			f, code := microsoftLogin(t, fx, tt.tenant)
			if code != tt.want {
				t.Errorf("login: %q, want %q", code, tt.want)
			}
			if n := f.hit(fx.Token); tt.want != "" && n != 0 {
				t.Errorf("the token endpoint was asked %d times after a refused iss", n)
			}
		})
	}
}

// microsoftLogin logs in through the microsoft entry for tenant against a
// fake serving fx, and returns the fake and the failure code ("" on
// success).
func microsoftLogin(t *testing.T, fx *fixture, tenant string) (*fake, string) {
	t.Helper()
	f := newFake(t, fx)
	a, err := newApp(t, f, "microsoft", providers.Settings{
		Config: providers.Config{ClientID: fakeClientID, ClientSecret: fakeClientSecret},
		Values: map[string]string{"tenant": tenant},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, code := a.login(t, "microsoft")
	return f, code
}

func TestMicrosoftDiscoveryIssuer(t *testing.T) {
	// A single-tenant app whose discovery names another tenant is refused
	// at construction.
	fx := loadFixture(t, "microsoft-tenant")
	fx.DiscoveryURL = "https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555/v2.0/.well-known/openid-configuration"
	f := newFake(t, fx)
	_, err := providers.Microsoft(t.Context(), "11111111-2222-3333-4444-555555555555",
		providers.Config{ClientID: fakeClientID, HTTPClient: f.client()})
	if err == nil {
		t.Error("Microsoft accepted a discovery document for another tenant")
	}
}

func TestXEmailOnlyWithScope(t *testing.T) {
	got, a := runLogin(t, loginCase{entry: "x"})
	if got.Email != "" || got.EmailVerified {
		t.Errorf("Email %q verified %v without users.email, want none", got.Email, got.EmailVerified)
	}
	if q := authorizeQuery(t, a.fake); q.Get("code_challenge_method") != "S256" {
		t.Error("X login without PKCE S256")
	}
}

// TestFigmaRefreshEndpoint refreshes at Figma's own refresh endpoint,
// whose answer has no refresh token: the one spent is kept.
func TestFigmaRefreshEndpoint(t *testing.T) {
	f := newFake(t, loadFixture(t, "figma"))
	p, err := providers.Figma(providers.Config{ClientID: fakeClientID, ClientSecret: fakeClientSecret})
	if err != nil {
		t.Fatal(err)
	}
	cfg := p.OAuth2Config()
	tok, err := p.Refresh(contextWithClient(t.Context(), f.client()), &cfg, "rt-old")
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken != "at-fixture-0002" || tok.RefreshToken != "rt-old" {
		t.Errorf("refreshed token = %q, %q; want at-fixture-0002, rt-old", tok.AccessToken, tok.RefreshToken)
	}
	if n := f.hit("https://api.figma.com/v1/oauth/refresh"); n != 1 {
		t.Errorf("refresh endpoint requests = %d, want 1", n)
	}
}

func TestYammerNestedTokenRefresh(t *testing.T) {
	f := newFake(t, loadFixture(t, "yammer"))
	p, err := providers.Yammer(providers.Config{ClientID: fakeClientID, ClientSecret: fakeClientSecret})
	if err != nil {
		t.Fatal(err)
	}
	cfg := p.OAuth2Config()
	tok, err := p.Refresh(contextWithClient(t.Context(), f.client()), &cfg, "rt-old")
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken != f.fx.AccessToken || tok.Type() != "Bearer" {
		t.Errorf("token %q type %q, want the nested token as a Bearer", tok.AccessToken, tok.Type())
	}
}

func TestNotionJSONTokenRefresh(t *testing.T) {
	// Notion's token endpoint takes JSON; the fake refuses a form.
	f := newFake(t, loadFixture(t, "notion"))
	p, err := providers.Notion(providers.Config{ClientID: fakeClientID, ClientSecret: fakeClientSecret})
	if err != nil {
		t.Fatal(err)
	}
	cfg := p.OAuth2Config()
	tok, err := p.Refresh(contextWithClient(t.Context(), f.client()), &cfg, "rt-old")
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken != f.fx.AccessToken {
		t.Errorf("AccessToken = %q", tok.AccessToken)
	}
}

func TestZohoCanadaAccountsServer(t *testing.T) {
	// Zoho's Canadian data centre is accounts.zohocloud.ca, not zoho.ca.
	fx := loadFixture(t, "zoho")
	fx.Discovery = bytes.ReplaceAll(fx.Discovery, []byte("accounts.zoho.eu"), []byte("accounts.zohocloud.ca"))
	f := newFake(t, fx)
	p, err := providers.Zoho(t.Context(), "ca", providers.Config{ClientID: fakeClientID, HTTPClient: f.client()})
	if err != nil {
		t.Fatal(err)
	}
	if got := p.OAuth2Config().Endpoint.AuthURL; got != "https://accounts.zohocloud.ca/oauth/v2/auth" {
		t.Errorf("AuthURL = %q", got)
	}
}

func contextWithClient(ctx context.Context, c *http.Client) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, c)
}
