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
