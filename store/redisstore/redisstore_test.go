package redisstore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/store/internal/scenario"
	"github.com/oauthlogin/oauthlogin/store/redisstore"
	"github.com/oauthlogin/oauthlogin/store/storetest"
	"github.com/redis/go-redis/v9"
)

// client connects to the server named by OAUTHLOGIN_TEST_REDIS (host:port);
// without it the test is skipped, or fails when CI is set.
func client(t testing.TB) *redis.Client {
	t.Helper()
	addr := scenario.Env(t, "OAUTHLOGIN_TEST_REDIS", "Redis")
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { rdb.Close() })
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("Redis at %s: %v", addr, err)
	}
	return rdb
}

// clusterClient connects to the Redis Cluster named by
// OAUTHLOGIN_TEST_REDIS_CLUSTER (host:port of its masters, comma
// separated); without it the test is skipped, or fails when CI is set.
func clusterClient(t testing.TB) *redis.ClusterClient {
	t.Helper()
	addrs := scenario.Env(t, "OAUTHLOGIN_TEST_REDIS_CLUSTER", "Redis Cluster")
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: strings.Split(addrs, ",")})
	t.Cleanup(func() { rdb.Close() })
	if err := rdb.ForEachMaster(context.Background(), func(ctx context.Context, c *redis.Client) error {
		return c.Ping(ctx).Err()
	}); err != nil {
		t.Fatalf("Redis Cluster at %s: %v", addrs, err)
	}
	return rdb
}

// newStore returns a Store with a key prefix of its own (no hash tag: on
// a cluster its keys spread over every slot), whose keys are deleted when
// t ends.
func newStore(t testing.TB, rdb redis.UniversalClient) (*redisstore.Store, string) {
	t.Helper()
	var b [8]byte
	rand.Read(b[:])
	prefix := "oauthlogintest:" + hex.EncodeToString(b[:]) + ":"
	t.Cleanup(func() {
		eachNode(context.Background(), rdb, func(ctx context.Context, c *redis.Client) error {
			iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
			for iter.Next(ctx) {
				c.Del(ctx, iter.Val())
			}
			return iter.Err()
		})
	})
	return redisstore.New(rdb, redisstore.Options{Prefix: prefix}), prefix
}

// eachNode runs f on the server, or on every master of a cluster.
func eachNode(ctx context.Context, rdb redis.UniversalClient, f func(context.Context, *redis.Client) error) error {
	if c, ok := rdb.(*redis.ClusterClient); ok {
		return c.ForEachMaster(ctx, f)
	}
	return f(ctx, rdb.(*redis.Client))
}

func TestConformance(t *testing.T) {
	rdb := client(t)
	storetest.Run(t, func(t *testing.T) storetest.Store { s, _ := newStore(t, rdb); return s })
}

func TestLocker(t *testing.T) {
	rdb := client(t)
	storetest.Locker(t, func(t *testing.T) storetest.Store { s, _ := newStore(t, rdb); return s })
}

// On a Redis Cluster, with a prefix that puts no two kinds of key in one
// slot, every contract holds as on a single server: a script that touched
// two keys would fail there with CROSSSLOT.
func TestCluster(t *testing.T) {
	rdb := clusterClient(t)
	newStore := func(t *testing.T) *redisstore.Store { s, _ := newStore(t, rdb); return s }
	t.Run("Conformance", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) storetest.Store { return newStore(t) })
	})
	t.Run("Locker", func(t *testing.T) {
		storetest.Locker(t, func(t *testing.T) storetest.Store { return newStore(t) })
	})
	t.Run("SeveralInstances", func(t *testing.T) { scenario.SeveralInstances(t, newStore(t)) })
	t.Run("RefreshAfterLogout", func(t *testing.T) { scenario.RefreshAfterLogout(t, newStore(t)) })
	t.Run("IdentitySessions", func(t *testing.T) { scenario.IdentitySessions(t, newStore(t)) })
	t.Run("BackChannelLogout", func(t *testing.T) { scenario.BackChannelLogout(t, newStore(t)) })
	t.Run("TokenModeReplay", func(t *testing.T) { scenario.TokenModeReplay(t, newStore(t)) })
}

