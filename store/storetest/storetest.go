// Package storetest checks a store against the contracts of
// oauthlogin.Store: the core (sessions, identities, single-use marks, the
// lock) and, each on its own, the optional capabilities
// oauthlogin.SessionLister, oauthlogin.SessionToucher and
// oauthlogin.ProviderSessionDeleter. A backend's tests call Run, which
// checks the capabilities the store has, and Locker:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) storetest.Store { return newTestStore(t) })
//	}
//	func TestLock(t *testing.T) {
//		storetest.Locker(t, func(t *testing.T) storetest.Store { return newTestStore(t) })
//	}
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/oauthlogin/oauthlogin"
)

// Store is the store Run checks.
type Store = oauthlogin.Store

// ListingStore is a session store with the SessionLister capability.
type ListingStore interface {
	oauthlogin.SessionStore
	oauthlogin.SessionLister
}

// TouchingStore is a session store with the SessionToucher capability.
type TouchingStore interface {
	oauthlogin.SessionStore
	oauthlogin.SessionToucher
}

// ProviderSessionStore is a session store with the ProviderSessionDeleter
// capability.
type ProviderSessionStore interface {
	oauthlogin.SessionStore
	oauthlogin.ProviderSessionDeleter
}

// Run runs Sessions, Identities and OneTime against stores made by
// newStore, a fresh empty store for each subtest, and Lister, Toucher and
// ProviderSessions when the store has those capabilities (it says so with
// t.Log when it has not).
func Run(t *testing.T, newStore func(t *testing.T) Store) {
	t.Run("Sessions", func(t *testing.T) {
		Sessions(t, func(t *testing.T) oauthlogin.SessionStore { return newStore(t) })
	})
	t.Run("Identities", func(t *testing.T) {
		Identities(t, func(t *testing.T) oauthlogin.IdentityStore { return newStore(t) })
	})
	t.Run("OneTime", func(t *testing.T) {
		OneTime(t, newStore)
	})
	if _, ok := newStore(t).(oauthlogin.SessionLister); ok {
		t.Run("Lister", func(t *testing.T) {
			Lister(t, func(t *testing.T) ListingStore { return newStore(t).(ListingStore) })
		})
	} else {
		t.Log("the store is no SessionLister: Lister not run")
	}
	if _, ok := newStore(t).(oauthlogin.SessionToucher); ok {
		t.Run("Toucher", func(t *testing.T) {
			Toucher(t, func(t *testing.T) TouchingStore { return newStore(t).(TouchingStore) })
		})
	} else {
		t.Log("the store is no SessionToucher: Toucher not run")
	}
	if _, ok := newStore(t).(oauthlogin.ProviderSessionDeleter); ok {
		t.Run("ProviderSessions", func(t *testing.T) {
			ProviderSessions(t, func(t *testing.T) ProviderSessionStore { return newStore(t).(ProviderSessionStore) })
		})
	} else {
		t.Log("the store is no ProviderSessionDeleter: ProviderSessions not run")
	}
}

// writers is how many goroutines the concurrency checks run.
const writers = 50

func session(id string, expires time.Time) *oauthlogin.Session {
	return &oauthlogin.Session{
		ID:                        id,
		UserID:                    "user-" + id,
		IdentityID:                "identity-" + id,
		Provider:                  "test",
		ProviderUID:               "uid-" + id,
		ProviderSID:               "sid-" + id,
		AuthTime:                  time.Now().Add(-time.Minute).Truncate(time.Second).UTC(),
		ACR:                       "urn:acr:" + id,
		ProviderAccessTokenExpiry: time.Now().Add(time.Hour).Truncate(time.Second).UTC(),
		ProviderTokens:            []byte("sealed-" + id),
		Created:                   time.Now().Truncate(time.Second).UTC(),
		LastSeen:                  time.Now().Truncate(time.Second).UTC(),
		Expires:                   expires.Truncate(time.Second).UTC(),
		IP:                        "127.0.0.1",
		UserAgent:                 "storetest",
	}
}

