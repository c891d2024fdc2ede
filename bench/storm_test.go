package bench

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/oauthlogin/oauthlogin/store/redisstore"
)

// stormSize is how many browsers log in at once in a storm round.
const stormSize = 64

// stormPool is each oauthlogin instance's go-redis PoolSize: one
// connection for each browser of a round, since a balancer may send all
// of them to one instance at once. The default (10 per GOMAXPROCS, 20
// here) would make callbacks wait for a connection, measuring the pool
// rather than the library.
const stormPool = stormSize

// stormBalancer is the URL the instances of a storm app are configured
// with: the load balancer's. Nothing listens there; the driver routes each
// request to an instance itself, as the balancer would, so a request it
// failed to route is refused at once.
const stormBalancer = "http://127.0.0.1:1"

// stormUser is the user browser i of a round logs in as: a round is
// stormSize different users, as in a real storm (every round the same
// ones, returning after their first login). One user logging in
// stormSize times at once would measure the contention on one identity
// record in the rows that keep one (oauthlogin), which stateless apps do
// not have.
func stormUser(i int) string { return "storm-user-" + strconv.Itoa(i) }

// stormRows are BenchmarkStorm's rows, in table order.
var stormRows = []string{"floor", "oauthlogin", "zitadel", "cap", "goth"}

// stormApp is two instances of one app behind a load balancer without
// stickiness, each set up as the library recommends, sharing what it
// must for one instance to finish a login the other began and to open
// the other's sessions: oauthlogin one Redis (two Managers, each with its
// own client, one key prefix and one cookie key); zitadel, cap and goth
// the keys of their cookies (they keep everything there); the floor app
// its in-process session map (free: it is the yardstick).
type stormApp struct {
	inst [2]*App
}

// stormApp returns the row's two instances, built on first use. The
// oauthlogin row skips when OAUTHLOGIN_TEST_REDIS is not set.
func (w *world) stormApp(tb testing.TB, row string) *stormApp {
	tb.Helper()
	w.storeMu.Lock()
	defer w.storeMu.Unlock()
	if s := w.storms[row]; s != nil {
		return s
	}
	sh := &Shared{URL: stormBalancer, ClientID: "storm-" + row}
	var build func() (*App, error)
	switch row {
	case "floor":
		build = func() (*App, error) { return newFloorApp(w.fake, w.back, sh) }
	case "oauthlogin":
		addr := os.Getenv("OAUTHLOGIN_TEST_REDIS")
		if addr == "" {
			tb.Skip("OAUTHLOGIN_TEST_REDIS is not set")
		}
		ctx := context.Background()
		prefix := "bench-storm-" + randomString(6) + ":"
		admin := redis.NewClient(&redis.Options{Addr: addr})
		if err := admin.Ping(ctx).Err(); err != nil {
			admin.Close()
			tb.Skipf("Redis at %s: %v", addr, err)
		}
		w.closers = append(w.closers, func() { unlinkPrefix(ctx, admin, prefix); admin.Close() })
		build = func() (*App, error) {
			rdb := redis.NewClient(&redis.Options{Addr: addr, PoolSize: stormPool})
			w.closers = append(w.closers, func() { rdb.Close() })
			return newOauthloginApp("oauthlogin", w.fake, w.back, redisstore.New(rdb, redisstore.Options{Prefix: prefix}), 0, sh)
		}
	case "zitadel":
		build = func() (*App, error) { return newZitadelApp(w.fake, w.back, sh) }
	case "cap":
		build = func() (*App, error) { return newCapApp(w.fake, w.back, sh) }
	case "goth":
		build = func() (*App, error) { return newGothApp(w.fake, w.back, sh) }
	default:
		tb.Fatalf("unknown storm row %q", row)
	}
	s := &stormApp{}
	for i := range s.inst {
		a, err := build()
		if err != nil {
			tb.Fatalf("%s instance %d: %v", row, i, err)
		}
		w.closers = append(w.closers, a.Close)
		s.inst[i] = a
	}
	// Warm up: discovery and key caches, lazy set-up, in both directions.
	for i := range s.inst {
		br := NewBrowser(w.browsers)
		auth, err := s.begin(br, i)
		if err == nil {
			err = w.fake.PresignForUser(auth, stormUser(i))
		}
		if err == nil {
			err = s.finish(br, auth, 1-i)
		}
		if err != nil {
			tb.Fatalf("%s warm-up: %v", row, err)
		}
	}
	w.storms[row] = s
	return s
}

