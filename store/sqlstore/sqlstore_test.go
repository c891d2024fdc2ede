package sqlstore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/store/internal/scenario"
	"github.com/oauthlogin/oauthlogin/store/sqlstore"
	"github.com/oauthlogin/oauthlogin/store/storetest"
	_ "modernc.org/sqlite"
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
func newPostgres(t testing.TB, p *pgxpool.Pool) (*sqlstore.Store, string) {
	t.Helper()
	var b [6]byte
	rand.Read(b[:])
	schema := "oauthlogintest_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		p.Exec(context.Background(), `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`)
	})
	s := sqlstore.NewPostgres(p, sqlstore.Options{Schema: schema})
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s, schema
}

// newSQLite returns a migrated Store on a new database file in a temp dir.
func newSQLite(t testing.TB) (*sqlstore.Store, *sql.DB) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "test.db")+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s := sqlstore.NewSQLite(db)
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s, db
}

func TestPostgresConformance(t *testing.T) {
	p := pool(t)
	storetest.Run(t, func(t *testing.T) storetest.Store { s, _ := newPostgres(t, p); return s })
}

func TestPostgresLocker(t *testing.T) {
	p := pool(t)
	storetest.Locker(t, func(t *testing.T) storetest.Store { s, _ := newPostgres(t, p); return s })
}

func TestSQLiteConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store { s, _ := newSQLite(t); return s })
}

func TestSQLiteLocker(t *testing.T) {
	storetest.Locker(t, func(t *testing.T) storetest.Store { s, _ := newSQLite(t); return s })
}

// The store's columns list Session's and Identity's fields by hand: a new
// field must get a column (and a migration), or it would be lost.
func TestColumnsCoverEveryField(t *testing.T) {
	if n := reflect.TypeFor[oauthlogin.Session]().NumField(); n != 12 {
		t.Errorf("oauthlogin.Session has %d fields, the sessions table 12 (and the pending column of old records): add a column and a migration", n)
	}
	if n := reflect.TypeFor[oauthlogin.Identity]().NumField(); n != 11 {
		t.Errorf("oauthlogin.Identity has %d fields, the identities table 11: add a column and a migration", n)
	}
}

