package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/store/internal/sqldriver"
)

// lostDB is a driver whose lock statement fails as if the server had
// written the row and the answer had been lost, and whose unlock fails
// failing times before it succeeds; it reports the tokens of both.
type lostDB struct {
	fakeDB
	mu       sync.Mutex
	s        *Store
	locked   []string
	failing  int
	released chan string
}

func (d *lostDB) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch q {
	case d.s.sql.lock:
		d.locked = append(d.locked, args[1].(string))
		return 0, errors.New("connection lost")
	case d.s.sql.unlock:
		if d.failing > 0 {
			d.failing--
			return 0, errors.New("connection refused")
		}
		d.released <- args[1].(string)
		return 1, nil
	}
	return 0, errors.New("unexpected statement")
}

// A lock attempt that fails may have written its row all the same: the
// store deletes it by the attempt's token, again while the store still
// fails, so that the lock is not held off until its ttl by a row nobody
// holds (after a server restart, the identity's refreshes would wait 30 s).
func TestLockAttemptFailureReleasesByToken(t *testing.T) {
	db := &lostDB{fakeDB: fakeDB{dialect: sqldriver.Postgres}, failing: 2, released: make(chan string, 1)}
	db.s = New(db, Options{})
	if _, err := db.s.Lock(context.Background(), "k", time.Minute); !errors.Is(err, oauthlogin.ErrStoreUnavailable) {
		t.Fatalf("Lock with a failing statement: %v, want ErrStoreUnavailable", err)
	}
	select {
	case tok := <-db.released:
		db.mu.Lock()
		defer db.mu.Unlock()
		if len(db.locked) != 1 || tok != db.locked[0] {
			t.Fatalf("released token %q, want the failed attempt's %q", tok, db.locked)
		}
	case <-time.After(30 * time.Second): // a bound on the wait, not a timing assertion
		t.Fatal("the failed attempt's row was never released")
	}
}

// A store that fails every statement keeps the rows of its failed lock
// attempts in one queue, worked through by one goroutine (not one per
// attempt), and releases every one of them once it answers.
func TestLostLockReleasesBounded(t *testing.T) {
	const attempts = 64
	db := &lostDB{fakeDB: fakeDB{dialect: sqldriver.Postgres}, failing: 1 << 30, released: make(chan string, attempts)}
	db.s = New(db, Options{})
	base := runtime.NumGoroutine()
	done, cancel := context.WithCancel(context.Background())
	cancel() // a try-lock: one attempt each
	for i := range attempts {
		db.s.Lock(done, fmt.Sprint("k", i), time.Minute)
	}
	db.s.lost.mu.Lock()
	queued, running := len(db.s.lost.rows), db.s.lost.running
	db.s.lost.mu.Unlock()
	if n := runtime.NumGoroutine() - base; n > 1 || !running || queued == 0 {
		t.Fatalf("%d goroutines more, %d rows queued (running %v): want one goroutine working through the rows", n, queued, running)
	}
	db.mu.Lock()
	db.failing = 0 // the store answers again
	want := map[string]bool{}
	for _, tok := range db.locked {
		want[tok] = true
	}
	db.mu.Unlock()
	for len(want) > 0 {
		select {
		case tok := <-db.released:
			delete(want, tok)
		case <-time.After(30 * time.Second): // a bound on the wait, not a timing assertion
			t.Fatalf("%d of %d lost rows never released after the store came back", len(want), attempts)
		}
	}
}

// The queue is bounded: past maxLost rows, a row is left to expire.
func TestLostLockQueueBounded(t *testing.T) {
	db := &lostDB{fakeDB: fakeDB{dialect: sqldriver.Postgres}, failing: 1 << 30, released: make(chan string, 1)}
	db.s = New(db, Options{})
	for i := range maxLost + 10 {
		db.s.releaseLost(fmt.Sprint("k", i), "t", time.Now().Add(time.Minute))
	}
	db.s.lost.mu.Lock()
	n := len(db.s.lost.rows)
	db.s.lost.mu.Unlock()
	if n > maxLost {
		t.Fatalf("%d lost rows queued, bound %d", n, maxLost)
	}
}
