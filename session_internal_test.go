package oauthlogin

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// A session past its Expires is refused even when a store still returns it.
func TestExpiredSessionRefused(t *testing.T) {
	m, err := New(Config{BaseURL: "http://localhost", Keys: Keys{Cookie: []CookieKey{GenerateCookieKey()}}, Sessions: SessionOptions{Lifetime: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	token := randomToken(32)
	now := time.Now()
	if err := m.store.SaveSession(context.Background(), &Session{ID: hashID(token), UserID: "u", Expires: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	get := func() int {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("GET", "/auth/session", nil)
		r.AddCookie(&http.Cookie{Name: m.sessionCookie, Value: token})
		m.Handler().ServeHTTP(w, r)
		return w.Code
	}
	if code := get(); code != http.StatusOK {
		t.Fatalf("live session: %d", code)
	}
	m.now = func() time.Time { return now.Add(time.Hour + time.Second) }
	if code := get(); code != http.StatusUnauthorized {
		t.Fatalf("expired session: %d, want 401", code)
	}
}

// A session unused for IdleTimeout has ended; use within it keeps it alive.
func TestIdleTimeout(t *testing.T) {
	m, err := New(Config{BaseURL: "http://localhost", Keys: Keys{Cookie: []CookieKey{GenerateCookieKey()}}, Sessions: SessionOptions{IdleTimeout: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	clock := start
	m.now = func() time.Time { return clock }
	token := randomToken(32)
	if err := m.store.SaveSession(context.Background(), &Session{ID: hashID(token), UserID: "u", Created: start, LastSeen: start, Expires: start.Add(30 * 24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	get := func() int {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("GET", "/auth/session", nil)
		r.AddCookie(&http.Cookie{Name: m.sessionCookie, Value: token})
		m.Handler().ServeHTTP(w, r)
		return w.Code
	}
	for range 5 { // five uses, 50 minutes apart: each within the timeout
		clock = clock.Add(50 * time.Minute)
		if code := get(); code != http.StatusOK {
			t.Fatalf("session used every 50 minutes ended at %v: %d", clock.Sub(start), code)
		}
	}
	clock = clock.Add(time.Hour)
	if code := get(); code != http.StatusUnauthorized {
		t.Fatalf("idle session: %d, want 401", code)
	}
	if _, err := m.store.Session(context.Background(), hashID(token)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the idle session is still stored: %v", err)
	}
}
