package oauthlogin

import (
	"context"
	"testing"
	"time"
)

// TestAttackV8LockTimesDefaults: the refresh lock's per-Manager times are
// the constants they replaced (30 s ttl, 3 s margin, 25 s budget), and a
// hold ends the Manager's own margin before the lock's expiry, whatever
// the Manager's times are.
func TestAttackV8LockTimesDefaults(t *testing.T) {
	m, err := New(Config{BaseURL: "http://localhost", Keys: Keys{Cookie: []CookieKey{GenerateCookieKey()}}, Store: NewMemoryStore()})
	if err != nil {
		t.Fatal(err)
	}
	if m.lockTTL != 30*time.Second || m.lockMargin != 3*time.Second || m.refreshBudget != 25*time.Second {
		t.Fatalf("lock ttl %v, margin %v, budget %v; want 30s, 3s, 25s", m.lockTTL, m.lockMargin, m.refreshBudget)
	}
	for _, scaled := range []bool{false, true} {
		if scaled {
			v6ScaledLocks(m)
		}
		expires := time.Now().Add(time.Hour)
		held, release := m.holdLockUntil(context.Background(), func(context.Context) error { return nil }, expires)
		dl, ok := held.Deadline()
		release()
		if !ok || !dl.Equal(expires.Add(-m.lockMargin)) {
			t.Fatalf("scaled %v: hold ends at %v, want %v", scaled, dl, expires.Add(-m.lockMargin))
		}
	}
}

// V8ScaleLocks gives m the lock times of v6ScaledLocks (3 s ttl), for the
// external attack tests.
func V8ScaleLocks(m *Manager) { v6ScaledLocks(m) }
