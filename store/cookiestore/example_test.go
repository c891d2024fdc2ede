package cookiestore_test

import (
	"fmt"
	"time"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/store/cookiestore"
)

// Sessions in the client, everything else (identities, one-time marks,
// the refresh lock) in the wrapped store: one line of Config. Wrap a store
// every instance shares, so that single-use marks and refreshes hold
// across them: redisstore.New(rdb), pgstore.New(pool) or
// sqlitestore.New(db). NewMemoryStore, here, serves one instance only.
func ExampleNew() {
	keys := []oauthlogin.CookieKey{oauthlogin.GenerateCookieKey()} // load yours with oauthlogin.CookieKeysFromEnv
	var shared oauthlogin.Store = oauthlogin.NewMemoryStore()      // in production: redisstore.New(rdb), ...
	m, err := oauthlogin.New(oauthlogin.Config{
		BaseURL:  "https://app.example.com",
		Keys:     oauthlogin.Keys{Cookie: keys},
		Store:    cookiestore.New(shared, keys...),
		Sessions: oauthlogin.SessionOptions{Lifetime: time.Hour}, // a copied cookie lives until then
	})
	fmt.Println(m != nil, err)
	// Output: true <nil>
}
