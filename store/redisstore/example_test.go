package redisstore_test

import (
	"log"

	"github.com/redis/go-redis/v9"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/store/redisstore"
)

// One line of Config shares sessions, identities, one-time marks and the
// refresh lock across every instance of the app.
func ExampleNew() {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	m, err := oauthlogin.New(oauthlogin.Config{
		BaseURL: "https://app.example.com",
		Keys:    oauthlogin.Keys{Cookie: []oauthlogin.CookieKey{oauthlogin.GenerateCookieKey()}}, // load yours with oauthlogin.CookieKeysFromEnv
		Store:   redisstore.New(rdb),
	})
	if err != nil {
		log.Fatal(err)
	}
	_ = m // mount m.Handler() at /auth/
}

// A Redis Cluster is the same store: give New a cluster client. No key
// needs a hash tag; with Replicas, each write waits until a replica has
// it, so a failover loses nothing the store acknowledged.
func ExampleNew_cluster() {
	rdb := redis.NewClusterClient(&redis.ClusterOptions{
		Addrs:                 []string{"10.0.0.1:6379", "10.0.0.2:6379", "10.0.0.3:6379"},
		ContextTimeoutEnabled: true,
	})
	m, err := oauthlogin.New(oauthlogin.Config{
		BaseURL: "https://app.example.com",
		Keys:    oauthlogin.Keys{Cookie: []oauthlogin.CookieKey{oauthlogin.GenerateCookieKey()}}, // load yours with oauthlogin.CookieKeysFromEnv
		Store:   redisstore.New(rdb, redisstore.Options{Replicas: 1}),
	})
	if err != nil {
		log.Fatal(err)
	}
	_ = m // mount m.Handler() at /auth/
}
