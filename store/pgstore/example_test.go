package pgstore_test

import (
	"context"
	"log"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/store/pgstore"
)

// One line of Config shares sessions, identities, one-time marks and the
// refresh lock across every instance of the app. Migrate once at start-up
// (from any instance: it takes an advisory lock), and Purge expired rows
// now and then.
func ExampleNew() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, "postgres://app@db.internal/app")
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()

	st := pgstore.New(pool, pgstore.Options{Schema: "auth"}) // or pgstore.New(pool): the search_path
	if err := st.Migrate(ctx); err != nil {
		log.Fatal(err)
	}
	go func() {
		for range time.Tick(time.Hour) {
			if _, err := st.Purge(ctx); err != nil {
				log.Print(err)
			}
		}
	}()

	keys, err := oauthlogin.CookieKeysFromEnv("COOKIE_KEYS")
	if err != nil {
		log.Fatal(err)
	}
	m, err := oauthlogin.New(oauthlogin.Config{
		BaseURL: "https://app.example.com",
		Keys:    oauthlogin.Keys{Cookie: keys},
		Store:   st,
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := m.Check(ctx); err != nil {
		log.Fatal(err)
	}
	_ = m // mount m.Handler() at /auth/
}
