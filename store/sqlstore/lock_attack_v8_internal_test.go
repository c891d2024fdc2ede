package sqlstore

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/oauthlogin/oauthlogin/store/internal/sqldriver"
)

// TestAttackV8LostRowPastCapNeverReleased: SECURITY.md promises that a
// lock attempt that failed but may have written its row is deleted by its
// token in the background "until the server answers, so a restart does
// not hold an identity's refreshes off for the lock's ttl". With maxLost
// releases already retrying (a restart under load: 16 other identities'
// attempts failed first), the next attempt's row gets no release at all:
// once the server answers, the 16 are released, and that identity's lock
// stays held by nobody until its ttl (30 s of failed refreshes and
// logins for the Manager).
//
// Fixed: lost rows wait in one bounded queue (maxLost, 4096 rows) that one
// goroutine works through; the cap that dropped rows was on goroutines
// (16). The test keeps its scenario: the attempt after the 16 that filled
// the old cap.
func TestAttackV8LostRowPastCapNeverReleased(t *testing.T) {
	const oldCap = 16
	db := &lostDB{fakeDB: fakeDB{dialect: sqldriver.Postgres}, failing: 1 << 30, released: make(chan string, 4*oldCap)}
	db.s = New(db, Options{})
	done, cancel := context.WithCancel(context.Background())
	cancel() // a try-lock: one attempt each
	for i := range oldCap {
		db.s.Lock(done, fmt.Sprint("k", i), time.Minute)
	}
	db.s.Lock(done, "victim", time.Minute)
	db.mu.Lock()
	victim := db.locked[len(db.locked)-1]
	db.failing = 0 // the server answers again
	db.mu.Unlock()
	bound := time.After(20 * time.Second) // a bound on the wait, not a timing assertion
	for i := 0; ; i++ {
		select {
		case tok := <-db.released:
			if tok == victim {
				return
			}
		case <-bound:
			t.Fatalf("after the server answered, %d lost rows were released but not the one past the cap: held until its ttl", i)
		}
	}
}