// route is the balancer: u, a URL at the balancer, sent to the instance.
func (s *stormApp) route(u string, at int) (string, error) {
	rest, ok := strings.CutPrefix(u, stormBalancer+"/")
	if !ok {
		return "", fmt.Errorf("bench: %s: %q is not at the balancer", s.inst[0].Name, u)
	}
	return "http://" + s.inst[at].Host + "/" + rest, nil
}

// begin makes the begin request at instance at and returns the
// authorization URL it redirects to.
func (s *stormApp) begin(br *Browser, at int) (string, error) {
	a := s.inst[at]
	u, err := s.route(a.BeginURL, at)
	if err != nil {
		return "", err
	}
	status, loc, err := br.Get(u)
	if err != nil {
		return "", err
	}
	if status < 300 || status > 399 || !strings.HasPrefix(loc, a.fakeURL) {
		return "", fmt.Errorf("bench: %s begin at instance %d: status %d, Location %q", a.Name, at, status, loc)
	}
	return loc, nil
}

// finish makes the provider hop and the callback, which goes to instance
// at, and checks that the login ended at the success URL with a session.
func (s *stormApp) finish(br *Browser, auth string, at int) error {
	a := s.inst[at]
	status, cb, err := br.Get(auth)
	if err != nil {
		return err
	}
	if status != http.StatusFound {
		return fmt.Errorf("bench: %s authorize: status %d, Location %q", a.Name, status, cb)
	}
	u, err := s.route(cb, at)
	if err != nil {
		return err
	}
	status, loc, err := br.Get(u)
	if err != nil {
		return err
	}
	if (status != http.StatusFound && status != http.StatusSeeOther) || loc != a.SuccessURL {
		return fmt.Errorf("bench: %s callback at instance %d: status %d, Location %q: %w", a.Name, at, status, loc, ErrRefused)
	}
	if _, ok := br.Cookie(a.SessionCookie); !ok {
		return fmt.Errorf("bench: %s: success without a %s cookie", a.Name, a.SessionCookie)
	}
	return nil
}

// private requests the private page at instance at and returns the status.
func (s *stormApp) private(br *Browser, at int) (int, error) {
	u, err := s.route(s.inst[at].PrivateURL, at)
	if err != nil {
		return 0, err
	}
	status, _, err := br.Get(u)
	return status, err
}

// storm is a round's browsers, each its own cookie jar and a new visitor
// each round. Browser i logs in as stormUser(i); it begins at instance i%2 and its callback goes to
// the other, as a balancer without stickiness may send them.
type storm struct {
	app      *stormApp
	fake     *Fake
	browsers []*Browser
	auths    []string
	// took is each login's latency: its begin request's time and its
	// finish's (provider hop and callback).
	took []time.Duration
	errs []error
}

func newStorm(w *world, app *stormApp) *storm {
	s := &storm{app: app, fake: w.fake, browsers: make([]*Browser, stormSize),
		auths: make([]string, stormSize), took: make([]time.Duration, stormSize), errs: make([]error, stormSize)}
	for i := range s.browsers {
		s.browsers[i] = NewBrowser(w.browsers)
	}
	return s
}

// reset empties the jars for a new round.
func (s *storm) reset() {
	for i, br := range s.browsers {
		br.Reset()
		s.auths[i], s.took[i] = "", 0
	}
}

// all runs op for every browser at once and returns the first error, if
// any, with the number of browsers that failed.
func (s *storm) all(op func(i int) error) error {
	var wg sync.WaitGroup
	for i := range s.browsers {
		wg.Go(func() { s.errs[i] = op(i) })
	}
	wg.Wait()
	var first error
	failed := 0
	for _, err := range s.errs {
		if err != nil {
			first = cmp.Or(first, err)
			failed++
		}
	}
	if first != nil {
		return fmt.Errorf("%d of %d browsers failed; the first: %w", failed, len(s.errs), first)
	}
	return nil
}

func (s *storm) begin(i int) error {
	start := time.Now()
	auth, err := s.app.begin(s.browsers[i], i%2)
	s.took[i] = time.Since(start)
	s.auths[i] = auth
	return err
}

func (s *storm) presign(i int) error { return s.fake.PresignForUser(s.auths[i], stormUser(i)) }

func (s *storm) finish(i int) error {
	start := time.Now()
	err := s.app.finish(s.browsers[i], s.auths[i], 1-i%2)
	s.took[i] += time.Since(start)
	return err
}

