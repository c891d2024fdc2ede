package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/oauthlogin/oauthlogin/store/internal/sqldriver"
)

// migration is one version of the schema. Statements use {table} markers,
// the type markers {bytes} and {bool} and the marker {add column} (ADD
// COLUMN IF NOT EXISTS on PostgreSQL, ADD COLUMN on SQLite, which has no
// IF NOT EXISTS there), filled in per dialect; those marked sqliteOnly are
// skipped on PostgreSQL.
type migration struct {
	version int
	stmts   []stmt
}

type stmt struct {
	sql        string
	sqliteOnly bool
}

// migrations are applied in order, each once. Never edit one that has
// shipped: add the next.
var migrations = []migration{{
	version: 1,
	stmts: []stmt{
		{sql: `CREATE TABLE {sessions} (
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
		)`},
		{sql: `CREATE INDEX {index:sessions_user} ON {sessions} (user_id, created)`},
		{sql: `CREATE INDEX {index:sessions_expires} ON {sessions} (expires)`},
		{sql: `CREATE TABLE {identities} (
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
		)`},
		{sql: `CREATE INDEX {index:identities_user} ON {identities} (user_id, created)`},
		{sql: `CREATE INDEX {index:identities_email} ON {identities} (verified_email) WHERE verified_email <> ''`},
		{sql: `CREATE TABLE {one_time} (
			key TEXT PRIMARY KEY,
			expires BIGINT NOT NULL
		)`},
		{sql: `CREATE INDEX {index:one_time_expires} ON {one_time} (expires)`},
		// Lease rows for Lock; on PostgreSQL, which locked with advisory
		// locks then, version 3 creates the table.
		{sql: `CREATE TABLE {locks} (
			name TEXT PRIMARY KEY,
			token TEXT NOT NULL,
			expires BIGINT NOT NULL
		)`, sqliteOnly: true},
	},
}, {
	// The facts of the login (Session.ProviderSID, AuthTime, ACR) and the
	// index that DeleteProviderSessions uses. Rows from before read as
	// ProviderSID "", a zero AuthTime (auth_time 0: see authMicros) and
	// ACR "". The defaults are constants, so
	// PostgreSQL adds the columns without rewriting the table. The index is
	// partial: sessions without a sid (every older row) are not in it.
	version: 2,
	stmts: []stmt{
		{sql: `ALTER TABLE {sessions} {add column} provider_sid TEXT NOT NULL DEFAULT ''`},
		{sql: `ALTER TABLE {sessions} {add column} auth_time BIGINT NOT NULL DEFAULT 0`},
		{sql: `ALTER TABLE {sessions} {add column} acr TEXT NOT NULL DEFAULT ''`},
		{sql: `CREATE INDEX IF NOT EXISTS {index:sessions_provider_sid} ON {sessions} (provider, provider_sid) WHERE provider_sid <> ''`},
	},
}, {
	// Lock's lease rows on PostgreSQL too, where Lock took session-level
	// advisory locks before, which a restart of the server ended under
	// their holders. SQLite has had the table since version 1. The table
	// holds a row per lock held (or expired and not yet taken again or
	// purged): no index beyond its key.
	version: 3,
	stmts: []stmt{
		{sql: `CREATE TABLE IF NOT EXISTS {locks} (
			name TEXT PRIMARY KEY,
			token TEXT NOT NULL,
			expires BIGINT NOT NULL
		)`},
	},
}}

// SchemaVersion is the schema version this package's Migrate brings a
// database to.
const SchemaVersion = 3

// migrateLockKey is the advisory lock that serializes Migrate on
// PostgreSQL across instances.
const migrateLockKey = "oauthlogin:migrate"

// ddl fills in a migration statement for the store's dialect.
func (s *Store) ddl(q string) string {
	bytes, boolean, addColumn := "BYTEA", "BOOLEAN", "ADD COLUMN IF NOT EXISTS"
	if s.dialect == sqlite {
		bytes, boolean, addColumn = "BLOB", "INTEGER", "ADD COLUMN" // the migration runs once
	}
	q = strings.NewReplacer("{bytes}", bytes, "{bool}", boolean, "{add column}", addColumn).Replace(q)
	// Index names: unqualified (an index lives in its table's schema).
	for {
		i := strings.Index(q, "{index:")
		if i < 0 {
			break
		}
		j := strings.Index(q[i:], "}")
		q = q[:i] + quoteIdent("oauthlogin_"+q[i+len("{index:"):i+j]) + q[i+j+1:]
	}
	return s.rewrite(q)
}

