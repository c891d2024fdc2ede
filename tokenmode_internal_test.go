package oauthlogin

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// A token-mode secret expires: after secretLifetime it is refused.
func TestTokenSecretExpires(t *testing.T) {
	store := NewMemoryStore()
	start := time.Now()
	clock := start
	store.now = func() time.Time { return clock }
	m, err := New(Config{BaseURL: "http://localhost", Keys: Keys{Cookie: []CookieKey{GenerateCookieKey()}}, Store: store})
	if err != nil {
		t.Fatal(err)
	}
	m.now = store.now
	secret := randomToken(32)
	pending := &Session{ID: pendingPrefix + hashID(secret), UserID: "u", Provider: "p", ProviderUID: "s", Created: start, Expires: start.Add(secretLifetime)}
	if err := store.SaveSession(context.Background(), pending); err != nil {
		t.Fatal(err)
	}
	clock = start.Add(secretLifetime + time.Second)
	w := httptest.NewRecorder()
	r := httptest.NewRequest("POST", "/auth/session", strings.NewReader(url.Values{"userId": {"u"}, "secret": {secret}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	m.Handler().ServeHTTP(w, r)
	if w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), errInvalidSecret.Code()) {
		t.Fatalf("expired secret = %d %s", w.Code, w.Body)
	}
}
