package pgstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/oauthlogin/oauthlogin/store/internal/scenario"
	"github.com/oauthlogin/oauthlogin/store/internal/sqltest"
	"github.com/oauthlogin/oauthlogin/store/pgstore"
	"github.com/oauthlogin/oauthlogin/store/sqlstore"
	"github.com/oauthlogin/oauthlogin/store/storetest"
)

// pool connects to the database named by OAUTHLOGIN_TEST_POSTGRES (a
// connection URL); without it the test is skipped, or fails when CI is set.
func pool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	url := scenario.Env(t, "OAUTHLOGIN_TEST_POSTGRES", "PostgreSQL")
	return connect(t, url)
}

func connect(t testing.TB, url string) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 8
	p, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	if err := p.Ping(context.Background()); err != nil {
		t.Fatalf("PostgreSQL at %s: %v", url, err)
	}
	return p
}

// newPostgres returns a migrated Store in a schema of its own, dropped
// when t ends.
func newPostgres(t testing.TB, p *pgxpool.Pool) (*pgstore.Store, string) {
	t.Helper()
	var b [6]byte
	rand.Read(b[:])
	schema := "oauthlogintest_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		p.Exec(context.Background(), `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`)
	})
	s := pgstore.New(p, pgstore.Options{Schema: schema})
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s, schema
}

func TestPostgresConformance(t *testing.T) {
	p := pool(t)
	storetest.Run(t, func(t *testing.T) storetest.Store { s, _ := newPostgres(t, p); return s })
}

func TestPostgresLocker(t *testing.T) {
	p := pool(t)
	storetest.Locker(t, func(t *testing.T) storetest.Store { s, _ := newPostgres(t, p); return s })
}

