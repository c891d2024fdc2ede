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
	scenario.FaultsUnderLoad(t, redisstore.New(rdb), scenario.Fault{Server: srv, Close: func() { rdb.Close() }})
}

// A master of a Redis Cluster (three masters, each with a replica) is
// killed under load; its replica takes over, and the old master rejoins
// as a replica. The store's keys are spread over every slot (no hash tag
// in the prefix), and its writes wait for a replica (Options.Replicas):
// nothing acknowledged, before the fault or during it, is lost.
func TestFaultsRedisClusterFailover(t *testing.T) {
	t.Parallel()
	client(t) // the same skip rule as the other tests
	c := scenario.StartRedisCluster(t)
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs(), DialTimeout: time.Second})
	t.Cleanup(func() { rdb.Close() })
	scenario.FaultsUnderLoad(t, redisstore.New(rdb, redisstore.Options{Replicas: 1}), scenario.Fault{
		Inject: func(t testing.TB) {
			t.Logf("a master was down for %v", c.Failover(t).Round(time.Millisecond))
		},
		Close: func() { rdb.Close() },
	})
}
