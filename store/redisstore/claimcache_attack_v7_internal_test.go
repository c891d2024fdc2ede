package redisstore

import (
	"context"
	"errors"
	"fmt"
	"github.com/oauthlogin/oauthlogin/internal/recall"
	"strings"
	"sync"
	"testing"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/store/internal/scenario"
	"github.com/redis/go-redis/v9"
)

// Guard: an identity this Store read before, then left halfway by another
// instance (unlinked from its user's set only, or its record put back to
// "being created"), is no identity through the remembered claim either.
func TestAttackV7RememberedClaimHalfwayStates(t *testing.T) {
	s, rdb := testStore(t)
	other := New(rdb, Options{Prefix: s.prefix})
	ctx := context.Background()
	mustCreate(t, other, newIdentity("keep", "u", "sub-keep"))
	mustCreate(t, other, newIdentity("a", "u", "sub-a"))
	read := func() (*oauthlogin.Identity, error) { return s.Identity(ctx, "https://idp.test", "sub-a") }
	if v, err := read(); err != nil || v.ID != "a" {
		t.Fatalf("first read: %+v, %v", v, err)
	}
	akey := s.accountKey("https://idp.test", "sub-a")
	if _, ok := s.claims.Get(akey); !ok {
		t.Fatal("claim not remembered")
	}
	// Unlink stopped after its first step.
	rdb.SRem(ctx, s.userIdentitiesKey("u"), "a")
	if v, err := read(); !errors.Is(err, oauthlogin.ErrNotFound) {
		t.Fatalf("half-unlinked: %+v, %v; want ErrNotFound", v, err)
	}
	rdb.SAdd(ctx, s.userIdentitiesKey("u"), "a")
	if v, err := read(); err != nil || v.ID != "a" {
		t.Fatalf("back in its set: %+v, %v", v, err)
	}
	// Record marked as being created.
	rdb.HSet(ctx, s.identityKey("a"), "s", "c")
	if v, err := read(); !errors.Is(err, oauthlogin.ErrNotFound) {
		t.Fatalf("record being created: %+v, %v; want ErrNotFound", v, err)
	}
	rdb.HDel(ctx, s.identityKey("a"), "s")
	// Record of the remembered id rewritten for another account and user.
	rdb.HSet(ctx, s.identityKey("a"), "a", s.accountKey("https://idp.test", "sub-other"))
	if v, err := read(); !errors.Is(err, oauthlogin.ErrNotFound) {
		t.Fatalf("record of another account: %+v, %v; want ErrNotFound", v, err)
	}
	rdb.HSet(ctx, s.identityKey("a"), "a", akey, "u", "u2")
	rdb.SAdd(ctx, s.userIdentitiesKey("u2"), "a")
	if v, err := read(); !errors.Is(err, oauthlogin.ErrNotFound) {
		t.Fatalf("record of another user than the claim names: %+v, %v; want ErrNotFound", v, err)
	}
	// The claim replaced by a garbage value, then by an old-format claim
	// naming a record of another account: nothing is read, nothing is
	// remembered.
	for _, garbage := range []string{"\x01short", "\x01" + "0123456789abcdef" + "99:a", "keep"} {
		rdb.Set(ctx, akey, garbage, 0)
		if v, err := read(); !errors.Is(err, oauthlogin.ErrNotFound) {
			t.Fatalf("claim %q: %+v, %v; want ErrNotFound", garbage, v, err)
		}
		if g, ok := s.claims.Get(akey); ok {
			t.Fatalf("claim %q: remembered %q after a failed read", garbage, g)
		}
	}
}

// Guard, for -race: readers on one Store while another instance unlinks
// and links the account again, each time to another user, see either no
// identity or one that was linked, with the user it was linked to.
func TestAttackV7RememberedClaimConcurrentRelinks(t *testing.T) {
	s, rdb := testStore(t)
	relinksV7(t, s, New(rdb, Options{Prefix: s.prefix}))
}

