package oauthlogin

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// stubProvider is the least a Provider can be, for tests of the refresh
// path against a scripted token endpoint.
type stubProvider struct{ tokenURL string }

func (p stubProvider) Name() string { return "stub" }
func (p stubProvider) OAuth2Config() oauth2.Config {
	return oauth2.Config{ClientID: "c", ClientSecret: "s", Endpoint: oauth2.Endpoint{AuthURL: "https://idp.example/authorize", TokenURL: p.tokenURL, AuthStyle: oauth2.AuthStyleInHeader}}
}
func (p stubProvider) Identify(context.Context, *oauth2.Token, string) (*Profile, error) {
	return &Profile{Subject: "s"}, nil
}

// expires_in, whatever shape the provider gives it, has a defined meaning.
func TestRefreshExpiresInShapes(t *testing.T) {
	var body string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	// x/oauth2 turns expires_in into a time with the real clock: compare
	// within a few seconds.
	now := time.Now()
	for _, tc := range []struct {
		name, expiresIn string
		want            time.Time
	}{
		{"Number", `3600`, now.Add(time.Hour)},
		{"String", `"3600"`, now.Add(time.Hour)},
		{"Missing", ``, time.Time{}},
		{"Zero", `0`, time.Time{}},
		{"Negative", `-60`, now},
		{"Absurd", `99999999999`, now.Add(maxTokenLifetime)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body = `{"access_token":"new-access","token_type":"Bearer"`
			if tc.expiresIn != "" {
				body += `,"expires_in":` + tc.expiresIn
			}
			body += `}`
			m, err := New(Config{BaseURL: "http://localhost", Keys: Keys{Cookie: []CookieKey{GenerateCookieKey()}}})
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Register(stubProvider{srv.URL}); err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			id := &Identity{ID: "i", UserID: "u", Issuer: "https://idp.example", Provider: "stub", ProviderUID: "s", Updated: now.Add(-time.Hour)}
			old := &oauth2.Token{AccessToken: "old-access", RefreshToken: "old-refresh"}
			if err := m.setIdentityTokens(id, old); err != nil {
				t.Fatal(err)
			}
			if err := m.store.CreateIdentity(ctx, id); err != nil {
				t.Fatal(err)
			}
			s := &Session{ID: "sess", UserID: "u", IdentityID: "i", Provider: "stub", ProviderUID: "s", Expires: now.Add(time.Hour)}
			s.ProviderTokens, _ = m.keys.seal(old, "session:sess")
			if err := m.store.SaveSession(ctx, s); err != nil { // a refresh only updates a stored session
				t.Fatal(err)
			}

			got, err := m.RefreshSession(ctx, s, true)
			if err != nil {
				t.Fatal(err)
			}
			if d := got.ProviderAccessTokenExpiry.Sub(tc.want); d < -5*time.Second || d > 5*time.Second || got.ProviderAccessTokenExpiry.IsZero() != tc.want.IsZero() {
				t.Fatalf("expiry %v, want %v", got.ProviderAccessTokenExpiry, tc.want)
			}
			tok, _ := m.ProviderToken(got)
			if tok.AccessToken != "new-access" || tok.RefreshToken != "old-refresh" {
				t.Fatalf("tokens after refresh: %+v (the old refresh token must be kept when none is sent)", tok)
			}
		})
	}
}