func TestMigrate(t *testing.T) {
	ctx := context.Background()
	t.Run("Postgres", func(t *testing.T) {
		p := pool(t)
		var b [6]byte
		rand.Read(b[:])
		schema := "oauthlogintest_" + hex.EncodeToString(b[:])
		t.Cleanup(func() { p.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`) })
		// A fresh schema migrated by several instances at once, then again.
		sqltest.MigrateConcurrently(t, func() *sqlstore.Store { return pgstore.New(p, pgstore.Options{Schema: schema}) })
		sqltest.MigrateConcurrently(t, func() *sqlstore.Store { return pgstore.New(p, pgstore.Options{Schema: schema}) })
		var n int
		if err := p.QueryRow(ctx, `SELECT count(*) FROM `+pgx.Identifier{schema, "oauthlogin_schema_migrations"}.Sanitize()).Scan(&n); err != nil || n != sqlstore.SchemaVersion {
			t.Fatalf("%d migrations recorded (%v), want %d", n, err, sqlstore.SchemaVersion)
		}
		// A schema newer than the package: refused.
		if _, err := p.Exec(ctx, `INSERT INTO `+pgx.Identifier{schema, "oauthlogin_schema_migrations"}.Sanitize()+` VALUES (99, 0)`); err != nil {
			t.Fatal(err)
		}
		if err := pgstore.New(p, pgstore.Options{Schema: schema}).Migrate(ctx); err == nil {
			t.Fatal("Migrate accepted a schema from a newer version")
		}
	})
}

// Tables created by version 1 of the schema gain the login facts'
// columns and the sid index at the next Migrate; their rows read with
// empty facts.
func TestPostgresUpgradeFromV1(t *testing.T) {
	p := pool(t)
	ctx := context.Background()
	var b [6]byte
	rand.Read(b[:])
	schema := "oauthlogintest_" + hex.EncodeToString(b[:])
	t.Cleanup(func() { p.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`) })
	if _, err := p.Exec(ctx, `CREATE SCHEMA `+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	sqltest.UpgradeFromV1(t, pgstore.New(p, pgstore.Options{Schema: schema}),
		func(q string, args ...any) error { _, err := p.Exec(ctx, q, args...); return err },
		func(name string) string { return pgx.Identifier{schema, name}.Sanitize() }, false, nil)
	var n int
	if err := p.QueryRow(ctx, `SELECT count(*) FROM pg_indexes WHERE schemaname = $1 AND indexname = 'oauthlogin_sessions_provider_sid'`, schema).Scan(&n); err != nil || n != 1 {
		t.Fatalf("the sid index after the upgrade: %d, %v", n, err)
	}
}

// store/README.md's advice for a large table: the operator adds migration
// 2's columns and builds its index concurrently (outside a transaction)
// before Migrate, which then skips them.
func TestPostgresUpgradePrepared(t *testing.T) {
	p := pool(t)
	ctx := context.Background()
	var b [6]byte
	rand.Read(b[:])
	schema := "oauthlogintest_" + hex.EncodeToString(b[:])
	t.Cleanup(func() { p.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`) })
	if _, err := p.Exec(ctx, `CREATE SCHEMA `+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	sessions := pgx.Identifier{schema, "oauthlogin_sessions"}.Sanitize()
	sqltest.UpgradeFromV1(t, pgstore.New(p, pgstore.Options{Schema: schema}),
		func(q string, args ...any) error { _, err := p.Exec(ctx, q, args...); return err },
		func(name string) string { return pgx.Identifier{schema, name}.Sanitize() }, false,
		func() {
			for _, q := range []string{
				`ALTER TABLE ` + sessions + ` ADD COLUMN IF NOT EXISTS provider_sid TEXT NOT NULL DEFAULT ''`,
				`ALTER TABLE ` + sessions + ` ADD COLUMN IF NOT EXISTS auth_time BIGINT NOT NULL DEFAULT 0`,
				`ALTER TABLE ` + sessions + ` ADD COLUMN IF NOT EXISTS acr TEXT NOT NULL DEFAULT ''`,
				`CREATE INDEX CONCURRENTLY IF NOT EXISTS oauthlogin_sessions_provider_sid ON ` + sessions + ` (provider, provider_sid) WHERE provider_sid <> ''`,
			} {
				if _, err := p.Exec(ctx, q); err != nil {
					t.Fatal(err)
				}
			}
		})
}

// A schema of version 2 gains the lock table at the next Migrate, and
// Lock (lease rows since version 3) works on it.
func TestPostgresUpgradeFromV2(t *testing.T) {
	p := pool(t)
	ctx := context.Background()
	var b [6]byte
	rand.Read(b[:])
	schema := "oauthlogintest_" + hex.EncodeToString(b[:])
	t.Cleanup(func() { p.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`) })
	if _, err := p.Exec(ctx, `CREATE SCHEMA `+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	sqltest.UpgradeFromV2(t, pgstore.New(p, pgstore.Options{Schema: schema}),
		func(q string, args ...any) error { _, err := p.Exec(ctx, q, args...); return err },
		func(name string) string { return pgx.Identifier{schema, name}.Sanitize() }, false)
	var n int
	if err := p.QueryRow(ctx, `SELECT count(*) FROM `+pgx.Identifier{schema, "oauthlogin_schema_migrations"}.Sanitize()).Scan(&n); err != nil || n != 3 {
		t.Fatalf("%d migrations recorded after the upgrade from version 2 (%v), want 3", n, err)
	}
}

func TestPurge(t *testing.T) {
	t.Run("Postgres", func(t *testing.T) {
		p := pool(t)
		s, schema := newPostgres(t, p)
		sqltest.Purge(t, s,
			func(q string, args ...any) error { _, err := p.Exec(context.Background(), q, args...); return err },
			func(name string) string { return pgx.Identifier{schema, name}.Sanitize() })
	})
}

func TestPostgresEncryptedAtRest(t *testing.T) {
	p := pool(t)
	s, schema := newPostgres(t, p)
	scenario.EncryptedAtRest(t, s, func(t *testing.T) []byte {
		var qualified []string
		for _, tbl := range sqltest.Tables {
			qualified = append(qualified, pgx.Identifier{schema, tbl}.Sanitize())
		}
		return sqltest.DumpRows(t, func(q string) ([][]any, error) {
			rows, err := p.Query(context.Background(), q)
			if err != nil {
				return nil, err
			}
			return pgx.CollectRows(rows, func(r pgx.CollectableRow) ([]any, error) { return r.Values() })
		}, qualified)
	})
}

func TestPostgresSeveralInstances(t *testing.T) {
	s, _ := newPostgres(t, pool(t))
	scenario.SeveralInstances(t, s)
}

// The PostgreSQL server crashes mid-run (an immediate shutdown) and comes
// back on the same port: requests fail cleanly meanwhile, then everything
// that was acknowledged is there.
func TestPostgresOutage(t *testing.T) {
	pool(t) // the same skip rule as the other tests
	srv := scenario.StartPostgres(t)
	p := connect(t, srv.URL)
	s := pgstore.New(p, pgstore.Options{})
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	scenario.Outage(t, s, srv)
}

// A held lock is a row, not a connection: the pool has every connection
// back while the lock is held, so a pool sized for the queries alone
// serves any number of refreshes in flight.
func TestPostgresLockHoldsNoConnection(t *testing.T) {
	p := pool(t)
	s, _ := newPostgres(t, p)
	ctx := context.Background()
	before := p.Stat().AcquiredConns()
	unlock, err := s.Lock(ctx, "k", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Stat().AcquiredConns(); got != before {
		t.Fatalf("a held lock holds %d connections, want none", got-before)
	}
	if err := unlock(ctx); err != nil {
		t.Fatal(err)
	}
}

// A lock outlives a restart of the PostgreSQL server (a crash: an
// immediate shutdown): while its holder still believes it holds it, no
// other instance takes it, so none sends the refresh token the holder is
// spending (RFC 9700 §4.14.2). A session-level advisory lock ended with
// the server's sessions. Once the server is back the holder's unlock
// frees it.
func TestPostgresLockSurvivesRestart(t *testing.T) {
	t.Parallel() // a private server
	pool(t)      // the same skip rule as the other tests
	srv := scenario.StartPostgres(t)
	ctx := context.Background()
	holder := pgstore.New(connect(t, srv.URL), pgstore.Options{})
	if err := holder.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	const key = "oauthlogin:refresh:https://idp.example\x00sub\x00id" // as the Manager names an identity's refresh
	unlock, err := holder.Lock(ctx, key, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	srv.Kill(t)
	srv.Start(t)

	other := pgstore.New(connect(t, srv.URL), pgstore.Options{}) // another instance, on connections made after the restart
	done, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := other.Lock(done, key, time.Minute); !errors.Is(err, context.Canceled) {
		t.Fatalf("a try-lock by another instance after the restart: %v, want context.Canceled (the lock still held)", err)
	}
	// The holder's pool may first hand out connections that died with
	// the server; each such attempt fails at once and the pool drops the
	// connection, so a few attempts reach the server.
	for i := 0; ; i++ {
		err := unlock(ctx)
		if err == nil {
			break
		}
		if i == 10 {
			t.Fatalf("unlock after the restart: %v", err)
		}
	}
	again, err := other.Lock(done, key, time.Minute)
	if err != nil {
		t.Fatalf("a try-lock after the holder unlocked: %v", err)
	}
	again(ctx)
}

func BenchmarkPostgresSession(b *testing.B) {
	s, _ := newPostgres(b, pool(b))
	sqltest.BenchSession(b, s)
}

func BenchmarkPostgresSaveSession(b *testing.B) {
	s, _ := newPostgres(b, pool(b))
	sqltest.BenchSaveSession(b, s)
}
