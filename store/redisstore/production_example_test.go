package redisstore_test

import (
	"log"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/store/redisstore"
)

// A client for production: ContextTimeoutEnabled makes go-redis honour the
// call's deadline (Config.StoreTimeout) on socket reads and writes, which
// it otherwise runs under a background context; the pool is bounded
// (PoolSize turns, waited for up to PoolTimeout; MaxActiveConns as the hard
// cap on connections); and go-redis's retries after a network error pause
// for a random time between MinRetryBackoff and MaxRetryBackoff, so
// clients that lost the server together do not retry together.
// redis.ClusterOptions and redis.FailoverOptions have the same fields.
func ExampleNew_production() {
	rdb := redis.NewClient(&redis.Options{
		Addr:                  "redis.internal:6379",
		ContextTimeoutEnabled: true,
		PoolSize:              50,
		PoolTimeout:           2 * time.Second,
		MaxActiveConns:        60,
		DialTimeout:           2 * time.Second,
		ReadTimeout:           2 * time.Second,
		WriteTimeout:          2 * time.Second,
		MaxRetries:            2,
		MinRetryBackoff:       10 * time.Millisecond,
		MaxRetryBackoff:       500 * time.Millisecond,
	})
	m, err := oauthlogin.New(oauthlogin.Config{
		BaseURL:      "https://app.example.com",
		Keys:         oauthlogin.Keys{Cookie: []oauthlogin.CookieKey{oauthlogin.GenerateCookieKey()}}, // load yours with oauthlogin.CookieKeysFromEnv
		Store:        redisstore.New(rdb),
		StoreTimeout: 5 * time.Second, // the default
	})
	if err != nil {
		log.Fatal(err)
	}
	_ = m // mount m.Handler() at /auth/
}
