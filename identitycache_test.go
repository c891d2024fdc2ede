package oauthlogin_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
)

// identityReads is the memory store with its Identity reads counted, and
// its Lock calls with a context already done (try-locks).
type identityReads struct {
	*oauthlogin.MemoryStore
	n, tries atomic.Int64
}

func (s *identityReads) Lock(ctx context.Context, key string, ttl time.Duration) (func(context.Context) error, error) {
	if ctx.Err() != nil {
		s.tries.Add(1)
	}
	return s.MemoryStore.Lock(ctx, key, ttl)
}

func (s *identityReads) Identity(ctx context.Context, issuer, subject string) (*oauthlogin.Identity, error) {
	s.n.Add(1)
	return s.MemoryStore.Identity(ctx, issuer, subject)
}

// TestReturningLoginReadsIdentityOnce: a Manager that has seen an account
// sign in reads its identity once before the session (under the refresh
// lock, not before it too), and once after (the unlink check); the lock of
// the identity it remembered is only tried, never waited for (a stale
// guess names a lock that is not the account's).
func TestReturningLoginReadsIdentityOnce(t *testing.T) {
	var reads *identityReads
	h := newHarness(t, func(c *oauthlogin.Config) {
		reads = &identityReads{MemoryStore: c.Store.(*oauthlogin.MemoryStore)}
		c.Store = reads
	})
	h.mustSucceed(h.login(oauthlogintest.NewBrowser()))
	reads.n.Store(0)
	reads.tries.Store(0)
	h.mustSucceed(h.login(oauthlogintest.NewBrowser()))
	if n := reads.n.Load(); n != 2 {
		t.Errorf("a returning login read its identity %d times, want 2", n)
	}
	if n := reads.tries.Load(); n != 1 {
		t.Errorf("a returning login tried %d locks with a done context, want 1 (the remembered identity's)", n)
	}
}

// TestReturningLoginGuessNeverStands: what a Manager remembers of an
// account's identity only picks the lock to take. The account unlinked
// (in the store, as another instance would) signs up anew; linked again
// to another user behind the Manager's back, it signs in as that user.
func TestReturningLoginGuessNeverStands(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	b := oauthlogintest.NewBrowser()
	h.mustSucceed(h.login(b))
	first, err := h.store.Identity(ctx, h.idp.URL, "user-1")
	if err != nil {
		t.Fatal(err)
	}
	// Another identity keeps the user, so that this one may go.
	now := time.Now()
	other := &oauthlogin.Identity{ID: "keep", UserID: first.UserID, Issuer: h.idp.URL, Provider: "test", ProviderUID: "user-keep", Created: now, Updated: now}
	if err := h.store.CreateIdentity(ctx, other); err != nil {
		t.Fatal(err)
	}
	if err := h.store.DeleteIdentity(ctx, first.UserID, first.ID); err != nil {
		t.Fatal(err)
	}
	b = oauthlogintest.NewBrowser()
	h.mustSucceed(h.login(b))
	v, _ := h.session(b)
	second, err := h.store.Identity(ctx, h.idp.URL, "user-1")
	if err != nil || second.ID == first.ID || v["userId"] != second.UserID || second.UserID == first.UserID {
		t.Fatalf("after the unlink: session %v, identity %+v (%v); want a new identity of a new user", v, second, err)
	}
	// Linked again, to user "elsewhere", as another record.
	if err := h.store.CreateIdentity(ctx, &oauthlogin.Identity{ID: "keep-2", UserID: second.UserID, Issuer: h.idp.URL, Provider: "test", ProviderUID: "user-keep-2", Created: now, Updated: now}); err != nil {
		t.Fatal(err)
	}
	if err := h.store.DeleteIdentity(ctx, second.UserID, second.ID); err != nil {
		t.Fatal(err)
	}
	if err := h.store.CreateIdentity(ctx, &oauthlogin.Identity{ID: "moved", UserID: "elsewhere", Issuer: h.idp.URL, Provider: "test", ProviderUID: "user-1", Created: now, Updated: now}); err != nil {
		t.Fatal(err)
	}
	b = oauthlogintest.NewBrowser()
	h.mustSucceed(h.login(b))
	v, _ = h.session(b)
	moved, err := h.store.Identity(ctx, h.idp.URL, "user-1")
	if v["userId"] != "elsewhere" || err != nil || moved.ID != "moved" || len(moved.ProviderTokens) == 0 {
		t.Fatalf("after the account moved: session %v, identity %+v (%v); want user elsewhere's identity, with the login's tokens", v, moved, err)
	}
}
