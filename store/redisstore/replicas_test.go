package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/store/redisstore"
	"github.com/oauthlogin/oauthlogin/store/storetest"
	"github.com/redis/go-redis/v9"
)

// With Options.Replicas, a write is reported done only once that many
// replicas have it: with none to confirm, every write fails as the store
// being unavailable, and nothing is acknowledged.
func TestReplicasUnconfirmed(t *testing.T) {
	rdb := client(t) // a server without replicas
	s := redisstore.New(rdb, redisstore.Options{Prefix: "oauthlogintest:unconfirmed:", Replicas: 1, ReplicaTimeout: 20 * time.Millisecond})
	ctx := context.Background()
	now := time.Now()
	v := &oauthlogin.Session{ID: "s", UserID: "u", Created: now, LastSeen: now, Expires: now.Add(time.Hour)}
	t.Cleanup(func() {
		rdb.Del(ctx, "oauthlogintest:unconfirmed:s:s", "oauthlogintest:unconfirmed:us:u", "oauthlogintest:unconfirmed:o:k")
	})
	for name, err := range map[string]error{
		"SaveSession": s.SaveSession(ctx, v),
		"Consume":     s.Consume(ctx, "k", now.Add(time.Minute)),
	} {
		if !errors.Is(err, oauthlogin.ErrStoreUnavailable) {
			t.Errorf("%s with no replica to confirm = %v, want ErrStoreUnavailable", name, err)
		}
	}
	if _, err := s.Session(ctx, "s"); err != nil {
		t.Fatalf("reads do not wait for replicas: Session = %v", err)
	}
}

// startRedis runs a private redis-server with args on a free port until
// t ends, and returns its address.
func startRedis(t *testing.T, args ...string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command("redis-server", append([]string{"--bind", "127.0.0.1", "--port", port, "--save", "", "--dir", t.TempDir()}, args...)...)
	if err := cmd.Start(); err != nil {
		t.Skipf("redis-server: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return addr
}

// A primary with one replica, writes waiting for it: every contract holds.
func TestReplicasConfirmed(t *testing.T) {
	client(t) // the same skip rule as the other tests
	primary := startRedis(t, "--repl-diskless-sync-delay", "0")
	host, port, _ := net.SplitHostPort(primary)
	replica := startRedis(t, "--replicaof", host, port)
	rdb := redis.NewClient(&redis.Options{Addr: primary})
	t.Cleanup(func() { rdb.Close() })
	ctx := context.Background()
	rep := redis.NewClient(&redis.Options{Addr: replica})
	t.Cleanup(func() { rep.Close() })
	for i := 0; ; i++ {
		info, _ := rep.Info(ctx, "replication").Result()
		if strings.Contains(info, "master_link_status:up") {
			break
		}
		if i == 500 {
			t.Fatalf("the replica did not connect: %s", info)
		}
		time.Sleep(10 * time.Millisecond)
	}
	n := 0
	storetest.Run(t, func(t *testing.T) storetest.Store {
		n++
		return redisstore.New(rdb, redisstore.Options{Prefix: fmt.Sprintf("t%d:", n), Replicas: 1})
	})
}
