package pgstore_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/store/internal/scenario"
)

// A bounded pool stays bounded when the store is busy: with MaxConns 1
// and that connection held by a refresh lock, a call waits for a
// connection instead of opening another, and Config.StoreTimeout ends the
// wait with 503 store_unavailable, not a hang. Once the lock is
// released the same call goes through.
func TestBoundedPoolWaitEndsAtStoreTimeout(t *testing.T) {
	cfg, err := pgxpool.ParseConfig(scenario.Env(t, "OAUTHLOGIN_TEST_POSTGRES", "PostgreSQL"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 1
	p, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	st, _ := newPostgres(t, p)
	m, err := oauthlogin.New(oauthlogin.Config{
		BaseURL:      "https://app.example.com",
		Keys:         oauthlogin.Keys{Cookie: []oauthlogin.CookieKey{oauthlogin.GenerateCookieKey()}},
		Store:        st,
		StoreTimeout: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	unlock, err := st.Lock(ctx, "pool-bound", time.Minute) // holds the pool's one connection
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unlock(context.Background()) }) // before the schema's drop, which needs the connection
	// The request's own deadline is far off: only StoreTimeout can end
	// the wait as a 503 (the request's deadline would be a 500).
	session := func() *httptest.ResponseRecorder {
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		r := httptest.NewRequestWithContext(rctx, "GET", "https://app.example.com/auth/session", nil)
		r.Header.Set("Authorization", "Bearer "+strings.Repeat("a", 43))
		w := httptest.NewRecorder()
		m.Handler().ServeHTTP(w, r)
		return w
	}
	if w := session(); w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), `"store_unavailable"`) || w.Header().Get("Retry-After") == "" {
		t.Fatalf("GET /auth/session with the pool's only connection held = %d %s, want 503 store_unavailable with Retry-After", w.Code, w.Body)
	}
	if n := p.Stat().TotalConns(); n != 1 {
		t.Fatalf("the pool has %d connections, want 1 (MaxConns)", n)
	}
	if err := unlock(ctx); err != nil {
		t.Fatal(err)
	}
	if w := session(); w.Code != http.StatusUnauthorized {
		t.Fatalf("GET /auth/session once the connection is free = %d %s, want 401 (no such session)", w.Code, w.Body)
	}
}
