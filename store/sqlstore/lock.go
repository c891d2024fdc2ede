package sqlstore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"sync"
	"time"

	"github.com/oauthlogin/oauthlogin/store/internal/lockpoll"
	"github.com/oauthlogin/oauthlogin/store/internal/sqldriver"
)

// lockID maps a lock name, within a namespace (the schema), to the 64-bit
// key of a PostgreSQL advisory lock: the first 8 bytes of a SHA-256. Two
// names colliding would only make them share one lock.
func lockID(namespace, key string) int64 {
	h := sha256.Sum256([]byte(namespace + "\x00" + key))
	return int64(binary.BigEndian.Uint64(h[:8]))
}

// Lock implements oauthlogin.Store.
//
// On PostgreSQL it takes a session-level advisory lock
// (pg_try_advisory_lock, keyed by a 64-bit hash of the schema and key) on a
// pool connection that it keeps for the lock's life. An advisory lock ends
// only when it is unlocked or its connection ends, never by itself, so the
// ttl is enforced here: after ttl the store closes that connection, which
// ends the lock on the server. A crashed instance's locks end when the
// server notices its connections are gone (at once for a process crash;
// for a lost network, after TCP keepalive gives up).
//
// On SQLite a lock is a row (name, token, expires) inserted unless a row
// for the name exists that has not expired; unlock deletes the row only if
// it holds this caller's token. That is sound for every connection and
// process that shares the database file.
//
// While the lock is held elsewhere Lock polls, with jittered pauses
// growing to Options.LockPoll, until ctx ends. With a ctx that is already done it
// still makes one attempt (bounded by Options.DetachedTimeout): a
// try-lock. unlock releases the lock only if this caller still holds it,
// and does so even when its ctx is done, so that a cancelled request does
// not keep others waiting for the ttl.
func (s *Store) Lock(ctx context.Context, key string, ttl time.Duration) (func(context.Context) error, error) {
	ttl = max(ttl, time.Millisecond)
	try := s.tryLockSQLite
	if s.dialect == postgres {
		try = s.tryLockPostgres
	}
	return lockpoll.Acquire(ctx, s.lockPoll, s.detachedTimeout, func(ctx context.Context) (lockpoll.Unlock, error) {
		unlock, err := try(ctx, key, ttl)
		if err != nil {
			return nil, storeError("lock", err)
		}
		return unlock, nil
	})
}

// attemptContext is ctx, or when ctx is done, a detached context bounded by
// DetachedTimeout, for the one attempt a done context still gets.
func (s *Store) attemptContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return lockpoll.AttemptContext(ctx, s.detachedTimeout)
}

// tryLockPostgres makes one attempt; a nil unlock and nil error mean the
// lock is held elsewhere.
func (s *Store) tryLockPostgres(ctx context.Context, key string, ttl time.Duration) (func(context.Context) error, error) {
	id := lockID(s.schema, key)
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	var ok bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, id).Scan(&ok); err != nil {
		// The lock may have been taken just before the failure: end the
		// connection rather than return it to the pool holding a lock.
		closeConn(conn)
		return nil, err
	}
	if !ok {
		conn.Release()
		return nil, nil
	}
	h := &pgHold{conn: conn}
	h.timer = time.AfterFunc(ttl, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.conn != nil {
			closeConn(h.conn)
			h.conn = nil
		}
	})
	return func(ctx context.Context) error {
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.conn == nil {
			return nil // expired: the lock ended with its connection
		}
		h.timer.Stop()
		uctx, cancel := s.attemptContext(ctx)
		defer cancel()
		var released bool
		err := h.conn.QueryRow(uctx, `SELECT pg_advisory_unlock($1)`, id).Scan(&released)
		if err != nil || !released {
			closeConn(h.conn) // ends the lock whatever state the connection is in
		} else {
			h.conn.Release()
		}
		h.conn = nil
		if err != nil {
			return storeError("unlock", err)
		}
		return nil
	}, nil
}

// pgHold is a held advisory lock: the connection it lives on, until unlock
// or the ttl timer, whichever comes first, ends it.
type pgHold struct {
	mu    sync.Mutex
	conn  sqldriver.Conn
	timer *time.Timer
}

// closeConn closes a pool connection and gives it back, so that the pool
// discards it; the server ends its session and with it its advisory locks.
func closeConn(c sqldriver.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	c.Destroy(ctx)
}

func (s *Store) tryLockSQLite(ctx context.Context, key string, ttl time.Duration) (func(context.Context) error, error) {
	var b [16]byte
	rand.Read(b[:])
	token := hex.EncodeToString(b[:])
	now := s.now()
	n, err := s.q.exec(ctx, s.sql.lock, key, token, micros(now.Add(ttl)), micros(now))
	if err != nil || n == 0 {
		return nil, err
	}
	return func(ctx context.Context) error {
		uctx, cancel := s.attemptContext(ctx)
		defer cancel()
		if _, err := s.q.exec(uctx, s.sql.unlock, key, token); err != nil {
			return storeError("unlock", err)
		}
		return nil
	}, nil
}
