package cookiestore_test

import (
	"fmt"
	"time"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/store/cookiestore"
)

// Sessions in the client, everything else (identities, one-time marks,
// the refresh lock) in the wrapped store: one line of Config. With several
// instances, wrap a store they share (redisstore.New(client), ...).
func ExampleNew() {
	keys := []oauthlogin.CookieKey{oauthlogin.GenerateCookieKey()} // load yours from a secret store
	m, err := oauthlogin.New(oauthlogin.Config{
		BaseURL:  "https://app.example.com",
		Keys:     oauthlogin.Keys{Cookie: keys},
		Store:    cookiestore.New(oauthlogin.NewMemoryStore(), keys...),
		Sessions: oauthlogin.SessionOptions{Lifetime: time.Hour}, // a copied cookie lives until then
	})
	fmt.Println(m != nil, err)
	// Output: true <nil>
}
