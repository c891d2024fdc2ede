package oauthlogin

import (
	"context"
	"testing"
	"time"
)

// The memory store's provider-session index holds only live sessions:
// every way a session ends (DeleteSession, DeleteUserSessions,
// DeleteProviderSessions, a replacement by another sid, the expiry
// sweep) drops its entry, so that the index does not grow with ended
// sessions.
func TestMemoryStoreProviderIndexFollowsSessions(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1_700_000_000, 0)
	s := NewMemoryStore()
	s.now = func() time.Time { return now }
	save := func(id, user, sid string, expires time.Time) {
		t.Helper()
		if err := s.SaveSession(ctx, &Session{ID: id, UserID: user, Provider: "idp", ProviderSID: sid, Created: now, Expires: expires}); err != nil {
			t.Fatal(err)
		}
	}
	entries := func() int {
		s.mu.Lock()
		defer s.mu.Unlock()
		n := 0
		for _, ids := range s.sidSessions {
			n += len(ids)
		}
		return n
	}
	later := now.Add(time.Hour)
	save("a", "u1", "x", later)
	save("b", "u2", "x", later)
	save("c", "u2", "y", later)
	save("d", "u3", "z", later)
	save("e", "u3", "w", now.Add(time.Minute))
	save("no-sid", "u3", "", later)
	if n := entries(); n != 5 {
		t.Fatalf("%d index entries for 5 sessions with a sid", n)
	}
	if err := s.DeleteSession(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUserSessions(ctx, "u2"); err != nil {
		t.Fatal(err)
	}
	if n := entries(); n != 2 {
		t.Fatalf("%d index entries after DeleteSession and DeleteUserSessions, want 2 (d, e)", n)
	}
	save("d", "u3", "z2", later) // replaced under another sid
	if err := s.DeleteProviderSessions(ctx, "idp", "z2"); err != nil {
		t.Fatal(err)
	}
	if n := entries(); n != 1 {
		t.Fatalf("%d index entries after DeleteProviderSessions, want 1 (e)", n)
	}
	now = now.Add(2 * time.Minute) // e expires; the next write sweeps
	save("f", "u4", "", later)
	s.mu.Lock()
	left := len(s.sidSessions)
	s.mu.Unlock()
	if left != 0 {
		t.Fatalf("the index keeps %d provider sessions after every session with a sid ended", left)
	}
}
