package oauthlogin

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
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

			got, err := m.Refresh(ctx, s)
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

// gatedLocker holds the first refresh lock taken until release is closed,
// and reports every Lock call on entered.
type gatedLocker struct {
	*MemoryStore
	entered chan string
	release chan struct{}
	calls   atomic.Int32
}

func (g *gatedLocker) Lock(ctx context.Context, key string, ttl time.Duration) (func(context.Context) error, error) {
	g.entered <- key
	if g.calls.Add(1) == 1 {
		<-g.release
	}
	return g.MemoryStore.Lock(ctx, key, ttl)
}

// A caller who asked for a refresh never takes the answer of a lazy
// caller's refresh (ifExpiring, TokenSource) of the same identity, which
// may be "not due": while a lazy refresh waits for the identity's lock,
// Refresh goes to the provider.
func TestRefreshNotJoinedToLazyFlight(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":"new-%d","token_type":"Bearer","expires_in":3600}`, n)
	}))
	t.Cleanup(srv.Close)
	store := &gatedLocker{MemoryStore: NewMemoryStore(), entered: make(chan string, 4), release: make(chan struct{})}
	m, err := New(Config{BaseURL: "http://localhost", Keys: Keys{Cookie: []CookieKey{GenerateCookieKey()}},
		Store: store})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Register(stubProvider{srv.URL}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	now := time.Now()
	// The identity's token is fresh (another device refreshed it); this
	// session's copy is about to expire, so a lazy refresh looks.
	id := &Identity{ID: "i", UserID: "u", Issuer: "https://idp.example", Provider: "stub", ProviderUID: "s", Updated: now.Add(-time.Hour)}
	if err := m.setIdentityTokens(id, &oauth2.Token{AccessToken: "fresh", RefreshToken: "rt", Expiry: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := store.CreateIdentity(ctx, id); err != nil {
		t.Fatal(err)
	}
	s := &Session{ID: "sess", UserID: "u", IdentityID: "i", Provider: "stub", ProviderUID: "s", Created: now, Expires: now.Add(time.Hour), ProviderAccessTokenExpiry: now.Add(time.Minute)}
	s.ProviderTokens, _ = m.keys.seal(&oauth2.Token{AccessToken: "old", RefreshToken: "rt"}, "session:sess")
	if err := store.SaveSession(ctx, s); err != nil {
		t.Fatal(err)
	}

	lazy := make(chan error, 1)
	go func() {
		_, err := m.refreshSession(ctx, s, true)
		lazy <- err
	}()
	<-store.entered // the lazy refresh waits for the lock
	// Joined to the lazy flight, Refresh would wait for it: the deadline
	// only bounds that failure.
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	got, err := m.Refresh(rctx, s)
	if err != nil || hits.Load() != 1 {
		t.Fatalf("Refresh while a lazy refresh waits: %v, %d provider requests, want 1", err, hits.Load())
	}
	if tok, _ := m.ProviderToken(got); tok.AccessToken != "new-1" {
		t.Fatalf("Refresh answered %q, want the provider's new token", tok.AccessToken)
	}
	close(store.release)
	if err := <-lazy; err != nil || hits.Load() != 1 {
		t.Fatalf("the lazy refresh: %v, %d provider requests, want 1", err, hits.Load())
	}
}
