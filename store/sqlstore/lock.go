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
)

// lockID maps a lock name, within a namespace (the schema), to the 64-bit
// key of a PostgreSQL advisory lock: the first 8 bytes of a SHA-256. Two
// names colliding would only make them share one lock. Only Migrate takes
// one (a transaction-level advisory lock).
func lockID(namespace, key string) int64 {
	h := sha256.Sum256([]byte(namespace + "\x00" + key))
	return int64(binary.BigEndian.Uint64(h[:8]))
}

// Lock implements oauthlogin.Store.
//
// A lock is a lease: a row of oauthlogin_locks (name, token, expires; the
// name is the key, or on PostgreSQL its hash: lockName), inserted unless
// a row for the name exists that has not expired; unlock
// deletes the row only if it holds this caller's token. The row is data
// like any other, on both dialects: it outlives the connection that wrote
// it and a restart or crash of the database server, and ends only by
// unlock or when its ttl has passed (a crashed instance's lock, after its
// ttl). It holds no connection while held. An attempt that fails may
// still have written its row (the answer lost with the connection): the
// store then deletes that row by the attempt's token in the background,
// until the server answers (releaseLost).
//
// Expiry is judged by the clock of the instance that takes or tests the
// lock (and of the one that calls Purge), as for sessions and one-time
// keys: a lease shared across instances assumes their clocks agree within
// a small fraction of the ttl (no work of the Manager under its refresh
// lock starts later than 3 s before its 30 s lease ends; NTP keeps clocks
// far closer than that).
//
// While the lock is held elsewhere Lock polls, with jittered pauses
// growing to Options.LockPoll, until ctx ends. With a ctx that is already done it
// still makes one attempt (bounded by Options.DetachedTimeout): a
// try-lock. unlock releases the lock only if this caller still holds it,
// and does so even when its ctx is done, so that a cancelled request does
// not keep others waiting for the ttl.
func (s *Store) Lock(ctx context.Context, key string, ttl time.Duration) (func(context.Context) error, error) {
	ttl = max(ttl, time.Millisecond)
	return lockpoll.Acquire(ctx, s.lockPoll, s.detachedTimeout, func(ctx context.Context) (lockpoll.Unlock, error) {
		unlock, err := s.tryLock(ctx, key, ttl)
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

// tryLock makes one attempt; a nil unlock and nil error mean the lock is
// held elsewhere.
func (s *Store) tryLock(ctx context.Context, key string, ttl time.Duration) (func(context.Context) error, error) {
	var b [16]byte
	rand.Read(b[:])
	token := hex.EncodeToString(b[:])
	now := s.now()
	name := s.lockName(key)
	n, err := s.q.exec(ctx, s.sql.lock, name, token, micros(now.Add(ttl)), micros(now))
	if err != nil {
		s.releaseLost(name, token, now.Add(ttl))
		return nil, err
	}
	if n == 0 {
		return nil, nil
	}
	return func(ctx context.Context) error {
		uctx, cancel := s.attemptContext(ctx)
		defer cancel()
		if _, err := s.q.exec(uctx, s.sql.unlock, name, token); err != nil {
			return storeError("unlock", err)
		}
		return nil
	}, nil
}

// maxLost bounds the lost lock rows a Store keeps to release in the
// background (releaseLost): about 150 bytes each.
const maxLost = 4096

// lostRow is a lock row that a failed attempt may have written.
type lostRow struct {
	name, token string
	expires     time.Time
}

// lostRows is a Store's queue of lost lock rows, and whether a goroutine
// works through it.
type lostRows struct {
	mu      sync.Mutex
	rows    []lostRow
	running bool
}

// lockName is the row name of the lock key. PostgreSQL's TEXT takes no NUL
// and only valid UTF-8, and a key may hold anything (the Manager's join an
// issuer, a subject and an id with NULs), so there the name is the key's
// SHA-256 in hex. SQLite keeps the key itself, as its lock rows have
// named it since version 1, so that instances from before version 3 and
// after exclude each other.
func (s *Store) lockName(key string) string {
	if s.dialect == sqlite {
		return key
	}
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:])
}

// releaseLost releases the lock row that a failed attempt may have written
// even so (the server committed it, then the answer was lost with the
// connection, or ctx ended while the statement ran): no caller knows its
// token, so it would hold the lock off until expires. The row joins the
// Store's queue of lost rows (at most maxLost, past which a row is left to
// expire), which one goroutine works through, deleting each row by its
// token: at once and, while the store fails (down, or restarting), again
// after jittered pauses that double from 50ms to 2s, until every row is
// deleted or has expired anyway. A delete by an attempt's token never ends
// another holder's lock.
func (s *Store) releaseLost(name, token string, expires time.Time) {
	s.lost.mu.Lock()
	defer s.lost.mu.Unlock()
	if len(s.lost.rows) >= maxLost {
		return
	}
	s.lost.rows = append(s.lost.rows, lostRow{name, token, expires})
	if !s.lost.running {
		s.lost.running = true
		go s.releaseLostRows()
	}
}

// releaseLostRows works through the queue of lost rows until it is empty.
func (s *Store) releaseLostRows() {
	for wait := 50 * time.Millisecond; ; {
		s.lost.mu.Lock()
		rows := s.lost.rows
		s.lost.rows = nil
		s.lost.mu.Unlock()
		var left []lostRow
		for i, r := range rows {
			if !s.now().Before(r.expires) {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), s.detachedTimeout)
			_, err := s.q.exec(ctx, s.sql.unlock, r.name, r.token)
			cancel()
			if err != nil {
				// The store fails: the rest wait for the next round.
				left = append(left, rows[i:]...)
				break
			}
		}
		s.lost.mu.Lock()
		s.lost.rows = append(left, s.lost.rows...)
		if len(s.lost.rows) == 0 {
			s.lost.running = false
			s.lost.mu.Unlock()
			return
		}
		s.lost.mu.Unlock()
		if len(left) == 0 {
			wait = 50 * time.Millisecond // rows that came meanwhile: no pause
			continue
		}
		timer := time.NewTimer(lockpoll.Jitter(wait))
		<-timer.C
		wait = min(2*wait, 2*time.Second)
	}
}
