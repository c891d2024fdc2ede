package oauthlogin

import (
	"strconv"
	"testing"
	"time"
)

// refreshTimes forgets refreshes older than the reuse window as it grows,
// so it holds about the identities refreshed in the last window, and keeps
// the recent ones.
func TestRefreshTimesSweepsStale(t *testing.T) {
	var r refreshTimes
	t0 := time.Unix(1_000_000, 0)
	for i := range 100 {
		r.note("old"+strconv.Itoa(i), t0)
	}
	later := t0.Add(refreshReuse + time.Second)
	for i := range 200 {
		r.note("new"+strconv.Itoa(i), later)
	}
	if n := len(r.at); n > 200 {
		t.Fatalf("%d entries after 100 stale and 200 recent refreshes, want the stale ones swept", n)
	}
	if !r.last("new0").Equal(later) || !r.last("new199").Equal(later) {
		t.Fatalf("recent refreshes forgotten: %v %v", r.last("new0"), r.last("new199"))
	}
	r.forget("new0")
	if !r.last("new0").IsZero() {
		t.Fatal("forget kept the entry")
	}
}
