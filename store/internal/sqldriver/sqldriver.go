// Package sqldriver is the seam between store/sqlstore, the SQL core that
// holds every query and rule, and the modules that bind it to a database
// driver: store/pgstore (pgx) and store/sqlitestore (database/sql). The
// core imports no driver, so an app links only the driver it uses. The
// package is internal: the seam is not public API.
package sqldriver

import "context"

// Dialect is the SQL dialect a DB speaks.
type Dialect int

// The dialects the core writes its queries for.
const (
	Postgres Dialect = iota
	SQLite
)

// Scanner is one result row.
type Scanner interface{ Scan(dest ...any) error }

// Rows is a result set; Close may be called more than once.
type Rows interface {
	Scanner
	Next() bool
	Err() error
	Close()
}

// Querier runs statements: a pool, a connection or a transaction. A row
// that is not there is reported by Scan as an error that errors.Is
// sql.ErrNoRows (pgx.ErrNoRows is one).
type Querier interface {
	Exec(ctx context.Context, q string, args ...any) (rowsAffected int64, err error)
	Query(ctx context.Context, q string, args ...any) (Rows, error)
	QueryRow(ctx context.Context, q string, args ...any) Scanner
}

// Conn is one connection taken from the pool for its holder alone, until
// Release.
type Conn interface {
	Querier
	// Release gives the connection back to the pool.
	Release()
}

// DB is a connection pool and what the core needs of its driver beyond
// running statements.
type DB interface {
	Querier
	Dialect() Dialect
	// Conn takes a connection from the pool.
	Conn(ctx context.Context) (Conn, error)
	// Tx runs fn in a transaction, committed when fn returns nil and
	// rolled back otherwise; fn's error is returned.
	Tx(ctx context.Context, fn func(tx Querier) error) error
}
