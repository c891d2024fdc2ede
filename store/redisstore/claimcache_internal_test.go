package redisstore

import (
	"context"
	"errors"
	"github.com/oauthlogin/oauthlogin/internal/recall"
	"sync/atomic"
	"testing"

	"github.com/oauthlogin/oauthlogin"
	"github.com/redis/go-redis/v9"
)

// roundTrips counts what a client sends: one per command outside a
// pipeline, one per pipeline.
type roundTrips struct{ n atomic.Int64 }

func (h *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { h.n.Add(1); return next(ctx, cmd) }
}
func (h *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { h.n.Add(1); return next(ctx, cmds) }
}

// TestIdentityRemembersClaim: a second read of an account's identity by
// the same Store takes one round trip (claim, record and set together);
// the first takes two.
func TestIdentityRemembersClaim(t *testing.T) {
	s, rdb := testStore(t)
	var rt roundTrips
	rdb.AddHook(&rt)
	ctx := context.Background()
	if err := s.CreateIdentity(ctx, newIdentity("i1", "u1", "sub-1")); err != nil {
		t.Fatal(err)
	}
	s.claims = recall.Map{} // as another instance would start
	for i, want := range []int64{2, 1, 1} {
		rt.n.Store(0)
		v, err := s.Identity(ctx, "https://idp.test", "sub-1")
		if err != nil || v.ID != "i1" || v.UserID != "u1" {
			t.Fatalf("read %d: %+v, %v", i, v, err)
		}
		if got := rt.n.Load(); got != want {
			t.Errorf("read %d took %d round trips, want %d", i, got, want)
		}
	}
}

// TestIdentityRememberedClaimChanges: what a Store remembers of a claim
// never stands for the store's answer. Another instance unlinks the
// identity, and the account is linked again as another record of another
// user: the first Store reads the new identity; unlinked for good, it
// reads none.
func TestIdentityRememberedClaimChanges(t *testing.T) {
	s, rdb := testStore(t)
	other := New(rdb, Options{Prefix: s.prefix})
	ctx := context.Background()
	// Each user keeps another identity, so that these may be unlinked.
	for _, v := range []*oauthlogin.Identity{newIdentity("i0", "u1", "sub-0"), newIdentity("i9", "u2", "sub-9"), newIdentity("i1", "u1", "sub-1")} {
		if err := other.CreateIdentity(ctx, v); err != nil {
			t.Fatal(err)
		}
	}
	if v, err := s.Identity(ctx, "https://idp.test", "sub-1"); err != nil || v.ID != "i1" {
		t.Fatalf("first read: %+v, %v", v, err)
	}
	if _, ok := s.claims.Get(s.accountKey("https://idp.test", "sub-1")); !ok {
		t.Fatal("the claim read is not remembered")
	}
	if err := other.DeleteIdentity(ctx, "u1", "i1"); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Identity(ctx, "https://idp.test", "sub-1"); !errors.Is(err, oauthlogin.ErrNotFound) {
		t.Fatalf("after the unlink: %+v, %v; want ErrNotFound", v, err)
	}
	if err := other.CreateIdentity(ctx, newIdentity("i2", "u2", "sub-1")); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Identity(ctx, "https://idp.test", "sub-1"); err != nil || v.ID != "i2" || v.UserID != "u2" {
		t.Fatalf("after the new link: %+v, %v; want i2 of u2", v, err)
	}
	// And linked again while this Store remembers i2's claim.
	if err := other.DeleteIdentity(ctx, "u2", "i2"); err != nil {
		t.Fatal(err)
	}
	if err := other.CreateIdentity(ctx, newIdentity("i3", "u1", "sub-1")); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Identity(ctx, "https://idp.test", "sub-1"); err != nil || v.ID != "i3" || v.UserID != "u1" {
		t.Fatalf("after a second new link: %+v, %v; want i3 of u1", v, err)
	}
}