// Guard: the same on a Redis Cluster, where the claim, the record and the
// user's set live on different nodes and one pipeline per node runs.
func TestAttackV7RememberedClaimConcurrentRelinksOnCluster(t *testing.T) {
	addrs := scenario.Env(t, "OAUTHLOGIN_TEST_REDIS_CLUSTER", "Redis Cluster")
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: strings.Split(addrs, ",")})
	t.Cleanup(func() { rdb.Close() })
	base, _ := testStore(t) // for a fresh prefix
	prefix := base.prefix + "cluster:"
	t.Cleanup(func() {
		rdb.ForEachMaster(context.Background(), func(ctx context.Context, c *redis.Client) error {
			iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
			for iter.Next(ctx) {
				c.Del(ctx, iter.Val())
			}
			return iter.Err()
		})
	})
	relinksV7(t, New(rdb, Options{Prefix: prefix}), New(rdb, Options{Prefix: prefix}))
}

func relinksV7(t *testing.T, s, other *Store) {
	t.Helper()
	ctx := context.Background()
	users := []string{"u0", "u1"}
	for _, u := range users {
		mustCreate(t, other, newIdentity("keep-"+u, u, "sub-keep-"+u))
	}
	ids := []string{"r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7"}
	userOf := map[string]string{}
	for i, id := range ids {
		userOf[id] = users[i%2]
	}
	mustCreate(t, other, newIdentity(ids[0], userOf[ids[0]], "sub-x"))
	var wg sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan error, 4)
	for range 3 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				v, err := s.Identity(ctx, "https://idp.test", "sub-x")
				switch {
				case errors.Is(err, oauthlogin.ErrNotFound):
				case err != nil:
					errs <- err
					return
				case userOf[v.ID] == "" || v.UserID != userOf[v.ID] || v.ProviderUID != "sub-x":
					errs <- errors.New("read " + v.ID + " of " + v.UserID)
					return
				}
			}
		})
	}
	for i := 1; i < len(ids); i++ {
		prev := ids[i-1]
		if err := other.DeleteIdentity(ctx, userOf[prev], prev); err != nil {
			t.Fatal(err)
		}
		mustCreate(t, other, newIdentity(ids[i], userOf[ids[i]], "sub-x"))
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if v, err := s.Identity(ctx, "https://idp.test", "sub-x"); err != nil || v.ID != ids[len(ids)-1] {
		t.Fatalf("final read: %+v, %v", v, err)
	}
}

// The claim cache is bounded by count (recall.Entries) on the premise
// that an entry is "about 200 bytes, so at most a few megabytes". But an
// entry's key is the account key, which holds the provider's subject
// verbatim, and nothing bounds a subject to OpenID Connect Core §2's 255
// characters: an ID token may be up to 32 KiB (providers.maxIDToken), so a
// subject of 8 KiB passes. An IdP that issues long subjects (a tenant's own
// IdP in a multi-tenant app, a provider whose Subject mapping reads a
// user-chosen name) makes each Store remember 16384 such keys: 32 MiB
// with the 2 KiB subjects here, about 128 MiB with 8 KiB ones and nearly
// 400 MiB at the ID token's limit, per instance.
func TestAttackV7ClaimCacheBoundedInBytes(t *testing.T) {
	const subjectLen = 2 << 10
	const budget = 16 << 20 // "at most a few megabytes", generously
	s := &Store{prefix: "oauthlogin:"}
	pad := strings.Repeat("s", subjectLen-6)
	for i := range recall.Entries {
		akey := s.accountKey("https://idp.test", fmt.Sprintf("%06d", i)+pad)
		s.claims.Put(akey, claimValue("identity-id-000", "user-id-0000000", newNonce()))
	}
	n, held := s.claims.Held()
	if held > budget {
		t.Fatalf("the claim cache holds %d entries, %d MiB of keys and claims; its documented bound is a few megabytes (budget %d MiB)",
			n, held>>20, budget>>20)
	}
}
