package cookiestore_test

import (
	"fmt"
	"time"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/store/cookiestore"
)

// Sessions in the client, everything else (identities, one-time marks,
// the refresh lock) in the wrapped store: one line of Config. This app
// runs as one instance, so the memory store serves as the inner store;
// with several instances, wrap a store they share
// (redisstore.New(client), pgstore.New(pool)).
func ExampleNew() {
	keys := []oauthlogin.CookieKey{oauthlogin.GenerateCookieKey()} // load yours from a secret store
	m, err := oauthlogin.New(oauthlogin.Config{
		BaseURL:  "https://app.example.com",
		Keys:     oauthlogin.Keys{Cookie: keys},
		Store:    cookiestore.New(oauthlogin.NewMemoryStore(), keys...), // one instance only
		Sessions: oauthlogin.SessionOptions{Lifetime: time.Hour},        // a copied cookie lives until then
	})
	fmt.Println(m != nil, err)
	// Output: true <nil>
}