// Sessions checks the core oauthlogin.SessionStore contract. Where the
// store also lists sessions (SessionLister), it checks the lists agree.
func Sessions(t *testing.T, newStore func(t *testing.T) oauthlogin.SessionStore) {
	ctx := context.Background()
	later := time.Now().Add(time.Hour)

	t.Run("SaveGetDelete", func(t *testing.T) {
		s := newStore(t)
		want := session("a", later)
		if err := s.SaveSession(ctx, want); err != nil {
			t.Fatal(err)
		}
		got, err := s.Session(ctx, "a")
		if err != nil {
			t.Fatal(err)
		}
		if !sameSession(got, want) {
			t.Fatalf("Session = %+v, want %+v", got, want)
		}
		got.ProviderTokens[0] ^= 0xff // the caller owns the copy
		got.UserID = "changed"
		if again, _ := s.Session(ctx, "a"); !sameSession(again, want) {
			t.Fatal("changing a returned session changed the stored one")
		}
		if err := s.DeleteSession(ctx, "a"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Session(ctx, "a"); !errors.Is(err, oauthlogin.ErrNotFound) {
			t.Fatalf("after delete: err = %v, want ErrNotFound", err)
		}
		if err := s.DeleteSession(ctx, "a"); err != nil {
			t.Fatalf("deleting a missing session: %v", err)
		}
	})
	t.Run("NotFound", func(t *testing.T) {
		s := newStore(t)
		got, err := s.Session(ctx, "missing")
		if got != nil || !errors.Is(err, oauthlogin.ErrNotFound) {
			t.Fatalf("Session(missing) = %v, %v; want nil, ErrNotFound", got, err)
		}
	})
	t.Run("Replace", func(t *testing.T) {
		s := newStore(t)
		v := session("a", later)
		if err := s.SaveSession(ctx, v); err != nil {
			t.Fatal(err)
		}
		v.ProviderTokens = []byte("rotated")
		v.ProviderAccessTokenExpiry = v.ProviderAccessTokenExpiry.Add(time.Hour)
		v.IP = "192.0.2.1"
		if err := s.SaveSession(ctx, v); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Session(ctx, "a"); err != nil || !sameSession(got, v) {
			t.Fatalf("after replace: %+v, %v", got, err)
		}
	})
	// The facts of the login (the ID token's sid, auth_time and acr) are
	// kept with the session, each on its own, and survive the later writes
	// to it; a session without them reads back without them (a zero
	// AuthTime, not the Unix epoch).
	t.Run("LoginFacts", func(t *testing.T) {
		s := newStore(t)
		only := map[string]func(v *oauthlogin.Session){
			"sid":       func(v *oauthlogin.Session) { v.AuthTime, v.ACR = time.Time{}, "" },
			"auth-time": func(v *oauthlogin.Session) { v.ProviderSID, v.ACR = "", "" },
			"acr":       func(v *oauthlogin.Session) { v.ProviderSID, v.AuthTime = "", time.Time{} },
			"none":      func(v *oauthlogin.Session) { v.ProviderSID, v.AuthTime, v.ACR = "", time.Time{}, "" },
			"all":       func(v *oauthlogin.Session) {},
		}
		want := map[string]*oauthlogin.Session{}
		for id, strip := range only {
			v := session(id, later)
			strip(v)
			if err := s.SaveSession(ctx, v); err != nil {
				t.Fatal(err)
			}
			want[id] = v
		}
		for id, v := range want {
			got, err := s.Session(ctx, id)
			if err != nil || got.ProviderSID != v.ProviderSID || !got.AuthTime.Equal(v.AuthTime) || got.ACR != v.ACR ||
				got.AuthTime.IsZero() != v.AuthTime.IsZero() || !sameSession(got, v) {
				t.Fatalf("session with %s: %+v, %v; want ProviderSID %q, AuthTime %v, ACR %q", id, got, err, v.ProviderSID, v.AuthTime, v.ACR)
			}
		}
		v := want["all"]
		exp := v.ProviderAccessTokenExpiry.Add(time.Hour)
		if err := s.UpdateSessionTokens(ctx, "all", []byte("refreshed"), exp); err != nil {
			t.Fatal(err)
		}
		if tc, ok := s.(oauthlogin.SessionToucher); ok {
			if err := tc.TouchSession(ctx, "all", v.LastSeen.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.Session(ctx, "all")
		if err != nil || got.ProviderSID != v.ProviderSID || !got.AuthTime.Equal(v.AuthTime) || got.ACR != v.ACR {
			t.Fatalf("after a token update and a touch: %+v, %v; want the login facts kept", got, err)
		}
		if l, ok := s.(oauthlogin.SessionLister); ok {
			list, err := l.UserSessions(ctx, v.UserID)
			if err != nil || len(list) != 1 || list[0].ProviderSID != v.ProviderSID || !list[0].AuthTime.Equal(v.AuthTime) || list[0].ACR != v.ACR {
				t.Fatalf("UserSessions = %+v, %v; want the session with its login facts", list, err)
			}
		}
	})
	t.Run("Expired", func(t *testing.T) {
		s := newStore(t)
		if err := s.SaveSession(ctx, session("old", time.Now().Add(-time.Second))); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Session(ctx, "old"); !errors.Is(err, oauthlogin.ErrNotFound) {
			t.Fatalf("expired session: err = %v, want ErrNotFound", err)
		}
	})
	t.Run("ConcurrentWriters", func(t *testing.T) {
		s := newStore(t)
		parallel(t, func(i int) error { return s.SaveSession(ctx, session(fmt.Sprint(i), later)) })
		for i := range writers {
			if _, err := s.Session(ctx, fmt.Sprint(i)); err != nil {
				t.Fatalf("session %d lost: %v", i, err)
			}
		}
	})
	t.Run("UpdateTokens", func(t *testing.T) {
		s := newStore(t)
		v := session("a", later)
		if err := s.SaveSession(ctx, v); err != nil {
			t.Fatal(err)
		}
		exp := v.ProviderAccessTokenExpiry.Add(time.Hour)
		if err := s.UpdateSessionTokens(ctx, "a", []byte("refreshed"), exp); err != nil {
			t.Fatal(err)
		}
		want := *v
		want.ProviderTokens, want.ProviderAccessTokenExpiry = []byte("refreshed"), exp
		if got, err := s.Session(ctx, "a"); err != nil || !sameSession(got, &want) {
			t.Fatalf("after UpdateSessionTokens: %+v, %v; want %+v (tokens and expiry changed, nothing else)", got, err, &want)
		}
		if err := s.UpdateSessionTokens(ctx, "a", nil, time.Time{}); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Session(ctx, "a"); err != nil || len(got.ProviderTokens) != 0 || !got.ProviderAccessTokenExpiry.IsZero() {
			t.Fatalf("after dropping the tokens: %+v, %v", got, err)
		}
	})
	// A refresh writes to an existing session only: the update of a
	// session that is missing, deleted (logout, sign-out everywhere) or
	// expired is ErrNotFound and creates nothing.
	t.Run("UpdateTokensNeverCreates", func(t *testing.T) {
		s := newStore(t)
		for _, v := range []*oauthlogin.Session{session("deleted", later), session("signed-out", later), session("expired", time.Now().Add(-time.Second))} {
			v.UserID = "u1"
			if err := s.SaveSession(ctx, v); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.DeleteSession(ctx, "deleted"); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"missing", "deleted", "expired"} {
			if err := s.UpdateSessionTokens(ctx, id, []byte("refreshed"), later); !errors.Is(err, oauthlogin.ErrNotFound) {
				t.Fatalf("UpdateSessionTokens(%s) = %v, want ErrNotFound", id, err)
			}
		}
		if err := s.DeleteUserSessions(ctx, "u1"); err != nil {
			t.Fatal(err)
		}
		if err := s.UpdateSessionTokens(ctx, "signed-out", []byte("refreshed"), later); !errors.Is(err, oauthlogin.ErrNotFound) {
			t.Fatalf("UpdateSessionTokens after DeleteUserSessions = %v, want ErrNotFound", err)
		}
		for _, id := range []string{"missing", "deleted", "signed-out", "expired"} {
			if got, err := s.Session(ctx, id); !errors.Is(err, oauthlogin.ErrNotFound) {
				t.Fatalf("session %s after a refused update: %+v, %v; want ErrNotFound", id, got, err)
			}
		}
		if l, ok := s.(oauthlogin.SessionLister); ok {
			if list, err := l.UserSessions(ctx, "u1"); err != nil || len(list) != 0 {
				t.Fatalf("UserSessions after refused updates = %d sessions, %v; want none", len(list), err)
			}
		}
	})
	// A refresh reads the session, waits for the provider, then writes its
	// tokens; the user logs out (one session, or everywhere) meanwhile. The
	// write must find nothing, every time.
	t.Run("LogoutDuringSlowRefresh", func(t *testing.T) {
		s := newStore(t)
		for i := range 100 {
			id := fmt.Sprint("r", i)
			v := session(id, later)
			v.UserID = "racer"
			if err := s.SaveSession(ctx, v); err != nil {
				t.Fatal(err)
			}
			read, err := s.Session(ctx, id) // the refresh's copy
			if err != nil {
				t.Fatal(err)
			}
			if i%2 == 0 {
				err = s.DeleteSession(ctx, id)
			} else {
				err = s.DeleteUserSessions(ctx, "racer")
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := s.UpdateSessionTokens(ctx, read.ID, []byte("refreshed"), later); !errors.Is(err, oauthlogin.ErrNotFound) {
				t.Fatalf("round %d: the refresh's write after logout = %v, want ErrNotFound", i, err)
			}
			if got, err := s.Session(ctx, id); !errors.Is(err, oauthlogin.ErrNotFound) {
				t.Fatalf("round %d: the session came back after logout: %+v, %v", i, got, err)
			}
		}
		if l, ok := s.(oauthlogin.SessionLister); ok {
			if list, err := l.UserSessions(ctx, "racer"); err != nil || len(list) != 0 {
				t.Fatalf("UserSessions after the rounds = %d sessions, %v; want none", len(list), err)
			}
		}
	})
	// The same with the write and the logout truly concurrent: whichever
	// lands first, the session is gone afterwards.
	t.Run("LogoutRacesRefresh", func(t *testing.T) {
		s := newStore(t)
		for round := range 10 {
			user := fmt.Sprint("racer", round)
			for i := range writers {
				v := session(fmt.Sprint(round, "-", i), later)
				v.UserID = user
				if err := s.SaveSession(ctx, v); err != nil {
					t.Fatal(err)
				}
			}
			// Goroutines 0..writers-1 refresh session i; the others log
			// out: each session alone, or (odd rounds) one sign-out
			// everywhere.
			everywhere := round%2 == 1
			together(t, 2*writers, func(g int) error {
				if g < writers {
					err := s.UpdateSessionTokens(ctx, fmt.Sprint(round, "-", g), []byte("refreshed"), later)
					if errors.Is(err, oauthlogin.ErrNotFound) {
						return nil
					}
					return err
				}
				switch {
				case !everywhere:
					return s.DeleteSession(ctx, fmt.Sprint(round, "-", g-writers))
				case g == writers:
					return s.DeleteUserSessions(ctx, user)
				}
				return nil
			})
			for i := range writers {
				if got, err := s.Session(ctx, fmt.Sprint(round, "-", i)); !errors.Is(err, oauthlogin.ErrNotFound) {
					t.Fatalf("round %d: session %d came back after logout: %+v, %v", round, i, got, err)
				}
			}
			if l, ok := s.(oauthlogin.SessionLister); ok {
				if list, err := l.UserSessions(ctx, user); err != nil || len(list) != 0 {
					t.Fatalf("round %d: UserSessions after logout = %d sessions, %v; want none", round, len(list), err)
				}
			}
		}
	})
	// DeleteUserSessions ends every session of a user, and no other
	// user's.
	t.Run("DeleteUserSessions", func(t *testing.T) {
		s := newStore(t)
		for _, id := range []string{"a", "b", pendingID} {
			v := session(id, later)
			v.UserID = "u1"
			if err := s.SaveSession(ctx, v); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.SaveSession(ctx, session("other", later)); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteUserSessions(ctx, "u1"); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"a", "b", pendingID} {
			if _, err := s.Session(ctx, id); !errors.Is(err, oauthlogin.ErrNotFound) {
				t.Fatalf("session %s after DeleteUserSessions: %v", id, err)
			}
		}
		if _, err := s.Session(ctx, "other"); err != nil {
			t.Fatalf("another user's session was deleted: %v", err)
		}
		if err := s.DeleteUserSessions(ctx, "nobody"); err != nil {
			t.Fatalf("DeleteUserSessions of a user without sessions: %v", err)
		}
	})
	// The Manager keeps token-mode pending records under IDs with a "."
	// in them: a store takes any ID as it is.
	t.Run("PendingRecordID", func(t *testing.T) {
		s := newStore(t)
		v := session(pendingID, later)
		v.ProviderTokens = nil
		if err := s.SaveSession(ctx, v); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Session(ctx, pendingID); err != nil || !sameSession(got, v) {
			t.Fatalf("Session(%q) = %+v, %v; want the record", pendingID, got, err)
		}
		if err := s.DeleteSession(ctx, pendingID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Session(ctx, pendingID); !errors.Is(err, oauthlogin.ErrNotFound) {
			t.Fatalf("after delete: %v, want ErrNotFound", err)
		}
	})
	t.Run("Cancelled", func(t *testing.T) {
		s := newStore(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := s.SaveSession(cctx, session("a", later)); !errors.Is(err, context.Canceled) {
			t.Fatalf("SaveSession with a cancelled context: %v, want context.Canceled", err)
		}
		if _, err := s.Session(cctx, "a"); !errors.Is(err, context.Canceled) {
			t.Fatalf("Session with a cancelled context: %v, want context.Canceled", err)
		}
		if err := s.UpdateSessionTokens(cctx, "a", nil, time.Time{}); !errors.Is(err, context.Canceled) {
			t.Fatalf("UpdateSessionTokens with a cancelled context: %v, want context.Canceled", err)
		}
	})
}

// pendingID is an ID as the Manager gives a token-mode pending record.
const pendingID = "p.pending-record"

// Lister checks the oauthlogin.SessionLister capability: a user's
// records that have not expired, oldest first, pending ones included.
func Lister(t *testing.T, newStore func(t *testing.T) ListingStore) {
	ctx := context.Background()
	later := time.Now().Add(time.Hour)
	t.Run("ByUser", func(t *testing.T) {
		s := newStore(t)
		for i, id := range []string{"a", "b", "c"} {
			v := session(id, later)
			v.UserID = "u1"
			v.Created = v.Created.Add(time.Duration(i) * time.Second)
			if err := s.SaveSession(ctx, v); err != nil {
				t.Fatal(err)
			}
		}
		old := session("old", time.Now().Add(-time.Second))
		old.UserID = "u1"
		other := session("other", later)
		for _, v := range []*oauthlogin.Session{old, other} {
			if err := s.SaveSession(ctx, v); err != nil {
				t.Fatal(err)
			}
		}
		list, err := s.UserSessions(ctx, "u1")
		var got []string
		for _, v := range list {
			got = append(got, v.ID)
		}
		if err != nil || !slices.Equal(got, []string{"a", "b", "c"}) {
			t.Fatalf("UserSessions(u1) = %v, %v; want [a b c] (no expired one)", got, err)
		}
		if list, err := s.UserSessions(ctx, "nobody"); err != nil || list == nil || len(list) != 0 {
			t.Fatalf("UserSessions(nobody) = %#v, %v; want an empty slice", list, err)
		}
		if err := s.DeleteUserSessions(ctx, "u1"); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"a", "b", "c"} {
			if _, err := s.Session(ctx, id); !errors.Is(err, oauthlogin.ErrNotFound) {
				t.Fatalf("session %s after DeleteUserSessions: %v", id, err)
			}
		}
		if _, err := s.Session(ctx, "other"); err != nil {
			t.Fatalf("another user's session was deleted: %v", err)
		}
	})
	// Pending token-mode records are a user's records too: unlinking an
	// identity finds them through UserSessions to end them.
	t.Run("ByUserPending", func(t *testing.T) {
		s := newStore(t)
		v := session(pendingID, later)
		v.UserID, v.ProviderTokens = "u1", nil
		if err := s.SaveSession(ctx, v); err != nil {
			t.Fatal(err)
		}
		list, err := s.UserSessions(ctx, "u1")
		if err != nil || len(list) != 1 || list[0].ID != pendingID || list[0].IdentityID != v.IdentityID {
			t.Fatalf("UserSessions with a pending record = %d sessions, %v; want it, with its identity", len(list), err)
		}
	})
}

// Toucher checks the oauthlogin.SessionToucher capability: TouchSession
// changes LastSeen only, never creates, and a later token update keeps it.
func Toucher(t *testing.T, newStore func(t *testing.T) TouchingStore) {
	ctx := context.Background()
	later := time.Now().Add(time.Hour)
	t.Run("Touch", func(t *testing.T) {
		s := newStore(t)
		v := session("a", later)
		if err := s.SaveSession(ctx, v); err != nil {
			t.Fatal(err)
		}
		seen := v.Created.Add(time.Minute)
		if err := s.TouchSession(ctx, "a", seen); err != nil {
			t.Fatal(err)
		}
		got, err := s.Session(ctx, "a")
		if err != nil || !got.LastSeen.Equal(seen) {
			t.Fatalf("after touch: %+v, %v", got, err)
		}
		got.LastSeen = v.LastSeen
		if !sameSession(got, v) {
			t.Fatal("TouchSession changed more than LastSeen")
		}
		if err := s.TouchSession(ctx, "missing", seen); !errors.Is(err, oauthlogin.ErrNotFound) {
			t.Fatalf("TouchSession(missing): %v, want ErrNotFound", err)
		}
		// An expired session counts as missing (the contract's "not
		// found"): a touch finds nothing and brings nothing back.
		if err := s.SaveSession(ctx, session("expired", time.Now().Add(-time.Second))); err != nil {
			t.Fatal(err)
		}
		if err := s.TouchSession(ctx, "expired", seen); !errors.Is(err, oauthlogin.ErrNotFound) {
			t.Fatalf("TouchSession(expired): %v, want ErrNotFound", err)
		}
		if got, err := s.Session(ctx, "expired"); !errors.Is(err, oauthlogin.ErrNotFound) {
			t.Fatalf("expired session after a touch: %+v, %v; want ErrNotFound", got, err)
		}
	})
	t.Run("UpdateTokensKeepsTouch", func(t *testing.T) {
		s := newStore(t)
		v := session("a", later)
		if err := s.SaveSession(ctx, v); err != nil {
			t.Fatal(err)
		}
		seen := v.Created.Add(time.Minute)
		if err := s.TouchSession(ctx, "a", seen); err != nil {
			t.Fatal(err)
		}
		exp := v.ProviderAccessTokenExpiry.Add(time.Hour)
		if err := s.UpdateSessionTokens(ctx, "a", []byte("refreshed"), exp); err != nil {
			t.Fatal(err)
		}
		want := *v
		want.ProviderTokens, want.ProviderAccessTokenExpiry, want.LastSeen = []byte("refreshed"), exp, seen
		if got, err := s.Session(ctx, "a"); err != nil || !sameSession(got, &want) {
			t.Fatalf("after UpdateSessionTokens: %+v, %v; want %+v (tokens and expiry changed, the touch kept)", got, err, &want)
		}
	})
}

func sameSession(a, b *oauthlogin.Session) bool {
	return a.ID == b.ID && a.UserID == b.UserID && a.IdentityID == b.IdentityID &&
		a.Provider == b.Provider && a.ProviderUID == b.ProviderUID &&
		a.ProviderSID == b.ProviderSID && a.AuthTime.Equal(b.AuthTime) && a.ACR == b.ACR &&
		a.ProviderAccessTokenExpiry.Equal(b.ProviderAccessTokenExpiry) &&
		string(a.ProviderTokens) == string(b.ProviderTokens) &&
		a.Created.Equal(b.Created) && a.LastSeen.Equal(b.LastSeen) && a.Expires.Equal(b.Expires) &&
		a.IP == b.IP && a.UserAgent == b.UserAgent
}

const issuer = "https://idp.example"

func identity(id, user, uid string) *oauthlogin.Identity {
	now := time.Now().Truncate(time.Second).UTC()
	return &oauthlogin.Identity{
		ID:             id,
		UserID:         user,
		Issuer:         issuer,
		Provider:       "test",
		ProviderUID:    uid,
		ProviderEmail:  uid + "@example.com",
		ProviderTokens: []byte("sealed-" + id),
		Created:        now,
		Updated:        now,
	}
}

func ids(list []*oauthlogin.Identity) []string {
	var out []string
	for _, v := range list {
		out = append(out, v.ID)
	}
	return out
}

// Identities checks the IdentityStore contract.
func Identities(t *testing.T, newStore func(t *testing.T) oauthlogin.IdentityStore) {
	ctx := context.Background()

	t.Run("CreateGetUpdateDelete", func(t *testing.T) {
		s := newStore(t)
		v := identity("i1", "u1", "sub-1")
		if err := s.CreateIdentity(ctx, v); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateIdentity(ctx, identity("i2", "u1", "sub-2")); err != nil {
			t.Fatal(err)
		}
		got, err := s.Identity(ctx, issuer, "sub-1")
		if err != nil || got.ID != "i1" || got.UserID != "u1" || got.Provider != "test" || string(got.ProviderTokens) != "sealed-i1" || !got.Created.Equal(v.Created) {
			t.Fatalf("Identity = %+v, %v", got, err)
		}
		got.ProviderEmail = "new@example.com"
		got.VerifiedEmail = "new@example.com"
		got.ProviderTokens = []byte("rotated")
		got.UserID = "someone-else" // must not move the identity
		got.Issuer = "https://other.example"
		if err := s.UpdateIdentity(ctx, got); err != nil {
			t.Fatal(err)
		}
		again, err := s.Identity(ctx, issuer, "sub-1")
		if err != nil || again.ProviderEmail != "new@example.com" || again.VerifiedEmail != "new@example.com" || string(again.ProviderTokens) != "rotated" || again.UserID != "u1" {
			t.Fatalf("after update: %+v, %v", again, err)
		}
		if err := s.DeleteIdentity(ctx, "u1", "i1"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Identity(ctx, issuer, "sub-1"); !errors.Is(err, oauthlogin.ErrNotFound) {
			t.Fatalf("after delete: %v, want ErrNotFound", err)
		}
		if list, err := s.UserIdentities(ctx, "u1"); err != nil || !slices.Equal(ids(list), []string{"i2"}) {
			t.Fatalf("after delete: UserIdentities = %v, %v", ids(list), err)
		}
		if list, _ := s.IdentitiesByEmail(ctx, "new@example.com"); len(list) != 0 {
			t.Fatalf("a deleted identity is still found by email: %v", ids(list))
		}
		if err := s.DeleteIdentity(ctx, "u1", "i1"); !errors.Is(err, oauthlogin.ErrNotFound) {
			t.Fatalf("deleting a missing identity: %v, want ErrNotFound", err)
		}
	})
	t.Run("DeleteRules", func(t *testing.T) {
		s := newStore(t)
		for _, v := range []*oauthlogin.Identity{identity("a1", "u1", "x"), identity("a2", "u1", "y"), identity("b1", "u2", "z")} {
			if err := s.CreateIdentity(ctx, v); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.DeleteIdentity(ctx, "u2", "a1"); !errors.Is(err, oauthlogin.ErrNotFound) {
			t.Fatalf("deleting another user's identity: %v, want ErrNotFound", err)
		}
		if err := s.DeleteIdentity(ctx, "u2", "b1"); !errors.Is(err, oauthlogin.ErrLastIdentity) {
			t.Fatalf("deleting a user's only identity: %v, want ErrLastIdentity", err)
		}
		if _, err := s.Identity(ctx, issuer, "z"); err != nil {
			t.Fatalf("a refused delete removed the identity: %v", err)
		}
		if err := s.DeleteIdentity(ctx, "u1", "a1"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteIdentity(ctx, "u1", "a2"); !errors.Is(err, oauthlogin.ErrLastIdentity) {
			t.Fatalf("deleting the now last identity: %v, want ErrLastIdentity", err)
		}
	})
	t.Run("ConcurrentDeletesKeepOne", func(t *testing.T) {
		s := newStore(t)
		for i := range writers {
			if err := s.CreateIdentity(ctx, identity(fmt.Sprint("i", i), "u1", fmt.Sprint("sub", i))); err != nil {
				t.Fatal(err)
			}
		}
		parallel(t, func(i int) error {
			err := s.DeleteIdentity(ctx, "u1", fmt.Sprint("i", i))
			if errors.Is(err, oauthlogin.ErrLastIdentity) {
				return nil
			}
			return err
		})
		if list, err := s.UserIdentities(ctx, "u1"); err != nil || len(list) != 1 {
			t.Fatalf("after deleting every identity at once: %v, %v; want exactly one left", ids(list), err)
		}
	})
	t.Run("NotFound", func(t *testing.T) {
		s := newStore(t)
		if _, err := s.Identity(ctx, issuer, "nobody"); !errors.Is(err, oauthlogin.ErrNotFound) {
			t.Fatalf("Identity(missing): %v, want ErrNotFound", err)
		}
		if err := s.UpdateIdentity(ctx, identity("x", "u", "nobody")); !errors.Is(err, oauthlogin.ErrNotFound) {
			t.Fatalf("UpdateIdentity(missing): %v, want ErrNotFound", err)
		}
		if list, err := s.UserIdentities(ctx, "nobody"); err != nil || list == nil || len(list) != 0 {
			t.Fatalf("UserIdentities(nobody) = %#v, %v; want an empty slice", list, err)
		}
		if list, err := s.IdentitiesByEmail(ctx, "nobody@example.com"); err != nil || list == nil || len(list) != 0 {
			t.Fatalf("IdentitiesByEmail(nobody) = %#v, %v; want an empty slice", list, err)
		}
	})
	t.Run("UniqueAccount", func(t *testing.T) {
		s := newStore(t)
		if err := s.CreateIdentity(ctx, identity("i1", "u1", "sub-1")); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateIdentity(ctx, identity("i2", "u2", "sub-1")); !errors.Is(err, oauthlogin.ErrIdentityExists) {
			t.Fatalf("second identity for one account: %v, want ErrIdentityExists", err)
		}
		if got, _ := s.Identity(ctx, issuer, "sub-1"); got.UserID != "u1" {
			t.Fatalf("the losing create changed the identity: %+v", got)
		}
		other := identity("i3", "u1", "sub-1")
		other.Issuer = "https://other.example"
		if err := s.CreateIdentity(ctx, other); err != nil {
			t.Fatalf("same subject at another issuer: %v", err)
		}
		if got, err := s.Identity(ctx, "https://other.example", "sub-1"); err != nil || got.ID != "i3" {
			t.Fatalf("Identity at the other issuer = %+v, %v", got, err)
		}
	})
	t.Run("ByEmail", func(t *testing.T) {
		s := newStore(t)
		for i, v := range []*oauthlogin.Identity{identity("a", "u1", "1"), identity("b", "u2", "2"), identity("c", "u3", "3")} {
			v.Created = v.Created.Add(time.Duration(i) * time.Second)
			if v.ID != "c" {
				v.VerifiedEmail = "ada@example.com"
			}
			if err := s.CreateIdentity(ctx, v); err != nil {
				t.Fatal(err)
			}
		}
		list, err := s.IdentitiesByEmail(ctx, "ada@example.com")
		if err != nil || !slices.Equal(ids(list), []string{"a", "b"}) {
			t.Fatalf("IdentitiesByEmail = %v, %v; want [a b]", ids(list), err)
		}
		if list, _ := s.IdentitiesByEmail(ctx, "ADA@example.com"); len(list) != 0 {
			t.Fatalf("IdentitiesByEmail matched another spelling: %v", ids(list))
		}
		// An update that drops the verified email drops it from the index.
		b, _ := s.Identity(ctx, issuer, "2")
		b.VerifiedEmail = ""
		if err := s.UpdateIdentity(ctx, b); err != nil {
			t.Fatal(err)
		}
		if list, _ := s.IdentitiesByEmail(ctx, "ada@example.com"); !slices.Equal(ids(list), []string{"a"}) {
			t.Fatalf("after the update IdentitiesByEmail = %v, want [a]", ids(list))
		}
	})
	t.Run("UserIdentities", func(t *testing.T) {
		s := newStore(t)
		for i, uid := range []string{"a", "b", "c"} {
			v := identity("i"+uid, "u1", uid)
			v.Created = v.Created.Add(time.Duration(i) * time.Second)
			if err := s.CreateIdentity(ctx, v); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.CreateIdentity(ctx, identity("other", "u2", "d")); err != nil {
			t.Fatal(err)
		}
		list, err := s.UserIdentities(ctx, "u1")
		if err != nil || !slices.Equal(ids(list), []string{"ia", "ib", "ic"}) {
			t.Fatalf("UserIdentities(u1) = %v, %v; want [ia ib ic]", ids(list), err)
		}
	})
	t.Run("ConcurrentCreate", func(t *testing.T) {
		s := newStore(t)
		var mu sync.Mutex
		wins := 0
		parallel(t, func(i int) error {
			err := s.CreateIdentity(ctx, identity(fmt.Sprint("i", i), fmt.Sprint("u", i), "same"))
			if errors.Is(err, oauthlogin.ErrIdentityExists) {
				return nil
			}
			if err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			}
			return err
		})
		if wins != 1 {
			t.Fatalf("%d concurrent creates of one account succeeded, want 1", wins)
		}
	})
	t.Run("ConcurrentWriters", func(t *testing.T) {
		s := newStore(t)
		parallel(t, func(i int) error {
			return s.CreateIdentity(ctx, identity(fmt.Sprint("i", i), "u1", fmt.Sprint("sub", i)))
		})
		if list, err := s.UserIdentities(ctx, "u1"); err != nil || len(list) != writers {
			t.Fatalf("UserIdentities = %d identities, %v; want %d", len(list), err, writers)
		}
	})
}

// OneTime checks the single-use marks of the oauthlogin.Store contract
// (Consume).
func OneTime(t *testing.T, newStore func(t *testing.T) Store) {
	ctx := context.Background()
	t.Run("ConsumeOnce", func(t *testing.T) {
		s := newStore(t)
		exp := time.Now().Add(time.Minute)
		if err := s.Consume(ctx, "k", exp); err != nil {
			t.Fatal(err)
		}
		if err := s.Consume(ctx, "k", exp); !errors.Is(err, oauthlogin.ErrAlreadyUsed) {
			t.Fatalf("second Consume: %v, want ErrAlreadyUsed", err)
		}
		if err := s.Consume(ctx, "other", exp); err != nil {
			t.Fatalf("another key: %v", err)
		}
	})
	t.Run("Expired", func(t *testing.T) {
		s := newStore(t)
		if err := s.Consume(ctx, "k", time.Now().Add(-time.Second)); err != nil {
			t.Fatal(err)
		}
		if err := s.Consume(ctx, "k", time.Now().Add(time.Minute)); err != nil {
			t.Fatalf("Consume after the mark expired: %v", err)
		}
	})
	t.Run("Concurrent", func(t *testing.T) {
		s := newStore(t)
		var mu sync.Mutex
		wins := 0
		exp := time.Now().Add(time.Minute)
		parallel(t, func(int) error {
			err := s.Consume(ctx, "k", exp)
			if err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
				return nil
			}
			if errors.Is(err, oauthlogin.ErrAlreadyUsed) {
				return nil
			}
			return err
		})
		if wins != 1 {
			t.Fatalf("%d concurrent Consume calls won, want 1", wins)
		}
	})
	t.Run("Cancelled", func(t *testing.T) {
		s := newStore(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := s.Consume(cctx, "k", time.Now().Add(time.Minute)); !errors.Is(err, context.Canceled) {
			t.Fatalf("Consume with a cancelled context: %v, want context.Canceled", err)
		}
	})
}

// Locker checks the lock of the oauthlogin.Store contract (Lock): one
// holder at a time for any key string (NUL and non-UTF-8 bytes included),
// release only by the holder, expiry after the TTL,
// waiting that ends with the context, and a done context making a
// try-lock.
func Locker(t *testing.T, newLocker func(t *testing.T) Store) {
	ctx := context.Background()
	t.Run("MutualExclusion", func(t *testing.T) {
		l := newLocker(t)
		var mu sync.Mutex
		inside, most := 0, 0
		parallel(t, func(int) error {
			unlock, err := l.Lock(ctx, "k", time.Minute)
			if err != nil {
				return err
			}
			mu.Lock()
			inside++
			most = max(most, inside)
			mu.Unlock()
			mu.Lock()
			inside--
			mu.Unlock()
			return unlock(ctx)
		})
		if most != 1 {
			t.Fatalf("%d holders at once", most)
		}
	})
	t.Run("AnyKey", func(t *testing.T) {
		// The Manager's keys join an issuer, a subject and an id with NUL
		// bytes; a key need not be valid UTF-8 either.
		l := newLocker(t)
		key := "oauthlogin:refresh:https://idp.example\x00sub\xff\x00id"
		unlock, err := l.Lock(ctx, key, time.Minute)
		if err != nil {
			t.Fatalf("Lock on a key with NUL and non-UTF-8 bytes: %v", err)
		}
		done, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := l.Lock(done, key, time.Minute); !errors.Is(err, context.Canceled) {
			t.Fatalf("a try-lock on the held key: %v, want context.Canceled", err)
		}
		other, err := l.Lock(done, "oauthlogin:refresh:https://idp.example\x00sub\xff\x00other", time.Minute)
		if err != nil {
			t.Fatalf("a try-lock on a key that differs after a NUL: %v", err)
		}
		other(ctx)
		if err := unlock(ctx); err != nil {
			t.Fatal(err)
		}
		again, err := l.Lock(done, key, time.Minute)
		if err != nil {
			t.Fatalf("a try-lock after unlock: %v", err)
		}
		again(ctx)
	})
	t.Run("WaitEndsWithContext", func(t *testing.T) {
		l := newLocker(t)
		unlock, err := l.Lock(ctx, "k", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		defer unlock(ctx)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := l.Lock(cctx, "k", time.Minute); !errors.Is(err, context.Canceled) {
			t.Fatalf("Lock on a held key with a cancelled context: %v", err)
		}
		if other, err := l.Lock(cctx, "other", time.Minute); err != nil {
			t.Fatalf("a free key with a done context (a try-lock): %v", err)
		} else {
			other(ctx)
		}
	})
	t.Run("UnlockWithDoneContext", func(t *testing.T) {
		l := newLocker(t)
		unlock, err := l.Lock(ctx, "k", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		done, cancel := context.WithCancel(ctx)
		cancel()
		unlock(done)
		try, cancel2 := context.WithCancel(ctx)
		cancel2()
		again, err := l.Lock(try, "k", time.Minute)
		if err != nil {
			t.Fatalf("unlock with a done context left the lock held: %v", err)
		}
		again(ctx)
	})
	t.Run("Expiry", func(t *testing.T) {
		l := newLocker(t)
		if _, err := l.Lock(ctx, "k", 50*time.Millisecond); err != nil { // never released: a crashed holder
			t.Fatal(err)
		}
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		unlock, err := l.Lock(wctx, "k", time.Minute)
		if err != nil {
			t.Fatalf("the lock of a crashed holder was never freed: %v", err)
		}
		unlock(ctx)
	})
	t.Run("OnlyHolderReleases", func(t *testing.T) {
		l := newLocker(t)
		stale, err := l.Lock(ctx, "k", 50*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		current, err := l.Lock(wctx, "k", time.Minute) // after the first expired
		if err != nil {
			t.Fatal(err)
		}
		stale(ctx) // the first holder wakes up late: must not free the current holder's lock
		try, cancel2 := context.WithCancel(ctx)
		cancel2()
		if _, err := l.Lock(try, "k", time.Minute); err == nil {
			t.Fatal("a stale unlock released another holder's lock")
		}
		current(ctx)
		if again, err := l.Lock(ctx, "k", time.Minute); err != nil {
			t.Fatalf("after the holder unlocked: %v", err)
		} else {
			again(ctx)
		}
	})
}

// parallel runs f(0..writers-1) at once and fails t on any error.
func parallel(t *testing.T, f func(i int) error) {
	t.Helper()
	together(t, writers, f)
}

// together runs f(0..n-1) at once and fails t on any error.
func together(t *testing.T, n int, f func(i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			if err := f(i); err != nil {
				errs <- err
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