// dump reads every key with the prefix and its raw value(s).
func dump(t *testing.T, rdb *redis.Client, prefix string) []byte {
	ctx := context.Background()
	var buf bytes.Buffer
	iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		k := iter.Val()
		fmt.Fprintf(&buf, "%s\n", k)
		switch typ := rdb.Type(ctx, k).Val(); typ {
		case "string":
			buf.WriteString(rdb.Get(ctx, k).Val())
		case "hash":
			for f, v := range rdb.HGetAll(ctx, k).Val() {
				fmt.Fprintf(&buf, "%s=%s\n", f, v)
			}
		case "set":
			fmt.Fprintln(&buf, rdb.SMembers(ctx, k).Val())
		case "zset":
			fmt.Fprintln(&buf, rdb.ZRange(ctx, k, 0, -1).Val())
		default:
			t.Fatalf("key %s of unexpected type %s", k, typ)
		}
		buf.WriteByte('\n')
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestEncryptedAtRest(t *testing.T) {
	rdb := client(t)
	s, prefix := newStore(t, rdb)
	scenario.EncryptedAtRest(t, s, func(t *testing.T) []byte { return dump(t, rdb, prefix) })
}

func TestSeveralInstances(t *testing.T) {
	rdb := client(t)
	s, _ := newStore(t, rdb)
	scenario.SeveralInstances(t, s)
}

// The Redis server dies mid-run (SIGKILL) and comes back with its
// append-only file: requests fail cleanly meanwhile, then everything that
// was acknowledged is there.
func TestOutage(t *testing.T) {
	client(t) // the same skip rule as the other tests
	srv := scenario.StartRedis(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { rdb.Close() })
	scenario.Outage(t, redisstore.New(rdb), srv)
}

// Expired sessions leave the user index when it is read.
func TestUserIndexPruned(t *testing.T) {
	rdb := client(t)
	s, prefix := newStore(t, rdb)
	ctx := context.Background()
	now := time.Now()
	// The long one first: a save prunes the index's expired entries, so
	// the short one, saved last, stays in it until the read.
	for i, exp := range []time.Time{now.Add(time.Hour), now.Add(100 * time.Millisecond)} {
		v := &oauthlogin.Session{ID: fmt.Sprint("s", 1-i), UserID: "u", Created: now, LastSeen: now, Expires: exp}
		if err := s.SaveSession(ctx, v); err != nil {
			t.Fatal(err)
		}
	}
	key := prefix + "us:u"
	deadline := time.Now().Add(5 * time.Second)
	for rdb.Exists(ctx, prefix+"s:s0").Val() == 1 { // Redis expires the record itself
		if time.Now().After(deadline) {
			t.Fatal("the expired session's record was not expired by Redis")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := rdb.ZCard(ctx, key).Val(); n != 2 {
		t.Fatalf("index holds %d entries before a read, want 2", n)
	}
	list, err := s.UserSessions(ctx, "u")
	if err != nil || len(list) != 1 || list[0].ID != "s1" {
		t.Fatalf("UserSessions = %v, %v", list, err)
	}
	if got := rdb.ZRange(ctx, key, 0, -1).Val(); len(got) != 1 || got[0] != "s1" {
		t.Fatalf("index after a read = %v, want [s1]", got)
	}
	if ttl := rdb.PTTL(ctx, key).Val(); ttl <= 0 || ttl > time.Hour+time.Second {
		t.Fatalf("index TTL = %v, want the last session's", ttl)
	}
}

func BenchmarkSession(b *testing.B) {
	rdb := client(b)
	s, _ := newStore(b, rdb)
	ctx := context.Background()
	now := time.Now()
	v := &oauthlogin.Session{ID: "bench", UserID: "u", IdentityID: "i", Provider: "test", ProviderUID: "sub",
		ProviderTokens: make([]byte, 200), Created: now, LastSeen: now, Expires: now.Add(time.Hour), IP: "127.0.0.1", UserAgent: "bench"}
	if err := s.SaveSession(ctx, v); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Session(ctx, "bench"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSaveSession(b *testing.B) {
	rdb := client(b)
	s, _ := newStore(b, rdb)
	ctx := context.Background()
	now := time.Now()
	v := &oauthlogin.Session{UserID: "u", IdentityID: "i", Provider: "test", ProviderUID: "sub",
		ProviderTokens: make([]byte, 200), Created: now, LastSeen: now, Expires: now.Add(time.Hour), IP: "127.0.0.1", UserAgent: "bench"}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		v.ID = fmt.Sprint("bench", i)
		i++
		if err := s.SaveSession(ctx, v); err != nil {
			b.Fatal(err)
		}
	}
}
