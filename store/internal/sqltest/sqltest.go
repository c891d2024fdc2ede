// Package sqltest holds the tests that store/pgstore and store/sqlitestore
// run alike on the SQL core (store/sqlstore), each on its own database.
package sqltest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/store/sqlstore"
)

// Tables are the store's tables that hold sessions, identities and
// one-time keys, unqualified.
var Tables = []string{"oauthlogin_sessions", "oauthlogin_identities", "oauthlogin_one_time"}

// MigrateConcurrently runs Migrate on four stores from newStore at once
// and fails t if any of them fails.
func MigrateConcurrently(t *testing.T, newStore func() *sqlstore.Store) {
	t.Helper()
	ctx := context.Background()
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

// Purge checks that Purge removes the expired session, one-time key and
// lock row, and only those, of a migrated, empty store. exec runs a
// statement on the store's database, and table qualifies a table's name:
// the expired lock row is written through them (a lock taken through the
// store would need a wait to expire).
func Purge(t *testing.T, s *sqlstore.Store, exec func(q string, args ...any) error, table func(name string) string) {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	if err := exec(fmt.Sprintf(`INSERT INTO %s (name, token, expires) VALUES ('expired', 'gone', %d)`,
		table("oauthlogin_locks"), now.Add(-time.Minute).UnixMicro())); err != nil {
		t.Fatal(err)
	}
	unlock, err := s.Lock(ctx, "live", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock(ctx)
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
	if n, err := s.Purge(ctx); err != nil || n != 3 {
		t.Fatalf("Purge = %d, %v; want 3 rows (a session, a one-time key, a lock)", n, err)
	}
	if _, err := s.Session(ctx, "s1"); err != nil {
		t.Fatalf("a live session was purged: %v", err)
	}
	if err := s.Consume(ctx, "new", now.Add(time.Minute)); err != oauthlogin.ErrAlreadyUsed {
		t.Fatalf("a live one-time key was purged: %v", err)
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Lock(done, "live", time.Minute); !errors.Is(err, context.Canceled) {
		t.Fatalf("a live lock was purged: a try-lock on it = %v, want context.Canceled", err)
	}
	if n, err := s.Purge(ctx); err != nil || n != 0 {
		t.Fatalf("second Purge = %d, %v; want 0", n, err)
	}
	// A backlog of more than two of Purge's statements on SQLite (1000
	// rows each): every expired row goes, and the live session stays.
	const backlog = 2500
	if err := exec(fmt.Sprintf(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < %d)
		INSERT INTO %s (id, user_id, identity_id, provider, provider_uid, provider_access_token_expiry,
			created, last_seen, pending, expires, ip, user_agent)
		SELECT 'bulk-' || i, 'u', 'i', 'p', 's', 0, %d, %d, false, %d, '', '' FROM n`,
		backlog, table("oauthlogin_sessions"), now.UnixMicro(), now.UnixMicro(), now.Add(-time.Minute).UnixMicro())); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Purge(ctx); err != nil || n != backlog {
		t.Fatalf("Purge of a backlog = %d, %v; want %d", n, err, backlog)
	}
	if _, err := s.Session(ctx, "s1"); err != nil {
		t.Fatalf("a live session was purged with the backlog: %v", err)
	}
}

// DumpRows reads every row of every table through query, values as text
// or raw bytes.
func DumpRows(t *testing.T, query func(q string) ([][]any, error), tables []string) []byte {
	t.Helper()
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

func benchSession(now time.Time) *oauthlogin.Session {
	return &oauthlogin.Session{ID: "bench", UserID: "u", IdentityID: "i", Provider: "test", ProviderUID: "sub",
		ProviderTokens: make([]byte, 200), Created: now, LastSeen: now, Expires: now.Add(time.Hour), IP: "127.0.0.1", UserAgent: "bench"}
}

// BenchSession measures reading one session.
func BenchSession(b *testing.B, s *sqlstore.Store) {
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

// BenchSaveSession measures writing a new session.
func BenchSaveSession(b *testing.B, s *sqlstore.Store) {
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

// schemaV1 is the schema that version 1 of store/sqlstore created (its
// migration 1, as shipped), frozen here so that the upgrade from it is
// tested whatever later migrations do. {name} is a table's name as the
// caller qualifies it, {bytes} and {bool} the dialect's types.
var schemaV1 = []string{
	`CREATE TABLE {oauthlogin_sessions} (
		id TEXT PRIMARY KEY,
		user_id TEXT NOT NULL,
		identity_id TEXT NOT NULL,
		provider TEXT NOT NULL,
		provider_uid TEXT NOT NULL,
		provider_access_token_expiry BIGINT NOT NULL,
		provider_tokens {bytes},
		created BIGINT NOT NULL,
		last_seen BIGINT NOT NULL,
		pending {bool} NOT NULL,
		expires BIGINT NOT NULL,
		ip TEXT NOT NULL,
		user_agent TEXT NOT NULL
	)`,
	`CREATE INDEX oauthlogin_sessions_user ON {oauthlogin_sessions} (user_id, created)`,
	`CREATE INDEX oauthlogin_sessions_expires ON {oauthlogin_sessions} (expires)`,
	`CREATE TABLE {oauthlogin_identities} (
		id TEXT PRIMARY KEY,
		user_id TEXT NOT NULL,
		issuer TEXT NOT NULL,
		provider TEXT NOT NULL,
		subject TEXT NOT NULL,
		provider_email TEXT NOT NULL,
		verified_email TEXT NOT NULL,
		provider_access_token_expiry BIGINT NOT NULL,
		provider_tokens {bytes},
		created BIGINT NOT NULL,
		updated BIGINT NOT NULL,
		UNIQUE (issuer, subject)
	)`,
	`CREATE TABLE {oauthlogin_one_time} (key TEXT PRIMARY KEY, expires BIGINT NOT NULL)`,
	`CREATE TABLE {oauthlogin_schema_migrations} (version INTEGER PRIMARY KEY, applied BIGINT NOT NULL)`,
	`INSERT INTO {oauthlogin_schema_migrations} (version, applied) VALUES (1, 0)`,
}

// schemaV2 is what version 2 of store/sqlstore added to schemaV1 (its
// migration 2, as shipped), frozen likewise.
var schemaV2 = []string{
	`ALTER TABLE {oauthlogin_sessions} ADD COLUMN provider_sid TEXT NOT NULL DEFAULT ''`,
	`ALTER TABLE {oauthlogin_sessions} ADD COLUMN auth_time BIGINT NOT NULL DEFAULT 0`,
	`ALTER TABLE {oauthlogin_sessions} ADD COLUMN acr TEXT NOT NULL DEFAULT ''`,
	`CREATE INDEX oauthlogin_sessions_provider_sid ON {oauthlogin_sessions} (provider, provider_sid) WHERE provider_sid <> ''`,
	`INSERT INTO {oauthlogin_schema_migrations} (version, applied) VALUES (2, 0)`,
}

// createSchema creates the frozen schema of the given version (1 or 2)
// through exec, with SQLite's lock table, which version 1 created there
// (on PostgreSQL, Lock took advisory locks until version 3).
func createSchema(t *testing.T, version int, exec func(q string, args ...any) error, table func(name string) string, sqlite bool) {
	t.Helper()
	bytesType, boolType := "BYTEA", "BOOLEAN"
	if sqlite {
		bytesType, boolType = "BLOB", "INTEGER"
	}
	stmts := slices.Clone(schemaV1)
	if sqlite {
		stmts = append(stmts, `CREATE TABLE {oauthlogin_locks} (name TEXT PRIMARY KEY, token TEXT NOT NULL, expires BIGINT NOT NULL)`)
	}
	if version >= 2 {
		stmts = append(stmts, schemaV2...)
	}
	for _, q := range stmts {
		for _, tbl := range []string{"oauthlogin_sessions", "oauthlogin_identities", "oauthlogin_one_time", "oauthlogin_schema_migrations", "oauthlogin_locks"} {
			q = strings.ReplaceAll(q, "{"+tbl+"}", table(tbl))
		}
		q = strings.NewReplacer("{bytes}", bytesType, "{bool}", boolType).Replace(q)
		if err := exec(q); err != nil {
			t.Fatalf("creating the version %d schema: %v", version, err)
		}
	}
}

// UpgradeFromV2 creates the version 2 schema through exec (on SQLite with
// a lock held by an instance of version 2: a live row of its lock table),
// then migrates s (a store on the same database and schema) and checks
// that Lock works: one holder, a try-lock on a held lock fails, unlock
// frees it; and on SQLite, that the lock taken before the upgrade is
// still held. table qualifies a table's name; sqlite picks the dialect.
func UpgradeFromV2(t *testing.T, s *sqlstore.Store, exec func(q string, args ...any) error, table func(name string) string, sqlite bool) {
	t.Helper()
	ctx := context.Background()
	createSchema(t, 2, exec, table, sqlite)
	if sqlite {
		if err := exec(fmt.Sprintf(`INSERT INTO %s (name, token, expires) VALUES ('held', 'v2', %d)`,
			table("oauthlogin_locks"), time.Now().Add(time.Hour).UnixMicro())); err != nil {
			t.Fatalf("a version 2 lock row: %v", err)
		}
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate from version 2: %v", err)
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	unlock, err := s.Lock(ctx, "k", time.Minute)
	if err != nil {
		t.Fatalf("Lock after the upgrade from version 2: %v", err)
	}
	if _, err := s.Lock(done, "k", time.Minute); !errors.Is(err, context.Canceled) {
		t.Fatalf("a try-lock on a held lock after the upgrade: %v, want context.Canceled", err)
	}
	if err := unlock(ctx); err != nil {
		t.Fatalf("unlock after the upgrade: %v", err)
	}
	again, err := s.Lock(done, "k", time.Minute)
	if err != nil {
		t.Fatalf("a try-lock on the unlocked lock: %v", err)
	}
	again(ctx)
	if sqlite {
		if _, err := s.Lock(done, "held", time.Minute); !errors.Is(err, context.Canceled) {
			t.Fatalf("the lock held before the upgrade, after it: %v, want still held (context.Canceled)", err)
		}
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate again: %v", err)
	}
}

// UpgradeFromV1 creates the version 1 schema through exec, with a
// session row as version 1 wrote it, then migrates s (a store on the same
// database and schema) and checks that the old session reads with empty
// login facts (ProviderSID "", a zero AuthTime, ACR ""), still lists,
// touches and updates, and that a new session keeps its facts and is found
// by DeleteProviderSessions while the old one is not. table qualifies a
// table's name; sqlite picks the dialect's types and placeholders;
// prepare, when not nil, runs before Migrate (an operator's own steps).
func UpgradeFromV1(t *testing.T, s *sqlstore.Store, exec func(q string, args ...any) error, table func(name string) string, sqlite bool, prepare func()) {
	t.Helper()
	ctx := context.Background()
	ph := "$"
	if sqlite {
		ph = "?"
	}
	createSchema(t, 1, exec, table, sqlite)
	now := time.Now().Truncate(time.Second).UTC()
	insert := `INSERT INTO ` + table("oauthlogin_sessions") + ` (id, user_id, identity_id, provider, provider_uid,
		provider_access_token_expiry, provider_tokens, created, last_seen, pending, expires, ip, user_agent)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`
	insert = strings.ReplaceAll(insert, "$", ph)
	old := &oauthlogin.Session{ID: "old", UserID: "u", IdentityID: "i", Provider: "idp", ProviderUID: "sub",
		ProviderAccessTokenExpiry: now.Add(time.Hour), ProviderTokens: []byte("sealed"), Created: now, LastSeen: now,
		Expires: now.Add(time.Hour), IP: "192.0.2.1", UserAgent: "ua"}
	var pending any = false
	if sqlite {
		pending = 0
	}
	if err := exec(insert, old.ID, old.UserID, old.IdentityID, old.Provider, old.ProviderUID, old.ProviderAccessTokenExpiry.UnixMicro(),
		old.ProviderTokens, old.Created.UnixMicro(), old.LastSeen.UnixMicro(), pending, old.Expires.UnixMicro(), old.IP, old.UserAgent); err != nil {
		t.Fatalf("a version 1 session row: %v", err)
	}

	if prepare != nil {
		prepare()
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate from version 1: %v", err)
	}
	got, err := s.Session(ctx, "old")
	if err != nil || got.ProviderSID != "" || !got.AuthTime.IsZero() || got.ACR != "" ||
		got.UserID != old.UserID || got.IdentityID != old.IdentityID || got.Provider != old.Provider || got.ProviderUID != old.ProviderUID ||
		string(got.ProviderTokens) != "sealed" || !got.ProviderAccessTokenExpiry.Equal(old.ProviderAccessTokenExpiry) ||
		!got.Created.Equal(old.Created) || !got.LastSeen.Equal(old.LastSeen) || !got.Expires.Equal(old.Expires) ||
		got.IP != old.IP || got.UserAgent != old.UserAgent {
		t.Fatalf("the version 1 session after the upgrade: %+v, %v; want it whole, with empty login facts", got, err)
	}
	if err := s.TouchSession(ctx, "old", now.Add(time.Minute)); err != nil {
		t.Fatalf("touching the old session: %v", err)
	}
	if err := s.UpdateSessionTokens(ctx, "old", []byte("refreshed"), now.Add(2*time.Hour)); err != nil {
		t.Fatalf("updating the old session's tokens: %v", err)
	}
	fresh := *old
	fresh.ID, fresh.ProviderSID, fresh.AuthTime, fresh.ACR = "new", "sid-1", now.Add(-time.Minute), "urn:mfa"
	if err := s.SaveSession(ctx, &fresh); err != nil {
		t.Fatal(err)
	}
	list, err := s.UserSessions(ctx, "u")
	if err != nil || len(list) != 2 {
		t.Fatalf("UserSessions after the upgrade = %d sessions, %v; want 2", len(list), err)
	}
	for _, v := range list {
		switch v.ID {
		case "old":
			if v.ProviderSID != "" || !v.AuthTime.IsZero() || v.ACR != "" || string(v.ProviderTokens) != "refreshed" {
				t.Fatalf("the old session listed: %+v", v)
			}
		case "new":
			if v.ProviderSID != "sid-1" || !v.AuthTime.Equal(fresh.AuthTime) || v.ACR != "urn:mfa" {
				t.Fatalf("the new session listed: %+v", v)
			}
		}
	}
	if err := s.DeleteProviderSessions(ctx, "idp", "sid-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(ctx, "new"); err != oauthlogin.ErrNotFound {
		t.Fatalf("the new session after DeleteProviderSessions: %v, want ErrNotFound", err)
	}
	if _, err := s.Session(ctx, "old"); err != nil {
		t.Fatalf("the old session (no sid) after DeleteProviderSessions: %v", err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate again: %v", err)
	}
}
