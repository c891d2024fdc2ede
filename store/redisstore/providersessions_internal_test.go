package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"slices"
	"testing"
	"time"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/store/internal/scenario"
	"github.com/redis/go-redis/v9"
)

func testStore(t *testing.T) (*Store, *redis.Client) {
	t.Helper()
	addr := scenario.Env(t, "OAUTHLOGIN_TEST_REDIS", "Redis")
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { rdb.Close() })
	var b [8]byte
	rand.Read(b[:])
	prefix := "oauthlogintest:" + hex.EncodeToString(b[:]) + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
	})
	return New(rdb, Options{Prefix: prefix}), rdb
}

// The provider session index (a sorted set per provider and sid) holds
// exactly the live sessions of that provider session: SaveSession adds
// to it in the script that writes the record, and gives it the expiry of
// its longest session; DeleteSession, DeleteUserSessions,
// DeleteProviderSessions and a replacing SaveSession remove their
// entries; entries of expired sessions leave at the index's next write.
func TestProviderSessionIndex(t *testing.T) {
	s, rdb := testStore(t)
	ctx := context.Background()
	now := time.Now().Truncate(time.Millisecond)
	s.now = func() time.Time { return now }
	save := func(id, user, provider, sid string, expires time.Time) {
		t.Helper()
		v := &oauthlogin.Session{ID: id, UserID: user, Provider: provider, ProviderSID: sid, Created: now, LastSeen: now, Expires: expires}
		if err := s.SaveSession(ctx, v); err != nil {
			t.Fatal(err)
		}
	}
	members := func(key string) []string {
		t.Helper()
		got, err := rdb.ZRange(ctx, key, 0, -1).Result()
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(got)
		return got
	}
	expect := func(key string, want ...string) {
		t.Helper()
		if got := members(key); !slices.Equal(got, want) {
			t.Fatalf("%s = %v, want %v", key, got, want)
		}
		if len(want) == 0 {
			if n := rdb.Exists(ctx, key).Val(); n != 0 {
				t.Fatalf("%s is left behind empty", key)
			}
		}
	}
	x, y := s.providerSessionsKey("idp", "x"), s.providerSessionsKey("idp", "y")
	save("a", "u1", "idp", "x", now.Add(2*time.Hour))
	save("b", "u2", "idp", "x", now.Add(time.Hour))
	save("c", "u1", "idp", "y", now.Add(time.Hour))
	save("none", "u1", "idp", "", now.Add(time.Hour))
	expect(x, "a", "b")
	expect(y, "c")
	if ttl := rdb.PTTL(ctx, x).Val(); ttl < 2*time.Hour-time.Minute || ttl > 2*time.Hour+time.Second {
		t.Fatalf("the index's TTL = %v, want its longest session's (2h)", ttl)
	}
	if p := rdb.HGet(ctx, s.sessionKey("a"), "p").Val(); p != x {
		t.Fatalf("the record names its index %q, want %q", p, x)
	}
	if n := rdb.HExists(ctx, s.sessionKey("none"), "p").Val() || rdb.HExists(ctx, s.sessionKey("none"), "f").Val(); n {
		t.Fatal("a session without login facts has a p or f field")
	}

	if err := s.DeleteSession(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	expect(x, "b")
	expect(s.userSessionsKey("u1"), "c", "none")
	if err := s.DeleteUserSessions(ctx, "u2"); err != nil {
		t.Fatal(err)
	}
	expect(x)
	expect(s.userSessionsKey("u2"))

	// A replacement under another user and provider session leaves the
	// old indexes.
	save("c", "u3", "idp2", "y", now.Add(time.Hour))
	expect(y)
	expect(s.userSessionsKey("u1"), "none")
	expect(s.userSessionsKey("u3"), "c")
	expect(s.providerSessionsKey("idp2", "y"), "c")

	save("d", "u1", "idp", "y", now.Add(time.Hour))
	save("e", "u4", "idp", "y", now.Add(time.Hour))
	if err := s.DeleteProviderSessions(ctx, "idp", "y"); err != nil {
		t.Fatal(err)
	}
	expect(y)
	expect(s.userSessionsKey("u1"), "none")
	expect(s.userSessionsKey("u4"))
	for _, id := range []string{"d", "e"} {
		if n := rdb.Exists(ctx, s.sessionKey(id)).Val(); n != 0 {
			t.Fatalf("session %s's record is left after DeleteProviderSessions", id)
		}
	}
	expect(s.providerSessionsKey("idp2", "y"), "c")

	// Expiry (by the server's clock, which expires the records): an entry
	// whose session has expired leaves at the next write.
	save("f", "u1", "idp", "z", time.Now().Add(50*time.Millisecond))
	for deadline := time.Now().Add(5 * time.Second); rdb.Exists(ctx, s.sessionKey("f")).Val() == 1; {
		if time.Now().After(deadline) {
			t.Fatal("Redis did not expire the session's record")
		}
		time.Sleep(10 * time.Millisecond)
	}
	save("g", "u1", "idp", "z", time.Now().Add(time.Hour))
	expect(s.providerSessionsKey("idp", "z"), "g")
}
