// Package pgstore keeps oauthlogin's sessions, identities, one-time
// keys and the refresh lock in PostgreSQL through pgx: an oauthlogin.Store
// (Config{Store: pgstore.New(pool)}). It is its own module,
// so only apps that use it get pgx in their build:
//
//	go get github.com/oauthlogin/oauthlogin/store/pgstore
//
// The queries, the schema and its migrations are store/sqlstore's, shared
// with store/sqlitestore; this package binds them to a pgxpool.Pool. See
// sqlstore for the tables, Migrate and Purge.
package pgstore

import (
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oauthlogin/oauthlogin/store/sqlstore"
)

// Store is the SQL store, here on PostgreSQL: an oauthlogin.Store (with the
// SessionLister, SessionToucher and ProviderSessionDeleter capabilities), safe
// for concurrent use by any number of goroutines and app instances.
type Store = sqlstore.Store

// Options configures a Store: the schema that holds the tables, and the
// lock's polling and detached timeouts.
type Options = sqlstore.Options

// New returns a Store on a PostgreSQL pool; call Migrate before use. A
// lock held through Lock is a row (see sqlstore's Store.Lock), which
// survives a restart of the server and holds no connection. The store
// does not close the pool. Options are optional (New(pool) takes the defaults); of
// several only the first counts.
func New(pool *pgxpool.Pool, opts ...Options) *Store {
	return sqlstore.New(pgDB{pool: pool, pgQ: pgQ{pool}}, sqlstore.First(opts))
}
