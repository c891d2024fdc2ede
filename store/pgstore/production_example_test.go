package pgstore_test

import (
	"context"
	"log"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/store/pgstore"
)

// A pool for production: bounded, with connections replaced over time but
// not all at once, and dials bounded by connect_timeout. pgx ends a query
// whose context ends and waits for a free connection only as long as the
// context allows, so Config.StoreTimeout bounds every store call. Each
// held refresh lock keeps a connection: MaxConns covers the refreshes in
// flight as well as the queries.
func ExampleNew_production() {
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig("postgres://app@db.internal/app?sslmode=verify-full&connect_timeout=5")
	if err != nil {
		log.Fatal(err)
	}
	cfg.MaxConns = 20
	cfg.MinConns = 2
	cfg.MaxConnLifetime = time.Hour
	cfg.MaxConnLifetimeJitter = 10 * time.Minute
	cfg.MaxConnIdleTime = 5 * time.Minute
	cfg.HealthCheckPeriod = 30 * time.Second
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()

	keys, err := oauthlogin.CookieKeysFromEnv("COOKIE_KEYS")
	if err != nil {
		log.Fatal(err)
	}
	m, err := oauthlogin.New(oauthlogin.Config{
		BaseURL:      "https://app.example.com",
		Keys:         oauthlogin.Keys{Cookie: keys},
		Store:        pgstore.New(pool),
		StoreTimeout: 5 * time.Second, // the default
	})
	if err != nil {
		log.Fatal(err)
	}
	_ = m // Migrate, Check and mount m.Handler() as in ExampleNew
}
