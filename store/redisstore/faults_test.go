package redisstore_test

import (
	"testing"
	"time"

	"github.com/oauthlogin/oauthlogin/store/internal/scenario"
	"github.com/oauthlogin/oauthlogin/store/redisstore"
	"github.com/redis/go-redis/v9"
)

// The Redis server (append-only file, fsync always) is killed under load
// from two instances and started again: only 503s meanwhile, service
// back by itself, nothing acknowledged lost, no refresh token sent twice.
func TestFaultsRedisRestart(t *testing.T) {
	t.Parallel()
	client(t) // the same skip rule as the other tests
	srv := scenario.StartRedis(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, DialTimeout: time.Second})
	t.Cleanup(func() { rdb.Close() })
	scenario.FaultsUnderLoad(t, redisstore.New(rdb), scenario.Fault{Server: srv})
}

// A master of a Redis Cluster (three masters, each with a replica) is
// killed under load; its replica takes over, and the old master rejoins
// as a replica. The sessions and identities made before the fault are
// all there after it; writes acknowledged just before the kill may be
// lost (replication is asynchronous), which the scenario allows.
func TestFaultsRedisClusterFailover(t *testing.T) {
	t.Parallel()
	client(t)
	c := scenario.StartRedisCluster(t)
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs(), DialTimeout: time.Second})
	t.Cleanup(func() { rdb.Close() })
	const prefix = "{t}:" // one slot, until every script touches a single key
	scenario.FaultsUnderLoad(t, redisstore.New(rdb, redisstore.Options{Prefix: prefix}), scenario.Fault{
		Inject: func(t testing.TB) {
			t.Logf("a master was down for %v", c.Failover(t, prefix).Round(time.Millisecond))
		},
		MayLoseFaultWrites: true,
	})
}
