package redisstore_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/store/redisstore"
)

// A dead Redis is found by Manager.Check at start, named, as
// ErrStoreUnavailable; New alone does no I/O and accepts it. Needs no
// server: the port is one just closed.
func TestCheckDeadRedis(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	m, err := oauthlogin.New(oauthlogin.Config{BaseURL: "http://localhost:8080", Keys: oauthlogin.Keys{Cookie: []oauthlogin.CookieKey{oauthlogin.GenerateCookieKey()}},
		Store: redisstore.New(rdb)})
	if err != nil {
		t.Fatalf("New with a dead Redis: %v (New does no I/O)", err)
	}
	err = m.Check(context.Background())
	if !errors.Is(err, oauthlogin.ErrStoreUnavailable) || !strings.Contains(err.Error(), "*redisstore.Store") {
		t.Fatalf("Check = %v, want ErrStoreUnavailable naming *redisstore.Store", err)
	}
}