// Migrate creates the store's tables, or upgrades them, to SchemaVersion,
// applying each missing migration in a transaction and recording it in
// oauthlogin_schema_migrations. It is idempotent and safe to call from
// several instances at once: on PostgreSQL an advisory lock serializes
// them, on SQLite an immediate transaction does. A database at a newer
// version than this package knows is an error, so that an old binary
// never writes to a newer schema.
func (s *Store) Migrate(ctx context.Context) error {
	if s.dialect == sqlite {
		return s.migrateSQLite(ctx)
	}
	return s.db.Tx(ctx, func(tx sqldriver.Querier) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockID(s.schema, migrateLockKey)); err != nil {
			return storeError("migrate", err)
		}
		if s.schema != "" {
			if _, err := tx.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+quoteIdent(s.schema)); err != nil {
				return storeError("migrate", err)
			}
		}
		return s.migrate(ctx, dq{tx})
	})
}

func (s *Store) migrateSQLite(ctx context.Context) (err error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return storeError("migrate", err)
	}
	defer conn.Release()
	// IMMEDIATE takes the write lock now, so two migrators cannot both
	// read the version and then both write.
	if _, err := conn.Exec(ctx, `BEGIN IMMEDIATE`); err != nil {
		return storeError("migrate", err)
	}
	defer func() {
		if err != nil {
			conn.Exec(context.WithoutCancel(ctx), `ROLLBACK`)
		}
	}()
	if err := s.migrate(ctx, dq{conn}); err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, `COMMIT`); err != nil {
		return storeError("migrate", err)
	}
	return nil
}

// migrate applies the missing migrations on q, inside the caller's
// transaction.
func (s *Store) migrate(ctx context.Context, q querier) error {
	if _, err := q.exec(ctx, s.rewrite(`CREATE TABLE IF NOT EXISTS {schema_migrations} (
		version INTEGER PRIMARY KEY,
		applied BIGINT NOT NULL
	)`)); err != nil {
		return storeError("migrate", err)
	}
	var current int
	if err := q.queryRow(ctx, s.rewrite(`SELECT COALESCE(MAX(version), 0) FROM {schema_migrations}`)).Scan(&current); err != nil {
		return storeError("migrate", err)
	}
	if current > SchemaVersion {
		return fmt.Errorf("sqlstore: migrate: the database's schema is at version %d, newer than this package's %d", current, SchemaVersion)
	}
	for _, m := range migrations {
		if m.version <= current {
			continue
		}
		for _, st := range m.stmts {
			if st.sqliteOnly && s.dialect != sqlite {
				continue
			}
			if _, err := q.exec(ctx, s.ddl(st.sql)); err != nil {
				return storeError(fmt.Sprintf("migrate to version %d", m.version), err)
			}
		}
		if _, err := q.exec(ctx, s.rewrite(`INSERT INTO {schema_migrations} (version, applied) VALUES ($1, $2)`),
			m.version, micros(s.now())); err != nil {
			return storeError("migrate", err)
		}
	}
	return nil
}

// purgeBatch is how many rows one statement of Purge deletes on SQLite: a
// short write transaction each, so that a purge of a big backlog never
// holds the one writer long (100,000 expired sessions: ~4 ms at a time
// instead of ~250 ms at once, for ~1.4× the total). PostgreSQL deletes in
// one statement: it blocks no other writer, and in batches each one would
// walk the index over the rows the previous ones left dead (10× slower).
const purgeBatch = 1000

// Purge deletes the sessions, one-time keys and lock rows that have
// expired and returns how many rows it removed. Expired records are never
// returned (an expired lock is free to take), so Purge only reclaims
// space: call it every so often, from one instance or several.
func (s *Store) Purge(ctx context.Context) (int64, error) {
	now := micros(s.now())
	var total int64
	for _, t := range []string{"sessions", "one_time", "locks"} {
		q, args := `DELETE FROM {`+t+`} WHERE expires <= $1`, []any{now}
		if s.dialect == sqlite {
			// expires is checked again outside the subquery, as the
			// statement's own condition.
			q += ` AND rowid IN (SELECT rowid FROM {` + t + `} WHERE expires <= $1 LIMIT $2)`
			args = append(args, purgeBatch)
		}
		q = s.rewrite(q)
		for {
			n, err := s.q.exec(ctx, q, args...)
			if err != nil {
				return total, storeError("purge", err)
			}
			total += n
			if s.dialect != sqlite || n < purgeBatch {
				break
			}
		}
	}
	return total, nil
}
