package sqlitestore_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/store/internal/scenario"
	"github.com/oauthlogin/oauthlogin/store/internal/sqltest"
	"github.com/oauthlogin/oauthlogin/store/sqlitestore"
	"github.com/oauthlogin/oauthlogin/store/sqlstore"
	"github.com/oauthlogin/oauthlogin/store/storetest"
	_ "modernc.org/sqlite"
)

// newSQLite returns a migrated Store on a new database file in a temp dir.
func newSQLite(t testing.TB) (*sqlitestore.Store, *sql.DB) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "test.db")+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s := sqlitestore.New(db)
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s, db
}

func TestSQLiteConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store { s, _ := newSQLite(t); return s })
}

func TestSQLiteLocker(t *testing.T) {
	storetest.Locker(t, func(t *testing.T) storetest.Store { s, _ := newSQLite(t); return s })
}

func TestMigrate(t *testing.T) {
	t.Run("SQLite", func(t *testing.T) {
		db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "test.db")+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		sqltest.MigrateConcurrently(t, func() *sqlstore.Store { return sqlitestore.New(db) })
		sqltest.MigrateConcurrently(t, func() *sqlstore.Store { return sqlitestore.New(db) })
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM oauthlogin_schema_migrations`).Scan(&n); err != nil || n != sqlstore.SchemaVersion {
			t.Fatalf("%d migrations recorded (%v), want %d", n, err, sqlstore.SchemaVersion)
		}
	})
}

// Tables created by version 1 of the schema gain the login facts'
// columns and the sid index at the next Migrate; their rows read with
// empty facts.
func TestSQLiteUpgradeFromV1(t *testing.T) {
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "test.db")+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sqltest.UpgradeFromV1(t, sqlitestore.New(db),
		func(q string, args ...any) error { _, err := db.Exec(q, args...); return err },
		func(name string) string { return `"` + name + `"` }, true, nil)
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'oauthlogin_sessions_provider_sid'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("the sid index after the upgrade: %d, %v", n, err)
	}
}

// A schema of version 2 migrates to version 3 (a no-op on SQLite, which
// had the lock table), and a lock held before the upgrade stays held.
func TestSQLiteUpgradeFromV2(t *testing.T) {
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "test.db")+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sqltest.UpgradeFromV2(t, sqlitestore.New(db),
		func(q string, args ...any) error { _, err := db.Exec(q, args...); return err },
		func(name string) string { return `"` + name + `"` }, true)
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM oauthlogin_schema_migrations`).Scan(&n); err != nil || n != 3 {
		t.Fatalf("%d migrations recorded after the upgrade from version 2 (%v), want 3", n, err)
	}
}

func TestPurge(t *testing.T) {
	t.Run("SQLite", func(t *testing.T) {
		s, db := newSQLite(t)
		sqltest.Purge(t, s,
			func(q string, args ...any) error { _, err := db.Exec(q, args...); return err },
			func(name string) string { return `"` + name + `"` })
	})
}

func TestSQLiteEncryptedAtRest(t *testing.T) {
	s, db := newSQLite(t)
	scenario.EncryptedAtRest(t, s, func(t *testing.T) []byte {
		return sqltest.DumpRows(t, func(q string) ([][]any, error) {
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
		}, sqltest.Tables)
	})
}

// SQLite serves several instances only on one host (one file); the
// scenario still shows that its Locker and atomic writes hold.
func TestSQLiteSeveralInstances(t *testing.T) {
	s, _ := newSQLite(t)
	scenario.SeveralInstances(t, s)
}

func BenchmarkSQLiteSession(b *testing.B) {
	s, _ := newSQLite(b)
	sqltest.BenchSession(b, s)
}

func BenchmarkSQLiteSaveSession(b *testing.B) {
	s, _ := newSQLite(b)
	sqltest.BenchSaveSession(b, s)
}

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

// DeleteProviderSessions finds the sessions through the partial index on
// (provider, provider_sid), not by scanning the table: the query says
// provider_sid is not empty, so that SQLite may use an index with that
// WHERE.
func TestSQLiteProviderSessionsUseIndex(t *testing.T) {
	_, db := newSQLite(t)
	rows, err := db.Query(`EXPLAIN QUERY PLAN DELETE FROM oauthlogin_sessions WHERE provider = ?1 AND provider_sid = ?2 AND provider_sid <> ''`, "idp", "sid")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if len(plan) == 0 || !strings.Contains(strings.Join(plan, "; "), "oauthlogin_sessions_provider_sid") {
		t.Fatalf("query plan %q does not use the sid index", plan)
	}
}
