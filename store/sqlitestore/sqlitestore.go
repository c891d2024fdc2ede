// Package sqlitestore keeps oauthlogin's sessions, identities, one-time
// keys and the refresh lock in SQLite through database/sql: an
// oauthlogin.Store (Config{Store: sqlitestore.New(db)}). It is its own
// module and imports no SQLite driver: open the *sql.DB with the one you
// choose (modernc.org/sqlite, pure Go, is the one tested).
//
//	go get github.com/oauthlogin/oauthlogin/store/sqlitestore
//
// The queries, the schema and its migrations are store/sqlstore's, shared
// with store/pgstore; this package binds them to a *sql.DB. See sqlstore
// for the tables, Migrate and Purge.
package sqlitestore

import (
	"database/sql"

	"github.com/oauthlogin/oauthlogin/store/sqlstore"
)

// Store is the SQL store, here on SQLite: an oauthlogin.Store (with the
// SessionLister, SessionToucher and ProviderSessionDeleter capabilities), safe
// for concurrent use by any number of goroutines.
type Store = sqlstore.Store

// Options configures a Store: the lock's polling and detached timeouts
// (SQLite ignores Schema).
type Options = sqlstore.Options

// New returns a Store on an SQLite database opened with database/sql; call
// Migrate before use. Several connections write to it, so open it with a
// busy timeout (at most oauthlogin's Config.StoreTimeout, so that a write
// waiting for the file lock gives up when the call does) and, for
// concurrent readers, the WAL journal; with modernc.org/sqlite:
//
//	sql.Open("sqlite", "file:app.db?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)")
//
// SQLite has one writer at a time however many connections wait, and
// database/sql opens them without limit: bound them (db.SetMaxOpenConns).
// Every write is a single statement, atomic in SQLite, so no transaction
// mode is needed. The store is then sound for one process with any
// number of connections, and for several processes sharing the file on
// one host (SQLite's own file locking serializes their writes); it is not
// meant for a file on a network share. The store does not close db.
// Options are optional (New(db) takes the defaults); of several only the
// first counts.
func New(db *sql.DB, opts ...Options) *Store {
	return sqlstore.New(stdDB{db: db, stdQ: stdQ{db}}, sqlstore.First(opts))
}