// A pending token-mode record written before v1 (pending = true, under
// the hash of its secret like a session) is no session after the upgrade:
// the store reads it as missing, lists leave it out, and
// DeleteUserSessions removes it.
func TestOldPendingRowIsNoSession(t *testing.T) {
	s, db := newSQLite(t)
	ctx := context.Background()
	now := time.Now()
	if _, err := db.ExecContext(ctx, `INSERT INTO oauthlogin_sessions (id, user_id, identity_id, provider, provider_uid,
		provider_access_token_expiry, provider_tokens, created, last_seen, pending, expires, ip, user_agent)
		VALUES ('hash-of-secret', 'u', 'i', 'p', 'sub', 0, NULL, ?, ?, 1, ?, '', '')`,
		now.UnixMicro(), now.UnixMicro(), now.Add(5*time.Minute).UnixMicro()); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Session(ctx, "hash-of-secret"); !errors.Is(err, oauthlogin.ErrNotFound) {
		t.Fatalf("an old pending row read as %+v, %v; want ErrNotFound", got, err)
	}
	if list, err := s.UserSessions(ctx, "u"); err != nil || len(list) != 0 {
		t.Fatalf("UserSessions with an old pending row = %d, %v; want none", len(list), err)
	}
	if err := s.DeleteUserSessions(ctx, "u"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM oauthlogin_sessions`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("rows after DeleteUserSessions = %d, %v; want 0", n, err)
	}
}

func TestMigrate(t *testing.T) {
	ctx := context.Background()
	// concurrently runs Migrate on four stores at once.
	concurrently := func(t *testing.T, newStore func() *sqlstore.Store) {
		t.Helper()
		errs := make(chan error, 4)
		for range 4 {
			s := newStore()
			go func() { errs <- s.Migrate(ctx) }()
		}
		for range 4 {
			if err := <-errs; err != nil {
				t.Fatalf("concurrent migrations: %v", err)
			}
		}
	}
	t.Run("Postgres", func(t *testing.T) {
		p := pool(t)
		var b [6]byte
		rand.Read(b[:])
		schema := "oauthlogintest_" + hex.EncodeToString(b[:])
		t.Cleanup(func() { p.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`) })
		// A fresh schema migrated by several instances at once, then again.
		concurrently(t, func() *sqlstore.Store { return sqlstore.NewPostgres(p, sqlstore.Options{Schema: schema}) })
		concurrently(t, func() *sqlstore.Store { return sqlstore.NewPostgres(p, sqlstore.Options{Schema: schema}) })
		var n int
		if err := p.QueryRow(ctx, `SELECT count(*) FROM `+pgx.Identifier{schema, "oauthlogin_schema_migrations"}.Sanitize()).Scan(&n); err != nil || n != sqlstore.SchemaVersion {
			t.Fatalf("%d migrations recorded (%v), want %d", n, err, sqlstore.SchemaVersion)
		}
		// A schema newer than the package: refused.
		if _, err := p.Exec(ctx, `INSERT INTO `+pgx.Identifier{schema, "oauthlogin_schema_migrations"}.Sanitize()+` VALUES (99, 0)`); err != nil {
			t.Fatal(err)
		}
		if err := sqlstore.NewPostgres(p, sqlstore.Options{Schema: schema}).Migrate(ctx); err == nil {
			t.Fatal("Migrate accepted a schema from a newer version")
		}
	})
	t.Run("SQLite", func(t *testing.T) {
		db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "test.db")+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		concurrently(t, func() *sqlstore.Store { return sqlstore.NewSQLite(db) })
		concurrently(t, func() *sqlstore.Store { return sqlstore.NewSQLite(db) })
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM oauthlogin_schema_migrations`).Scan(&n); err != nil || n != sqlstore.SchemaVersion {
			t.Fatalf("%d migrations recorded (%v), want %d", n, err, sqlstore.SchemaVersion)
		}
	})
}

func TestPurge(t *testing.T) {
	run := func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		now := time.Now()
		for i, exp := range []time.Time{now.Add(-time.Minute), now.Add(time.Hour)} {
			v := &oauthlogin.Session{ID: fmt.Sprint("s", i), UserID: "u", Created: now, LastSeen: now, Expires: exp}
			if err := s.SaveSession(ctx, v); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Consume(ctx, "old", now.Add(-time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := s.Consume(ctx, "new", now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if n, err := s.Purge(ctx); err != nil || n != 2 {
			t.Fatalf("Purge = %d, %v; want 2 rows", n, err)
		}
		if _, err := s.Session(ctx, "s1"); err != nil {
			t.Fatalf("a live session was purged: %v", err)
		}
		if err := s.Consume(ctx, "new", now.Add(time.Minute)); err != oauthlogin.ErrAlreadyUsed {
			t.Fatalf("a live one-time key was purged: %v", err)
		}
		if n, err := s.Purge(ctx); err != nil || n != 0 {
			t.Fatalf("second Purge = %d, %v; want 0", n, err)
		}
	}
	t.Run("Postgres", func(t *testing.T) { s, _ := newPostgres(t, pool(t)); run(t, s) })
	t.Run("SQLite", func(t *testing.T) { s, _ := newSQLite(t); run(t, s) })
}

// dumpQuery reads every row of every table of the store, values as text
// or raw bytes.
func dumpRows(t *testing.T, query func(q string) ([][]any, error), tables []string) []byte {
	var buf bytes.Buffer
	for _, tbl := range tables {
		rows, err := query(`SELECT * FROM ` + tbl)
		if err != nil {
			t.Fatal(err)
		}
		for _, row := range rows {
			for _, v := range row {
				if b, ok := v.([]byte); ok {
					buf.Write(b)
				} else {
					fmt.Fprint(&buf, v)
				}
				buf.WriteByte('|')
			}
			buf.WriteByte('\n')
		}
	}
	return buf.Bytes()
}

var tables = []string{"oauthlogin_sessions", "oauthlogin_identities", "oauthlogin_one_time"}

func TestPostgresEncryptedAtRest(t *testing.T) {
	p := pool(t)
	s, schema := newPostgres(t, p)
	scenario.EncryptedAtRest(t, s, func(t *testing.T) []byte {
		var qualified []string
		for _, tbl := range tables {
			qualified = append(qualified, pgx.Identifier{schema, tbl}.Sanitize())
		}
		return dumpRows(t, func(q string) ([][]any, error) {
			rows, err := p.Query(context.Background(), q)
			if err != nil {
				return nil, err
			}
			return pgx.CollectRows(rows, func(r pgx.CollectableRow) ([]any, error) { return r.Values() })
		}, qualified)
	})
}

func TestSQLiteEncryptedAtRest(t *testing.T) {
	s, db := newSQLite(t)
	scenario.EncryptedAtRest(t, s, func(t *testing.T) []byte {
		return dumpRows(t, func(q string) ([][]any, error) {
			rows, err := db.Query(q)
			if err != nil {
				return nil, err
			}
			defer rows.Close()
			cols, _ := rows.Columns()
			var out [][]any
			for rows.Next() {
				vals := make([]any, len(cols))
				ptrs := make([]any, len(cols))
				for i := range vals {
					ptrs[i] = &vals[i]
				}
				if err := rows.Scan(ptrs...); err != nil {
					return nil, err
				}
				out = append(out, vals)
			}
			return out, rows.Err()
		}, tables)
	})
}

func TestPostgresSeveralInstances(t *testing.T) {
	s, _ := newPostgres(t, pool(t))
	scenario.SeveralInstances(t, s)
}

// SQLite serves several instances only on one host (one file); the
// scenario still shows that its Locker and atomic writes hold.
func TestSQLiteSeveralInstances(t *testing.T) {
	s, _ := newSQLite(t)
	scenario.SeveralInstances(t, s)
}

// The PostgreSQL server crashes mid-run (an immediate shutdown) and comes
// back on the same port: requests fail cleanly meanwhile, then everything
// that was acknowledged is there.
func TestPostgresOutage(t *testing.T) {
	pool(t) // the same skip rule as the other tests
	srv := scenario.StartPostgres(t)
	p := connect(t, srv.URL)
	s := sqlstore.NewPostgres(p)
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	scenario.Outage(t, s, srv)
}

// A lock outlives neither its ttl nor its connection: after the ttl the
// store has closed the connection, and the pool has one fewer in use.
func TestPostgresLockReleasesConnection(t *testing.T) {
	p := pool(t)
	s, _ := newPostgres(t, p)
	ctx := context.Background()
	before := p.Stat().AcquiredConns()
	unlock, err := s.Lock(ctx, "k", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Stat().AcquiredConns(); got != before+1 {
		t.Fatalf("a held lock holds %d connections, want 1", got-before)
	}
	if err := unlock(ctx); err != nil {
		t.Fatal(err)
	}
	if got := p.Stat().AcquiredConns(); got != before {
		t.Fatalf("after unlock %d connections are still held", got-before)
	}
	if _, err := s.Lock(ctx, "k", 30*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for p.Stat().AcquiredConns() != before {
		if time.Now().After(deadline) {
			t.Fatal("the connection of an expired lock was never given back")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func benchSession(now time.Time) *oauthlogin.Session {
	return &oauthlogin.Session{ID: "bench", UserID: "u", IdentityID: "i", Provider: "test", ProviderUID: "sub",
		ProviderTokens: make([]byte, 200), Created: now, LastSeen: now, Expires: now.Add(time.Hour), IP: "127.0.0.1", UserAgent: "bench"}
}

func benchGet(b *testing.B, s *sqlstore.Store) {
	ctx := context.Background()
	if err := s.SaveSession(ctx, benchSession(time.Now())); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Session(ctx, "bench"); err != nil {
			b.Fatal(err)
		}
	}
}

func benchSave(b *testing.B, s *sqlstore.Store) {
	ctx := context.Background()
	v := benchSession(time.Now())
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		v.ID = fmt.Sprint("bench", i)
		i++
		if err := s.SaveSession(ctx, v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPostgresSession(b *testing.B) {
	s, _ := newPostgres(b, pool(b))
	benchGet(b, s)
}

func BenchmarkPostgresSaveSession(b *testing.B) {
	s, _ := newPostgres(b, pool(b))
	benchSave(b, s)
}

func BenchmarkSQLiteSession(b *testing.B) {
	s, _ := newSQLite(b)
	benchGet(b, s)
}

func BenchmarkSQLiteSaveSession(b *testing.B) {
	s, _ := newSQLite(b)
	benchSave(b, s)
}
