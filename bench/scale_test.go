package bench

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oauthlogin/oauthlogin"
)

// TestSessionMemory measures the heap that 100,000 sessions take in the
// MemoryStore: each of another user, with Google-sized sealed provider
// tokens and a browser's user agent, as a login stores them.
func TestSessionMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("measures 100,000 sessions")
	}
	const n = 100_000
	ctx := context.Background()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	store := oauthlogin.NewMemoryStore()
	for i := range n {
		if err := store.SaveSession(ctx, SampleSession(i)); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	inuse := int64(after.HeapInuse) - int64(before.HeapInuse)
	alloc := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("%d sessions in the MemoryStore: heap in use +%.1f MiB (%d B/session), live heap +%.1f MiB (%d B/session)",
		n, float64(inuse)/(1<<20), inuse/n, float64(alloc)/(1<<20), alloc/n)
	runtime.KeepAlive(store)
}

// TestScaleGrowth seeds each store with 10,000, then 100,000, then
// 1,000,000 sessions (OAUTHLOGIN_BENCH_SCALE, comma-separated counts; the
// test skips when it is unset) and at each size logs the store's bytes
// per session, how long seeding took, and the session checks (GET
// /auth/session through two Managers) per second and their latency over
// uniformly random sessions: the median of 5 rounds of 20,000 checks
// from 64 goroutines, and the latency of checks made one at a time (2,000).
// OAUTHLOGIN_BENCH_SCALE_STORES picks the stores
// (default redis,redis-cluster,postgres,sqlite); OAUTHLOGIN_BENCH_IDENTITIES
// adds that many identities after the sessions and logs their bytes. On
// the SQL stores it then times one Purge of a tenth more sessions, expired.
func TestScaleGrowth(t *testing.T) {
	env := os.Getenv("OAUTHLOGIN_BENCH_SCALE")
	if env == "" || testing.Short() {
		t.Skip("OAUTHLOGIN_BENCH_SCALE is not set (say 10000,100000,1000000)")
	}
	var sizes []int
	for _, f := range strings.Split(env, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			t.Fatalf("OAUTHLOGIN_BENCH_SCALE: %q is not a count", f)
		}
		sizes = append(sizes, n)
	}
	kinds := []string{"redis", "redis-cluster", "postgres", "sqlite"}
	if env := os.Getenv("OAUTHLOGIN_BENCH_SCALE_STORES"); env != "" {
		kinds = strings.Split(env, ",")
	}
	identities, _ := strconv.Atoi(os.Getenv("OAUTHLOGIN_BENCH_IDENTITIES"))
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			f := openFleet(t, kind)
			defer f.close()
			if f.size == nil {
				t.Skip("no size to measure")
			}
			base, err := f.size(ctx)
			if err != nil {
				t.Fatal(err)
			}
			seeded := 0
			for _, n := range sizes {
				start := time.Now()
				if err := f.seedSessions(ctx, seeded, n); err != nil {
					t.Fatal(err)
				}
				took := time.Since(start)
				rate := float64(n-seeded) / took.Seconds()
				seeded = n
				used, err := f.size(ctx)
				if err != nil {
					t.Fatal(err)
				}
				var rounds []checkRound
				for range 5 {
					r, err := f.checkRound(n, 64, 20_000)
					if err != nil {
						t.Fatal(err)
					}
					rounds = append(rounds, r)
				}
				slices.SortFunc(rounds, func(a, b checkRound) int { return cmp.Compare(a.perSecond, b.perSecond) })
				med := rounds[len(rounds)/2]
				// Latency without queueing: one check at a time.
				one, err := f.checkRound(n, 1, 2_000)
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("%s %d sessions: %d B/session (%.1f MiB); seeded in %.1f s (%.0f/s); checks/s median %.0f [%.0f-%.0f], p50 %v, p99 %v (of the median round); one at a time p50 %v, p99 %v",
					kind, n, (used-base)/int64(n), float64(used-base)/(1<<20), took.Seconds(), rate,
					med.perSecond, rounds[0].perSecond, rounds[len(rounds)-1].perSecond, med.p50, med.p99, one.p50, one.p99)
				if f.detail != nil {
					t.Logf("%s %d sessions: %s", kind, n, f.detail(ctx))
				}
			}
			if identities > 0 {
				before, err := f.size(ctx)
				if err != nil {
					t.Fatal(err)
				}
				start := time.Now()
				if err := f.seedIdentities(ctx, 0, identities); err != nil {
					t.Fatal(err)
				}
				took := time.Since(start)
				used, err := f.size(ctx)
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("%s %d identities: %d B/identity; seeded in %.1f s (%.0f/s)",
					kind, identities, (used-before)/int64(identities), took.Seconds(), float64(identities)/took.Seconds())
			}
			// Purge (the SQL stores): a tenth more sessions, expired an
			// hour ago, deleted by one Purge among the live ones.
			if p, ok := f.store.(interface {
				Purge(context.Context) (int64, error)
			}); ok && seeded > 0 {
				expired := seeded / 10
				err := f.seed(seeded, seeded+expired, func(s Store, i int) error {
					v := SampleSession(i)
					v.Created, v.LastSeen, v.Expires = v.Created.Add(-31*24*time.Hour), v.LastSeen.Add(-2*time.Hour), v.Created.Add(-time.Hour)
					return s.SaveSession(ctx, v)
				})
				if err != nil {
					t.Fatal(err)
				}
				start := time.Now()
				n, err := p.Purge(ctx)
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("%s Purge of %d expired sessions among %d: %d rows in %v", kind, expired, seeded, n, time.Since(start).Round(time.Millisecond))
			}
		})
	}
}

// checkRound is one round of session checks: its throughput and latency.
type checkRound struct {
	perSecond float64
	p50, p99  time.Duration
}

// checkRound makes total session checks of random sessions among the
// first n, from workers goroutines, sent in turn to the fleet's Managers.
func (f *fleet) checkRound(n, workers, total int) (checkRound, error) {
	base := httptest.NewRequest(http.MethodGet, "/auth/session", nil)
	lat := make([][]time.Duration, workers)
	var next atomic.Int64
	errs := make([]error, workers)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range workers {
		wg.Go(func() {
			s := newSink()
			for {
				k := int(next.Add(1))
				if k > total {
					return
				}
				i := rand.IntN(n)
				tok, err := f.token(i)
				if err != nil {
					errs[w] = err
					return
				}
				r := *base
				r.Header = http.Header{"Authorization": {"Bearer " + tok}}
				t0 := time.Now()
				code := serve(f.managers[k%len(f.managers)], s, &r)
				lat[w] = append(lat[w], time.Since(t0))
				if code != http.StatusOK {
					errs[w] = fmt.Errorf("session %d: status %d", i, code)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := errors.Join(errs...); err != nil {
		return checkRound{}, err
	}
	all := slices.Concat(lat...)
	slices.Sort(all)
	return checkRound{
		perSecond: float64(total) / elapsed.Seconds(),
		p50:       all[len(all)/2].Round(time.Microsecond),
		p99:       all[len(all)*99/100].Round(time.Microsecond),
	}, nil
}
