package pgstore

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oauthlogin/oauthlogin/store/internal/sqldriver"
)

// pgxQuerier is the part of *pgxpool.Pool, *pgxpool.Conn and pgx.Tx that
// the store uses.
type pgxQuerier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// pgQ runs the core's statements on pgx.
type pgQ struct{ q pgxQuerier }

func (p pgQ) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	tag, err := p.q.Exec(ctx, q, args...)
	return tag.RowsAffected(), err
}

func (p pgQ) Query(ctx context.Context, q string, args ...any) (sqldriver.Rows, error) {
	r, err := p.q.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return r, nil
}

func (p pgQ) QueryRow(ctx context.Context, q string, args ...any) sqldriver.Scanner {
	return p.q.QueryRow(ctx, q, args...)
}

// pgDB is the pool as the core's driver.
type pgDB struct {
	pool *pgxpool.Pool
	pgQ
}

func (pgDB) Dialect() sqldriver.Dialect { return sqldriver.Postgres }

func (d pgDB) Conn(ctx context.Context) (sqldriver.Conn, error) {
	c, err := d.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	return pgConn{c: c, pgQ: pgQ{c}}, nil
}

func (d pgDB) Tx(ctx context.Context, fn func(tx sqldriver.Querier) error) error {
	return pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error { return fn(pgQ{tx}) })
}

// pgConn is a connection taken from the pool.
type pgConn struct {
	c *pgxpool.Conn
	pgQ
}

func (c pgConn) Release() { c.c.Release() }
