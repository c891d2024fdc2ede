package sqlitestore

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/oauthlogin/oauthlogin/store/internal/lockpoll"
	"github.com/oauthlogin/oauthlogin/store/internal/sqldriver"
)

// stdQuerier is the part of *sql.DB, *sql.Conn and *sql.Tx that the store
// uses.
type stdQuerier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// stdQ runs the core's statements on database/sql.
type stdQ struct{ q stdQuerier }

func (s stdQ) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	res, err := s.q.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (s stdQ) Query(ctx context.Context, q string, args ...any) (sqldriver.Rows, error) {
	r, err := s.q.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return stdRows{r}, nil
}

func (s stdQ) QueryRow(ctx context.Context, q string, args ...any) sqldriver.Scanner {
	return s.q.QueryRowContext(ctx, q, args...)
}

type stdRows struct{ *sql.Rows }

func (r stdRows) Close() { r.Rows.Close() }

// stdDB is the *sql.DB as the core's driver.
type stdDB struct {
	db *sql.DB
	stdQ
}

func (stdDB) Dialect() sqldriver.Dialect { return sqldriver.SQLite }

// Conn takes a connection. A new one's setup (the DSN's pragmas:
// journal_mode(WAL) on a new file) can answer "database is locked" at once,
// without busy_timeout's wait, while another connection changes the
// file's journal mode (several instances migrating a new file at once):
// it is tried again after jittered pauses, doubling from 5 ms, for about
// 2 s or until ctx ends.
func (d stdDB) Conn(ctx context.Context) (sqldriver.Conn, error) {
	c, err := d.db.Conn(ctx)
	for wait := 5 * time.Millisecond; err != nil && locked(err) && wait <= time.Second; wait *= 2 {
		timer := time.NewTimer(lockpoll.Jitter(wait))
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return nil, ctx.Err()
		}
		c, err = d.db.Conn(ctx)
	}
	if err != nil {
		return nil, err
	}
	return stdConn{c: c, stdQ: stdQ{c}}, nil
}

func (d stdDB) Tx(ctx context.Context, fn func(tx sqldriver.Querier) error) error {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(stdQ{tx}); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// locked tells a SQLite "database is locked" (SQLITE_BUSY) error, in the
// words every SQLite driver for database/sql reports it with.
func locked(err error) bool { return strings.Contains(err.Error(), "database is locked") }

// stdConn is a connection taken from the pool.
type stdConn struct {
	c *sql.Conn
	stdQ
}

func (c stdConn) Release() { c.c.Close() }
