package sqlitestore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/oauthlogin/oauthlogin"
)

// TestAttackV8PurgeBatchesKeepLiveRows: a backlog of expired rows in
// every table, interleaved with live ones (so that every batch's rowids
// straddle them), purged while other callers take the expired locks
// again: every live row and every lock re-taken stays, every other
// expired row goes, and the count is the rows removed.
func TestAttackV8PurgeBatchesKeepLiveRows(t *testing.T) {
	s, db := newSQLite(t)
	ctx := context.Background()
	now := time.Now()
	const n = 2600
	past, future := now.Add(-time.Minute).UnixMicro(), now.Add(time.Hour).UnixMicro()
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		exp := past
		if i%7 == 3 {
			exp = future
		}
		if _, err := tx.Exec(`INSERT INTO oauthlogin_locks (name, token, expires) VALUES (?, 'old', ?)`, fmt.Sprint("l-", i), exp); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(`INSERT INTO oauthlogin_one_time (key, expires) VALUES (?, ?)`, fmt.Sprint("k-", i), exp); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(`INSERT INTO oauthlogin_sessions (id, user_id, identity_id, provider, provider_uid, provider_access_token_expiry,
			created, last_seen, pending, expires, ip, user_agent) VALUES (?, 'u', 'i', 'p', 's', 0, ?, ?, false, ?, '', '')`,
			fmt.Sprint("s-", i), now.UnixMicro(), now.UnixMicro(), exp); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	var live int64
	for i := range n {
		if i%7 == 3 {
			live++
		}
	}
	var mu sync.Mutex
	var retaken []string
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := n - 1; i >= 0; i -= 5 {
			if i%7 == 3 {
				continue
			}
			done, cancel := context.WithCancel(ctx)
			cancel() // a try-lock
			if unlock, err := s.Lock(done, fmt.Sprint("l-", i), time.Hour); err == nil && unlock != nil {
				mu.Lock()
				retaken = append(retaken, fmt.Sprint("l-", i))
				mu.Unlock()
			}
		}
	}()
	purged, err := s.Purge(ctx)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.Purge(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var rows int64
	for _, tb := range []string{"oauthlogin_locks", "oauthlogin_one_time", "oauthlogin_sessions"} {
		var c int64
		if err := db.QueryRow(`SELECT count(*) FROM ` + tb).Scan(&c); err != nil {
			t.Fatal(err)
		}
		rows += c
	}
	if want := 3*live + int64(len(retaken)); rows != want {
		t.Errorf("%d rows left after the purges, want %d (%d live in each table, %d locks re-taken)", rows, want, live, len(retaken))
	}
	// A lock re-taken after its row was purged is a new row: counted as
	// purged, and present.
	if total, removed := purged+again, 3*n-rows; total < removed || total > removed+int64(len(retaken)) {
		t.Errorf("Purge counted %d+%d rows, %d were removed and %d locks re-taken", purged, again, removed, len(retaken))
	}
	for i := 3; i < n; i += 7 {
		if _, err := s.Session(ctx, fmt.Sprint("s-", i)); err != nil {
			t.Fatalf("live session s-%d purged: %v", i, err)
		}
		if err := s.Consume(ctx, fmt.Sprint("k-", i), now.Add(time.Hour)); !errors.Is(err, oauthlogin.ErrAlreadyUsed) {
			t.Fatalf("live one-time key k-%d purged: %v", i, err)
		}
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	for _, name := range retaken {
		if _, err := s.Lock(done, name, time.Minute); !errors.Is(err, context.Canceled) {
			t.Fatalf("re-taken lock %s purged: try-lock = %v", name, err)
		}
	}
}

// TestAttackV8PurgeCancelled: a Purge whose ctx is already done deletes
// nothing silently: it fails, and counts only what it removed.
func TestAttackV8PurgeCancelled(t *testing.T) {
	s, db := newSQLite(t)
	past := time.Now().Add(-time.Minute).UnixMicro()
	if _, err := db.Exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 3000)
		INSERT INTO oauthlogin_one_time (key, expires) SELECT 'k-' || i, ? FROM n`, past); err != nil {
		t.Fatal(err)
	}
	done, cancel := context.WithCancel(context.Background())
	cancel()
	n, err := s.Purge(done)
	var left int64
	if qerr := db.QueryRow(`SELECT count(*) FROM oauthlogin_one_time`).Scan(&left); qerr != nil {
		t.Fatal(qerr)
	}
	if err == nil || n != 3000-left {
		t.Fatalf("cancelled Purge = %d, %v; %d rows left of 3000", n, err, left)
	}
}
