package oauthlogintest_test

import (
	"net/http"
	"net/url"
	"testing"

	"golang.org/x/oauth2"

	"github.com/oauthlogin/oauthlogin/internal/testapp"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
)

func TestAuthorizeBehaviors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		behavior oauthlogintest.Behavior
		want     url.Values // "" means the parameter must be absent
	}{
		{"error", oauthlogintest.Behavior{AuthorizeError: "access_denied"},
			url.Values{"error": {"access_denied"}, "code": {""}, "state": {"st"}, "iss": {"ISSUER"}}},
		{"no state", oauthlogintest.Behavior{OmitState: true},
			url.Values{"state": {""}, "iss": {"ISSUER"}}},
		{"wrong iss", oauthlogintest.Behavior{AuthorizeIssuer: "https://evil.example"},
			url.Values{"state": {"st"}, "iss": {"https://evil.example"}}},
		{"no iss", oauthlogintest.Behavior{OmitAuthorizeIssuer: true},
			url.Values{"state": {"st"}, "iss": {""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			idp := testapp.NewIdP(t)
			idp.Behave(tt.behavior)
			q := authorize(t, clientConfig(idp).AuthCodeURL("st"))
			for k, v := range tt.want {
				want := v[0]
				if want == "ISSUER" {
					want = idp.URL
				}
				if got := q.Get(k); got != want || (want == "" && q.Has(k)) {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
		})
	}
}

func TestAuthorizeKeepsRedirectQuery(t *testing.T) {
	t.Parallel()
	idp := testapp.NewIdP(t)
	cfg := clientConfig(idp)
	cfg.RedirectURL = callbackURL + "?tenant=7"
	q := authorize(t, cfg.AuthCodeURL("st"))
	if q.Get("tenant") != "7" || q.Get("code") == "" {
		t.Errorf("callback query = %v", q)
	}
	if _, err := cfg.Exchange(t.Context(), q.Get("code")); err != nil {
		t.Error(err)
	}
}

func TestAuthorizeRefusesBadRequests(t *testing.T) {
	t.Parallel()
	idp := testapp.NewIdP(t)
	cfg := clientConfig(idp)
	redirectErrors := []struct {
		name string
		url  string
		want string
	}{
		{"token response type", cfg.AuthCodeURL("st", oauth2.SetAuthURLParam("response_type", "token")), "unsupported_response_type"},
		{"plain PKCE", cfg.AuthCodeURL("st", oauth2.SetAuthURLParam("code_challenge", oauth2.GenerateVerifier()),
			oauth2.SetAuthURLParam("code_challenge_method", "plain")), "invalid_request"},
		{"default PKCE method", cfg.AuthCodeURL("st", oauth2.SetAuthURLParam("code_challenge", oauth2.GenerateVerifier())), "invalid_request"},
		{"malformed challenge", cfg.AuthCodeURL("st", oauth2.SetAuthURLParam("code_challenge", "short"),
			oauth2.SetAuthURLParam("code_challenge_method", "S256")), "invalid_request"},
	}
	for _, tt := range redirectErrors {
		q := authorize(t, tt.url)
		if q.Get("error") != tt.want || q.Has("code") || q.Get("state") != "st" {
			t.Errorf("%s: callback query = %v, want error=%s", tt.name, q, tt.want)
		}
	}

	pageErrors := map[string]url.Values{
		"unknown client":         {"client_id": {"nobody"}, "redirect_uri": {callbackURL}, "response_type": {"code"}},
		"relative redirect_uri":  {"client_id": {idp.ClientID}, "redirect_uri": {"/callback"}, "response_type": {"code"}},
		"no redirect_uri":        {"client_id": {idp.ClientID}, "response_type": {"code"}},
		"redirect with fragment": {"client_id": {idp.ClientID}, "redirect_uri": {callbackURL + "#x"}, "response_type": {"code"}},
	}
	for name, q := range pageErrors {
		page, err := oauthlogintest.NewBrowser().Visit(t.Context(), idp.URL+"/authorize?"+q.Encode(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if page.Status != http.StatusBadRequest || page.Location != nil {
			t.Errorf("%s: status %d, location %v; want 400 without redirect", name, page.Status, page.Location)
		}
	}
}

func TestAuthorizeAllowsCustomSchemes(t *testing.T) {
	t.Parallel()
	idp := testapp.NewIdP(t)
	cfg := clientConfig(idp)
	cfg.RedirectURL = "com.example.app:/oauth"
	page, err := oauthlogintest.NewBrowser().Visit(t.Context(), cfg.AuthCodeURL("st"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if page.Location == nil || page.Location.Scheme != "com.example.app" || page.Location.Query().Get("code") == "" {
		t.Fatalf("stopped at %v", page.Location)
	}
	if _, err := cfg.Exchange(t.Context(), page.Location.Query().Get("code")); err != nil {
		t.Error(err)
	}
}
