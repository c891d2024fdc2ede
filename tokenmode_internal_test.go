package oauthlogin

import (
	"context"
	"errors"
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

// A record a store returns under a session ID that lived no longer than a
// pre-v1 pending record (secretLifetime, plus a minute for coarse clocks)
// is not a session, neither loaded nor listed; unless Sessions.Lifetime is
// so short that real sessions look the same. Issue 16 (attack report,
// defect 1), store.go's upgrade note.
func TestOldPendingRecordRefused(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	for _, tc := range []struct {
		lifetime, span time.Duration
		session        bool
	}{
		{30 * 24 * time.Hour, secretLifetime, false},
		{30 * 24 * time.Hour, secretLifetime + time.Minute, false},
		{30 * 24 * time.Hour, secretLifetime + time.Minute + time.Second, true},
		{30 * 24 * time.Hour, 30 * 24 * time.Hour, true},
		{secretLifetime + time.Minute, secretLifetime, true},     // sessions this short: no check
		{oldPendingRuleFrom - time.Second, secretLifetime, true}, // under the margin: no check
		{oldPendingRuleFrom, secretLifetime, false},              // from the margin on: checked
		{secretLifetime, secretLifetime, true},
	} {
		store := NewMemoryStore()
		codec, _, err := newSessionCodec(newStoreCalls(store, defaultStoreTimeout), tc.lifetime, now)
		if err != nil {
			t.Fatal(err)
		}
		token := randomToken(32)
		if err := store.SaveSession(ctx, &Session{ID: hashID(token), UserID: "u", Created: now, LastSeen: now, Expires: now.Add(tc.span)}); err != nil {
			t.Fatal(err)
		}
		s, err := codec.load(ctx, token)
		if got := err == nil && s != nil; got != tc.session {
			t.Errorf("Lifetime %v, a record of span %v: loaded = %v (%v), want %v", tc.lifetime, tc.span, got, err, tc.session)
		}
		if !tc.session && !errors.Is(err, ErrNotFound) {
			t.Errorf("Lifetime %v, span %v: %v, want ErrNotFound", tc.lifetime, tc.span, err)
		}
		list, err := codec.list(ctx, "u")
		if err != nil || (len(list) == 1) != tc.session {
			t.Errorf("Lifetime %v, span %v: listed %d, %v", tc.lifetime, tc.span, len(list), err)
		}
	}
}
