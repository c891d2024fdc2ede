package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/oauthlogin/oauthlogin"
)

// ProviderSessions checks the oauthlogin.ProviderSessionDeleter
// capability, which a back-channel logout naming a sid needs (OpenID
// Connect Back-Channel Logout 1.0, section 2.6: "the RP [...] logs out
// the sessions identified by the sid"): DeleteProviderSessions removes
// every session (pending records included) of that provider and sid, of
// any user, and nothing else: not the same sid at another provider, not
// another sid, not a session without one; with a SessionLister, the
// removed sessions leave their users' lists too.
func ProviderSessions(t *testing.T, newStore func(t *testing.T) ProviderSessionStore) {
	ctx := context.Background()
	later := time.Now().Add(time.Hour)
	with := func(id, user, provider, sid string) *oauthlogin.Session {
		v := session(id, later)
		v.UserID, v.Provider, v.ProviderSID = user, provider, sid
		return v
	}
	gone := func(t *testing.T, s ProviderSessionStore, ids ...string) {
		t.Helper()
		for _, id := range ids {
			if got, err := s.Session(ctx, id); !errors.Is(err, oauthlogin.ErrNotFound) {
				t.Fatalf("session %s: %+v, %v; want it deleted", id, got, err)
			}
		}
	}
	kept := func(t *testing.T, s ProviderSessionStore, ids ...string) {
		t.Helper()
		for _, id := range ids {
			if _, err := s.Session(ctx, id); err != nil {
				t.Fatalf("session %s: %v; want it kept", id, err)
			}
		}
	}
	listed := func(t *testing.T, s ProviderSessionStore, user string, want ...string) {
		t.Helper()
		l, ok := s.(oauthlogin.SessionLister)
		if !ok {
			return
		}
		list, err := l.UserSessions(ctx, user)
		var got []string
		for _, v := range list {
			got = append(got, v.ID)
		}
		slices.Sort(got)
		slices.Sort(want)
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("UserSessions(%s) = %v, %v; want %v", user, got, err, want)
		}
	}
	t.Run("OnlyThatSID", func(t *testing.T) {
		s := newStore(t)
		for _, v := range []*oauthlogin.Session{
			with("a", "u1", "idp", "x"), with("b", "u2", "idp", "x"), with(pendingID, "u1", "idp", "x"),
			with("other-sid", "u1", "idp", "y"), with("other-provider", "u1", "idp2", "x"),
			with("no-sid", "u1", "idp", ""), with("prefix-sid", "u2", "idp", "xx"),
		} {
			if err := s.SaveSession(ctx, v); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.DeleteProviderSessions(ctx, "idp", "x"); err != nil {
			t.Fatal(err)
		}
		gone(t, s, "a", "b", pendingID)
		kept(t, s, "other-sid", "other-provider", "no-sid", "prefix-sid")
		listed(t, s, "u1", "other-sid", "other-provider", "no-sid")
		listed(t, s, "u2", "prefix-sid")
		if err := s.DeleteProviderSessions(ctx, "idp", "x"); err != nil {
			t.Fatalf("again, with none left: %v", err)
		}
		if err := s.DeleteProviderSessions(ctx, "nobody", "nothing"); err != nil {
			t.Fatalf("a provider session without sessions: %v", err)
		}
		kept(t, s, "other-sid", "other-provider", "no-sid", "prefix-sid")
	})
	// A session replaced by SaveSession belongs to the provider session of
	// its new record only.
	t.Run("Replaced", func(t *testing.T) {
		s := newStore(t)
		if err := s.SaveSession(ctx, with("a", "u1", "idp", "x")); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveSession(ctx, with("a", "u2", "idp", "y")); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteProviderSessions(ctx, "idp", "x"); err != nil {
			t.Fatal(err)
		}
		kept(t, s, "a")
		if err := s.SaveSession(ctx, with("a", "u2", "idp2", "y")); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteProviderSessions(ctx, "idp", "y"); err != nil {
			t.Fatal(err)
		}
		kept(t, s, "a")
		if err := s.DeleteProviderSessions(ctx, "idp2", "y"); err != nil {
			t.Fatal(err)
		}
		gone(t, s, "a")
		listed(t, s, "u1")
		listed(t, s, "u2")
	})
	// Sessions ended otherwise (DeleteSession, DeleteUserSessions, expiry)
	// leave the provider session cleanly: a later session of the same sid
	// is found and removed, others stay.
	t.Run("AfterOtherDeletes", func(t *testing.T) {
		s := newStore(t)
		expired := with("expired", "u4", "idp", "x")
		expired.Expires = time.Now().Add(-time.Second).Truncate(time.Second).UTC()
		for _, v := range []*oauthlogin.Session{with("a", "u1", "idp", "x"), with("b", "u2", "idp", "x"), with("c", "u3", "idp", "x"), expired} {
			if err := s.SaveSession(ctx, v); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.DeleteSession(ctx, "a"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteUserSessions(ctx, "u2"); err != nil {
			t.Fatal(err)
		}
		for _, v := range []*oauthlogin.Session{with("a2", "u1", "idp", "x"), with("d", "u1", "idp", "z")} {
			if err := s.SaveSession(ctx, v); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.DeleteProviderSessions(ctx, "idp", "x"); err != nil {
			t.Fatal(err)
		}
		gone(t, s, "a", "b", "c", "a2", "expired")
		kept(t, s, "d")
		listed(t, s, "u1", "d")
		listed(t, s, "u3")
	})
	// Logins of one provider session go on while its back-channel logout
	// runs (several instances, several deliveries): every session saved
	// before a DeleteProviderSessions began is gone when it returns, a
	// session saved concurrently is either gone or still indexed (a later
	// call removes it), and sessions of other provider sessions stay.
	t.Run("ConcurrentSaves", func(t *testing.T) {
		s := newStore(t)
		for round := range 5 {
			sid := fmt.Sprint("x", round)
			var before, racing, others []string
			for i := range writers {
				id := fmt.Sprint(round, "-old-", i)
				if err := s.SaveSession(ctx, with(id, fmt.Sprint("u", i%3), "idp", sid)); err != nil {
					t.Fatal(err)
				}
				before = append(before, id)
			}
			for i := range writers {
				racing = append(racing, fmt.Sprint(round, "-new-", i))
				others = append(others, fmt.Sprint(round, "-other-", i))
			}
			// Goroutines 0..writers-1 save a session of the sid and one of
			// another sid (same users); the others delete the sid's sessions.
			together(t, writers+writers/5, func(g int) error {
				if g < writers {
					user := fmt.Sprint("u", g%3)
					if err := s.SaveSession(ctx, with(racing[g], user, "idp", sid)); err != nil {
						return err
					}
					return s.SaveSession(ctx, with(others[g], user, "idp", "y"+sid))
				}
				return s.DeleteProviderSessions(ctx, "idp", sid)
			})
			gone(t, s, before...)
			kept(t, s, others...)
			if err := s.DeleteProviderSessions(ctx, "idp", sid); err != nil {
				t.Fatal(err)
			}
			gone(t, s, racing...)
			kept(t, s, others...)
		}
		for u := range 3 {
			var want []string
			for round := range 5 {
				for i := u; i < writers; i += 3 {
					want = append(want, fmt.Sprint(round, "-other-", i))
				}
			}
			listed(t, s, fmt.Sprint("u", u), want...)
		}
	})
	t.Run("Cancelled", func(t *testing.T) {
		s := newStore(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := s.DeleteProviderSessions(cctx, "idp", "x"); !errors.Is(err, context.Canceled) {
			t.Fatalf("DeleteProviderSessions with a cancelled context: %v, want context.Canceled", err)
		}
	})
}
