package oauthlogin

import (
	"strconv"
	"testing"
	"time"
)

// The per-identity refresh backoff is forgotten only when that identity's
// refresh later succeeds (or finds the grant revoked): an identity whose
// refresh failed once (a provider outage, a 4xx refusal other than
// invalid_grant, a token type refused here) and is never refreshed again
// (the user left, the identity was unlinked and relinked: a new key) stays
// in the map for the life of the process. Unlike refreshTimes, nothing
// sweeps it: during an outage every active identity adds an entry that
// outlives its one-minute cap forever. Enforces backoff.go's bound (as
// refreshTimes'): entries whose wait is over by backoffForget are swept
// as the map grows.
func TestAttackV2BackoffMapNeverSwept(t *testing.T) {
	var b backoff
	t0 := time.Unix(1_700_000_000, 0)
	for i := range 10_000 {
		b.fail("identity-"+strconv.Itoa(i), t0)
	}
	// A day later every entry is long expired (at most a minute each).
	b.fail("another", t0.Add(24*time.Hour))
	if n := len(b.state); n > 1_000 {
		t.Fatalf("backoff holds %d entries a day after they expired, want them swept", n)
	}
}

// A failure long after the last one (its wait over by more than
// backoffForget) starts the backoff again at 1 s, whether or not a sweep
// has removed the entry yet; within backoffForget it doubles. backoff.go.
func TestBackoffForgetsOldFailures(t *testing.T) {
	var b backoff
	t0 := time.Unix(1_700_000_000, 0)
	if got := b.fail("a", t0); got != time.Second {
		t.Fatalf("first failure waits %v, want 1s", got)
	}
	next := t0.Add(time.Second + backoffForget)
	if got := b.fail("a", next); got != 2*time.Second {
		t.Fatalf("a failure within backoffForget of the wait's end waits %v, want 2s", got)
	}
	late := next.Add(2*time.Second + backoffForget + time.Nanosecond)
	if got := b.fail("a", late); got != time.Second {
		t.Fatalf("a failure backoffForget after the wait's end waits %v, want 1s (forgotten)", got)
	}
	if got := b.wait("a", late); got != time.Second {
		t.Fatalf("wait = %v, want 1s", got)
	}
}

// A sweep keeps the entries still waiting or within backoffForget.
func TestBackoffSweepKeepsRecentEntries(t *testing.T) {
	var b backoff
	t0 := time.Unix(1_700_000_000, 0)
	for i := range 100 {
		b.fail("old-"+strconv.Itoa(i), t0)
	}
	recent := t0.Add(time.Hour)
	for i := range 100 {
		b.fail("recent-"+strconv.Itoa(i), recent)
	}
	if got := b.wait("recent-0", recent); got != time.Second {
		t.Fatalf("a recent failure waits %v after the sweep, want 1s", got)
	}
	if n := len(b.state); n > 100 {
		t.Fatalf("%d entries after the sweep, want the 100 recent ones only", n)
	}
}
