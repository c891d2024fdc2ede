package oauthlogin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// A refresh never outlives its lock. Found by an adversarial review: with
// an HTTP client whose timeout exceeds the refresh lock's TTL, a slow
// provider kept the first instance's refresh going after the lock expired,
// and a second instance took the lock and sent the same refresh token
// again, which a provider that detects reuse answers by revoking the grant
// (RFC 9700 §4.14.2; Locker's doc: no two instances ever send the same
// refresh token). The provider requests of a refresh are bounded by a
// budget shorter than the TTL, whatever the client's timeout; then the
// lock is free and nothing was written.
func TestRefreshEndsWithinItsLock(t *testing.T) {
	if refreshBudget >= refreshLockTTL {
		t.Fatalf("refreshBudget %v is not shorter than refreshLockTTL %v", refreshBudget, refreshLockTTL)
	}
	cancelled := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()        // read to the end: the server then notices a closed connection
		<-r.Context().Done() // slower than any budget: only the client ends it
		close(cancelled)
	}))
	t.Cleanup(srv.Close)
	store := NewMemoryStore()
	m, err := New(Config{BaseURL: "http://localhost", Keys: Keys{Cookie: []CookieKey{GenerateCookieKey()}},
		Store: store, HTTPClient: &http.Client{Timeout: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	if m.refreshBudget != refreshBudget {
		t.Fatalf("a new Manager's refresh budget is %v, want %v", m.refreshBudget, refreshBudget)
	}
	m.refreshBudget = 50 * time.Millisecond
	if err := m.Register(stubProvider{srv.URL}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	now := time.Now()
	id := &Identity{ID: "i", UserID: "u", Issuer: "https://idp.example", Provider: "stub", ProviderUID: "s", Updated: now.Add(-time.Hour)}
	if err := m.setIdentityTokens(id, &oauth2.Token{AccessToken: "old-access", RefreshToken: "old-refresh"}); err != nil {
		t.Fatal(err)
	}
	if err := store.CreateIdentity(ctx, id); err != nil {
		t.Fatal(err)
	}
	s := &Session{ID: "laptop", UserID: "u", IdentityID: "i", Provider: "stub", ProviderUID: "s", Created: now, Expires: now.Add(time.Hour)}
	if err := store.SaveSession(ctx, s); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Refresh(ctx, s); !errors.Is(err, ErrProviderUnavailable) {
		t.Fatalf("a refresh past its budget = %v, want ErrProviderUnavailable", err)
	}
	<-cancelled // the provider saw its request cancelled
	done, cancel := context.WithCancel(ctx)
	cancel()
	unlock, err := store.Lock(done, "oauthlogin:refresh:"+id.Issuer+"\x00s\x00i", refreshLockTTL)
	if err != nil {
		t.Fatalf("the refresh lock is still held after the refresh gave up: %v", err)
	}
	unlock(ctx)
	got, err := store.Identity(ctx, id.Issuer, "s")
	if err != nil || !got.Updated.Equal(id.Updated) {
		t.Fatalf("the identity changed after a refresh that gave up: %v", err)
	}
}

// failingUnlocker is a MemoryStore whose lock releases fail the first
// fails times, as they do while the store's server restarts.
type failingUnlocker struct {
	*MemoryStore
	fails   int32
	unlocks atomic.Int32
}

func (f *failingUnlocker) Lock(ctx context.Context, key string, ttl time.Duration) (func(context.Context) error, error) {
	unlock, err := f.MemoryStore.Lock(ctx, key, ttl)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) error {
		if f.unlocks.Add(1) <= f.fails {
			return fmt.Errorf("%w: the server is restarting", ErrStoreUnavailable)
		}
		return unlock(ctx)
	}, nil
}

// A refresh lock whose release the store fails (its server restarting)
// is released once the store answers again, not left until its ttl: a
// store that keeps locks across a restart (Redis with an append-only
// file) would otherwise hold off the identity's refreshes for 30s.
func TestRefreshLockReleaseRetried(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"access_token":"new","token_type":"Bearer","expires_in":3600}`)
	}))
	t.Cleanup(srv.Close)
	store := &failingUnlocker{MemoryStore: NewMemoryStore(), fails: 3}
	m, err := New(Config{BaseURL: "http://localhost", Keys: Keys{Cookie: []CookieKey{GenerateCookieKey()}}, Store: store})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Register(stubProvider{srv.URL}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	now := time.Now()
	id := &Identity{ID: "i", UserID: "u", Issuer: "https://idp.example", Provider: "stub", ProviderUID: "s", Updated: now.Add(-time.Hour)}
	if err := m.setIdentityTokens(id, &oauth2.Token{AccessToken: "old-access", RefreshToken: "old-refresh"}); err != nil {
		t.Fatal(err)
	}
	if err := store.CreateIdentity(ctx, id); err != nil {
		t.Fatal(err)
	}
	s := &Session{ID: "laptop", UserID: "u", IdentityID: "i", Provider: "stub", ProviderUID: "s", Created: now, Expires: now.Add(time.Hour)}
	if err := store.SaveSession(ctx, s); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Refresh(ctx, s); err != nil {
		t.Fatal(err)
	}
	done, cancel := context.WithCancel(ctx)
	cancel() // a try-lock
	deadline := time.Now().Add(10 * time.Second)
	for {
		unlock, err := store.MemoryStore.Lock(done, "oauthlogin:refresh:"+id.Issuer+"\x00s\x00i", refreshLockTTL)
		if err == nil {
			unlock(ctx)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the refresh lock is still held 10s after the refresh, its release tried %d times", store.unlocks.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := store.unlocks.Load(); n != store.fails+1 {
		t.Fatalf("the release was tried %d times, want %d", n, store.fails+1)
	}
}

// restartingStore is a MemoryStore whose identity writes fail the first
// fails times, as they do while the store's server restarts.
type restartingStore struct {
	*MemoryStore
	fails  int32
	writes atomic.Int32
}

func (s *restartingStore) UpdateIdentity(ctx context.Context, v *Identity) error {
	if s.writes.Add(1) <= s.fails {
		return fmt.Errorf("%w: the server is restarting", ErrStoreUnavailable)
	}
	return s.MemoryStore.UpdateIdentity(ctx, v)
}

// The identity write after the provider has rotated the refresh token is
// tried again while the store restarts, within the refresh's budget: the
// refresh succeeds, the provider is asked once, and the identity keeps the
// new refresh token, never the spent one that a next refresh would send
// again (RFC 9700 §4.14.2: the provider would revoke the grant).
func TestRefreshWriteRetriedWhileStoreRestarts(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"access_token":"new-access","refresh_token":"new-refresh","token_type":"Bearer","expires_in":3600}`)
	}))
	t.Cleanup(srv.Close)
	store := &restartingStore{MemoryStore: NewMemoryStore(), fails: 3}
	m, err := New(Config{BaseURL: "http://localhost", Keys: Keys{Cookie: []CookieKey{GenerateCookieKey()}}, Store: store})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Register(stubProvider{srv.URL}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	now := time.Now()
	id := &Identity{ID: "i", UserID: "u", Issuer: "https://idp.example", Provider: "stub", ProviderUID: "s", Updated: now.Add(-time.Hour)}
	if err := m.setIdentityTokens(id, &oauth2.Token{AccessToken: "old-access", RefreshToken: "old-refresh"}); err != nil {
		t.Fatal(err)
	}
	if err := store.CreateIdentity(ctx, id); err != nil {
		t.Fatal(err)
	}
	s := &Session{ID: "laptop", UserID: "u", IdentityID: "i", Provider: "stub", ProviderUID: "s", Created: now, Expires: now.Add(time.Hour)}
	if err := store.SaveSession(ctx, s); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Refresh(ctx, s); err != nil {
		t.Fatalf("a refresh while the store restarts = %v", err)
	}
	if n := hits.Load(); n != 1 {
		t.Fatalf("the provider was asked %d times, want 1", n)
	}
	if n := store.writes.Load(); n != store.fails+1 {
		t.Fatalf("the identity was written %d times, want %d", n, store.fails+1)
	}
	got, err := store.Identity(ctx, id.Issuer, "s")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := m.openTokens(ctx, got.ProviderTokens, "identity:i")
	if err != nil || tok == nil || tok.RefreshToken != "new-refresh" {
		t.Fatalf("the identity holds %+v (%v), want the new refresh token", tok, err)
	}
}
