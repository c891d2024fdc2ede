package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// querier is what the store's SQL runs on: a pgx pool or transaction, or a
// database/sql DB or connection. The two drivers' APIs differ only in
// shape, so each gets a small adapter and every query is written once.
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

// errNoRows reports whether err is the driver's "no rows" error.
func errNoRows(err error) bool {
	return errors.Is(err, pgx.ErrNoRows) || errors.Is(err, sql.ErrNoRows)
}

// pgxQuerier is the part of *pgxpool.Pool, *pgxpool.Conn and pgx.Tx that
// the store uses.
type pgxQuerier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

type pgQ struct{ q pgxQuerier }

func (p pgQ) exec(ctx context.Context, q string, args ...any) (int64, error) {
	tag, err := p.q.Exec(ctx, q, args...)
	return tag.RowsAffected(), err
}

func (p pgQ) query(ctx context.Context, q string, args ...any) (rows, error) {
	r, err := p.q.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return r, nil
}

func (p pgQ) queryRow(ctx context.Context, q string, args ...any) scanner {
	return p.q.QueryRow(ctx, q, args...)
}

// stdQuerier is the part of *sql.DB and *sql.Conn that the store uses.
type stdQuerier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

type stdQ struct{ q stdQuerier }

func (s stdQ) exec(ctx context.Context, q string, args ...any) (int64, error) {
	res, err := s.q.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (s stdQ) query(ctx context.Context, q string, args ...any) (rows, error) {
	r, err := s.q.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return stdRows{r}, nil
}

func (s stdQ) queryRow(ctx context.Context, q string, args ...any) scanner {
	return s.q.QueryRowContext(ctx, q, args...)
}

type stdRows struct{ *sql.Rows }

func (r stdRows) Close() { r.Rows.Close() }
