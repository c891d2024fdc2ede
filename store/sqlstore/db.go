package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/oauthlogin/oauthlogin/store/internal/sqldriver"
)

// querier is what the store's SQL runs on: a pool, connection or
// transaction of the driver that store/pgstore or store/sqlitestore binds
// (through dq), so that every query is written once.
type querier interface {
	exec(ctx context.Context, q string, args ...any) (rowsAffected int64, err error)
	query(ctx context.Context, q string, args ...any) (rows, error)
	queryRow(ctx context.Context, q string, args ...any) scanner
}

type scanner interface{ Scan(dest ...any) error }

type rows interface {
	scanner
	Next() bool
	Err() error
	Close()
}

// errNoRows reports whether err is the driver's "no rows" error (pgx's
// ErrNoRows is also sql.ErrNoRows to errors.Is).
func errNoRows(err error) bool {
	return errors.Is(err, sql.ErrNoRows)
}

// dq runs the core's queries on a driver's Querier: store/pgstore binds
// pgx, store/sqlitestore database/sql.
type dq struct{ q sqldriver.Querier }

func (d dq) exec(ctx context.Context, q string, args ...any) (int64, error) {
	return d.q.Exec(ctx, q, args...)
}

func (d dq) query(ctx context.Context, q string, args ...any) (rows, error) {
	return d.q.Query(ctx, q, args...)
}

func (d dq) queryRow(ctx context.Context, q string, args ...any) scanner {
	return d.q.QueryRow(ctx, q, args...)
}