// opensElsewhere checks that each browser's session opens the private
// page at the instance its login began at, not the one that made the
// session.
func (s *storm) opensElsewhere(i int) error {
	status, err := s.app.private(s.browsers[i], i%2)
	if err == nil && status != http.StatusOK {
		err = fmt.Errorf("bench: %s: a session made at instance %d: private page at instance %d: status %d", s.app.inst[0].Name, 1-i%2, i%2, status)
	}
	return err
}

// TestStorm runs one storm round for each row, every callback at the
// other instance than its begin, and checks that every login succeeded
// and that each session opens the private page at the instance that did
// not make it (which refuses a browser without one).
func TestStorm(t *testing.T) {
	w := getWorld(t)
	for _, row := range stormRows {
		t.Run(row, func(t *testing.T) {
			app := w.stormApp(t, row)
			for at := range app.inst {
				if status, err := app.private(NewBrowser(w.browsers), at); err != nil || status != http.StatusUnauthorized {
					t.Fatalf("private page at instance %d without a session: %d %v", at, status, err)
				}
			}
			s := newStorm(w, app)
			s.reset()
			for _, phase := range []func(int) error{s.begin, s.presign, s.finish, s.opensElsewhere} {
				if err := s.all(phase); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkStorm is a login storm: two instances of each app behind a
// balancer without stickiness, stormSize browsers logging in at once in
// rounds (b.N logins, rounded up to whole rounds). In a round all begin
// at once (timed), the fake presigns their ID tokens (untimed, as in
// BenchmarkLogin), then all finish at once (timed), each callback at the
// other instance than its begin. It reports logins/s over the timed
// phases, the median and 99th percentile of a login's latency (its
// begin's time plus its finish's), and per login the process's CPU time,
// allocations and wall time (ns/op). The last round's sessions must open
// the private page at the other instance.
func BenchmarkStorm(b *testing.B) {
	w := getWorld(b)
	for _, row := range stormRows {
		b.Run(row, func(b *testing.B) { benchStorm(b, w, w.stormApp(b, row)) })
	}
}

func benchStorm(b *testing.B, w *world, app *stormApp) {
	s := newStorm(w, app)
	rounds := (b.N + stormSize - 1) / stormSize
	logins := rounds * stormSize
	took := make([]time.Duration, 0, logins)
	var cpu cpuMeter
	var mem allocMeter
	b.ReportAllocs()
	b.StopTimer()
	b.ResetTimer()
	timed := func(op func(int) error) {
		mem.start()
		b.StartTimer()
		cpu.start()
		err := s.all(op)
		cpu.stop()
		b.StopTimer()
		mem.stop()
		if err != nil {
			b.Fatal(err)
		}
	}
	for range rounds {
		s.reset()
		timed(s.begin)
		if err := s.all(s.presign); err != nil {
			b.Fatal(err)
		}
		timed(s.finish)
		took = append(took, s.took...)
	}
	if err := s.all(s.opensElsewhere); err != nil {
		b.Fatal(err)
	}
	n := float64(logins)
	elapsed := b.Elapsed()
	slices.Sort(took)
	b.ReportMetric(float64(elapsed.Nanoseconds())/n, "ns/op")
	b.ReportMetric(n/elapsed.Seconds(), "logins/s")
	b.ReportMetric(float64(percentile(took, 50).Nanoseconds()), "p50-ns/login")
	b.ReportMetric(float64(percentile(took, 99).Nanoseconds()), "p99-ns/login")
	b.ReportMetric(float64(cpu.total.Nanoseconds())/n, "cpu-ns/op")
	b.ReportMetric(float64(mem.allocs)/n, "allocs/op")
	b.ReportMetric(float64(mem.bytes)/n, "B/op")
}

// percentile is the nearest-rank p-th percentile of sorted.
func percentile(sorted []time.Duration, p int) time.Duration {
	i := (len(sorted)*p + 99) / 100
	return sorted[max(i, 1)-1]
}

// allocMeter adds up the process's allocations over the measured phases
// (BenchmarkStorm's logins are not b.N, so testing's own count per op is
// replaced).
type allocMeter struct {
	allocs, bytes uint64
	ms            runtime.MemStats
}

func (m *allocMeter) start() {
	runtime.ReadMemStats(&m.ms)
	m.allocs -= m.ms.Mallocs
	m.bytes -= m.ms.TotalAlloc
}

func (m *allocMeter) stop() {
	runtime.ReadMemStats(&m.ms)
	m.allocs += m.ms.Mallocs
	m.bytes += m.ms.TotalAlloc
}
