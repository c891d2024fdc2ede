package scenario

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/internal/testapp"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
)

// The load of FaultsUnderLoad, bounded by count: faultWorkers goroutines
// each send faultWarmup requests before the fault begins and faultAfter
// more once it is over, and never more than faultMaxOps in all.
const (
	faultUsers    = 12 // logged in before the fault
	faultWorkers  = 8
	faultWarmup   = 10
	faultAfter    = 20
	faultMaxOps   = 50000
	recoveryBound = 30 * time.Second // fail past it; the figure is logged
)

// Fault is what FaultsUnderLoad does to the store's server.
type Fault struct {
	// Server, when set, is killed, and started again once the load has
	// seen it down (a 503): a crash and a restart with the data kept.
	Server Server
	// Inject, when Server is nil, breaks the store's server and returns
	// when the fault is over (for a cluster: the failover done).
	Inject func(t testing.TB)
	// Close, when set, closes the store's client once the checks are
	// done, before the goroutine check: goroutines that live as long as
	// the client (a cluster client's per-node ones) must end with it.
	Close func()
	// MayLoseFaultWrites says the store may lose writes acknowledged
	// while the fault began (a Redis Cluster failover: replication is
	// asynchronous). Sessions acknowledged before the fault must
	// survive whatever it says.
	MayLoseFaultWrites bool
}

// faultSession is a session whose login was acknowledged (it ended on
// the success page), and what it must keep answering.
type faultSession struct {
	token, subject string
	mu             sync.Mutex
	id, user       string   // learnt from the first answer; then fixed
	identities     []string // for the sessions made before the fault
}

// faultLoad is the state that the load's goroutines share.
type faultLoad struct {
	d        *Deployment
	t        *testing.T
	store    Backend
	fault    Fault
	client   *http.Client
	before   []*faultSession
	mu       sync.Mutex
	during   []*faultSession
	users    map[string]string // provider subject -> user id
	counts   map[string]int    // outcome -> how many
	over     atomic.Bool       // the fault is over
	stop     atomic.Bool       // the test is ending: stop now
	failures atomic.Int64
	start    time.Time // when the fault began; read once begun is set
	begun    atomic.Bool
	n503     atomic.Int64 // 503s seen since the fault began
	last503  atomic.Int64 // nanoseconds after start of the last 503 seen
}

// FaultsUnderLoad runs two instances over store, with the provider
// rotating refresh tokens, logs a set of users in, then has many
// goroutines log more users in, check sessions and refresh them on both
// instances while f breaks the store's server. It checks that every
// answer meanwhile is a success or 503 store_unavailable with
// Retry-After (never a 500, never another user's session, never a
// refresh token presented twice, which the provider answers by revoking
// the grant: 409 provider_token_revoked); that both instances recover by
// themselves after the fault (the time is logged, and fails the test
// past recoveryBound); that every session and identity acknowledged
// before the fault is still there and the same, and its refresh token
// the one the provider honours; and that no goroutine of the library or
// of the store's driver is left running.
func FaultsUnderLoad(t *testing.T, store Backend, f Fault) {
	// Label this test's goroutines, and through inheritance those of its
	// servers and their handlers, to tell them apart from other tests'.
	pprof.SetGoroutineLabels(pprof.WithLabels(context.Background(), pprof.Labels("scenario", t.Name())))
	defer pprof.SetGoroutineLabels(context.Background())

	d := NewDeployment(t, store, 2)
	var rr atomic.Uint64
	d.Route(func(*http.Request) int { return int(rr.Add(1) % 2) })
	d.IdP.Behave(oauthlogintest.Behavior{RotateRefreshTokens: true})
	d.IdP.SetLoginPage(func(w http.ResponseWriter, r *http.Request, req oauthlogintest.LoginRequest) {
		sub := "nobody"
		if c, err := r.Cookie("scenario_user"); err == nil {
			sub = c.Value
		}
		d.IdP.Approve(w, r, req.ID, oauthlogintest.User{Subject: sub, Email: sub + "@example.com", EmailVerified: true, Name: sub})
	})
	l := &faultLoad{d: d, t: t, store: store, fault: f, client: d.Client, users: map[string]string{}, counts: map[string]int{}}

	for i := range faultUsers {
		s := l.login(fmt.Sprintf("before-%d", i))
		if s == nil {
			t.Fatalf("login %d before the fault failed", i)
		}
		r := l.call(i%2, "GET", "/auth/session", s.token)
		if r.status != http.StatusOK || r.body["providerUid"] != s.subject {
			t.Fatalf("GET /auth/session before the fault = %d %v", r.status, r.body)
		}
		s.id, s.user = r.body["id"].(string), r.body["userId"].(string)
		s.identities = l.identities(i%2, s.token)
		l.users[s.subject] = s.user
		l.before = append(l.before, s)
	}
	running, _ := libraryGoroutines(t.Name())

	var wg sync.WaitGroup
	defer func() { l.stop.Store(true); wg.Wait() }() // when the fault fails the test
	var warm sync.WaitGroup
	warm.Add(faultWorkers)
	for w := range faultWorkers {
		wg.Go(func() { l.work(w, warm.Done) })
	}
	warm.Wait()

	l.start = time.Now()
	l.begun.Store(true)
	l.inject()
	faultTook := time.Since(l.start)
	l.over.Store(true)
	// The time from the end of the fault to each instance's first success.
	end := time.Now()
	var recovered [2]time.Duration
	if !waitFor(recoveryBound, func() bool {
		for i := range 2 {
			if recovered[i] == 0 && l.call(i, "GET", "/auth/session", l.before[i].token).status == http.StatusOK {
				recovered[i] = time.Since(end)
			}
		}
		return recovered[0] > 0 && recovered[1] > 0
	}) {
		t.Errorf("the instances did not both recover within %v of the fault's end (%v)", recoveryBound, recovered)
	}
	wg.Wait()
	t.Logf("the fault lasted %v; 503s until %v after it began; first success after its end: instance 0 %v, instance 1 %v; answers %v",
		faultTook.Round(time.Millisecond), time.Duration(l.last503.Load()).Round(time.Millisecond),
		recovered[0].Round(time.Millisecond), recovered[1].Round(time.Millisecond), l.counts)
	if t.Failed() {
		return
	}
	l.checkAfter()
	d.Client.CloseIdleConnections()
	if f.Close != nil {
		f.Close()
	}
	var left int
	var stacks []string
	if !waitFor(10*time.Second, func() bool { left, stacks = libraryGoroutines(t.Name()); return left <= running }) {
		t.Errorf("%d goroutines of the library or the store driver left running (%d before the load):\n%s", left, running, strings.Join(stacks, "\n\n"))
	}
}

// inject runs the fault.
func (l *faultLoad) inject() {
	if l.fault.Server == nil {
		l.fault.Inject(l.t)
		return
	}
	l.fault.Server.Kill(l.t)
	if !waitFor(10*time.Second, func() bool { return l.n503.Load() > 0 }) {
		l.t.Error("the load saw no 503 in 10s with the store's server down")
	}
	l.fault.Server.Start(l.t)
}

// work is one load goroutine: a login of a new user every eighth request,
// a refresh every eighth, session checks otherwise, across both instances.
func (l *faultLoad) work(w int, warm func()) {
	after := 0
	for n := range faultMaxOps {
		if n == faultWarmup {
			warm()
		}
		if l.stop.Load() || after >= faultAfter {
			return
		}
		if l.over.Load() {
			after++
		}
		i := (n + w) % 2
		switch n % 8 {
		case 0:
			if s := l.login(fmt.Sprintf("during-%d-%d", w, n)); s != nil {
				l.mu.Lock()
				l.during = append(l.during, s)
				l.mu.Unlock()
			}
		case 4:
			l.check(i, "POST", "/auth/refresh", l.pick(n))
		default:
			l.check(i, "GET", "/auth/session", l.pick(n))
		}
	}
}

// pick returns a session to check: one from before the fault, or every
// other time one acknowledged since, when there is one.
func (l *faultLoad) pick(n int) *faultSession {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n%2 == 1 && len(l.during) > 0 {
		return l.during[rand.IntN(len(l.during))]
	}
	return l.before[rand.IntN(len(l.before))]
}

// login logs a new browser in as subject through the front server and
// returns its session, or nil when the login ended on the failure page
// with store_unavailable. Anything else fails the test.
func (l *faultLoad) login(subject string) *faultSession {
	b := oauthlogintest.NewBrowser()
	b.Client.Jar.SetCookies(mustParse(l.d.IdP.URL), []*http.Cookie{{Name: "scenario_user", Value: subject}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	page, err := b.Visit(ctx, testapp.BeginURL(l.d.Front.URL, "test"), nil)
	switch {
	case err != nil:
		l.fail("login %s: %v", subject, err)
	case page.URL.Path == "/done" && page.Status == http.StatusOK:
		l.count("login ok")
		for _, c := range b.Client.Jar.Cookies(mustParse(l.d.Front.URL)) {
			if strings.HasSuffix(c.Name, "oauthlogin_session") {
				return &faultSession{token: c.Value, subject: subject}
			}
		}
		l.fail("login %s succeeded without a session cookie", subject)
	case page.URL.Path == "/failed" && page.URL.Query().Get("error") == oauthlogin.ErrStoreUnavailable.Code():
		l.count("login store_unavailable")
		l.saw503()
	default:
		l.fail("login %s ended at %s (%d): %s", subject, page.URL, page.Status, page.Body)
	}
	return nil
}

// check sends method path with s's session to instance i, and fails the
// test unless the answer is s's own session or 503 store_unavailable with
// Retry-After. A session acknowledged after the fault began may be gone
// (401) when the fault may lose such writes.
func (l *faultLoad) check(i int, method, path string, s *faultSession) {
	r := l.call(i, method, path, s.token)
	what := method + " " + path
	switch {
	case r.err != nil:
		l.fail("%s on instance %d: %v", what, i, r.err)
	case r.status == http.StatusOK:
		l.count(what + " ok")
		l.same(s, r.body, what)
	case r.status == http.StatusServiceUnavailable && r.body["error"] == oauthlogin.ErrStoreUnavailable.Code() && r.retryAfter != "":
		l.count(what + " store_unavailable")
		l.saw503()
	case r.status == http.StatusUnauthorized && l.fault.MayLoseFaultWrites && !slices.Contains(l.before, s):
		l.count(what + " lost")
	default:
		l.fail("%s on instance %d (session of %s) = %d %v (Retry-After %q)", what, i, s.subject, r.status, r.body, r.retryAfter)
	}
}

// same fails the test unless body is s's session: its id, its provider
// subject, and its user (learnt at the first answer, and one user per
// subject).
func (l *faultLoad) same(s *faultSession, body map[string]any, what string) {
	id, _ := body["id"].(string)
	user, _ := body["userId"].(string)
	if body["providerUid"] != s.subject {
		l.fail("%s: the session of %s answered as %v's (%v)", what, s.subject, body["providerUid"], body)
		return
	}
	s.mu.Lock()
	if s.id == "" {
		s.id, s.user = id, user
	}
	sid, suser := s.id, s.user
	s.mu.Unlock()
	l.mu.Lock()
	known, ok := l.users[s.subject]
	if !ok {
		l.users[s.subject], known = user, user
	}
	l.mu.Unlock()
	if id != sid || user != suser || user != known {
		l.fail("%s: session %s of %s (user %s) answered as session %s of user %s", what, sid, s.subject, known, id, user)
	}
}

// checkAfter checks, once the load is over, that every session made before
// the fault opens on both instances as before with its identities, that
// the sessions made during it do (or are gone, when the fault may lose
// them), and that a refresh works and leaves each session from before with
// the refresh token the provider honours: none was presented twice.
func (l *faultLoad) checkAfter() {
	t := l.t
	for _, s := range l.before {
		for i := range 2 {
			r := l.call(i, "GET", "/auth/session", s.token)
			if r.status != http.StatusOK || r.body["id"] != s.id || r.body["userId"] != s.user || r.body["providerUid"] != s.subject {
				t.Fatalf("after the fault, instance %d: the session of %s (%s) = %d %v", i, s.subject, s.id, r.status, r.body)
			}
			if got := l.identities(i, s.token); !slices.Equal(got, s.identities) {
				t.Fatalf("after the fault, instance %d: the identities of %s are %v, want %v", i, s.subject, got, s.identities)
			}
		}
	}
	lost := 0
	for _, s := range l.during {
		r := l.call(0, "GET", "/auth/session", s.token)
		switch {
		case r.status == http.StatusOK:
			l.same(s, r.body, "GET /auth/session after the fault")
		case r.status == http.StatusUnauthorized && l.fault.MayLoseFaultWrites:
			lost++
		default:
			t.Fatalf("after the fault: the session of %s acknowledged during the load = %d %v", s.subject, r.status, r.body)
		}
	}
	t.Logf("%d sessions made during the load, %d of them lost", len(l.during), lost)
	for i, s := range l.before {
		if r := l.call(i%2, "POST", "/auth/refresh", s.token); r.status != http.StatusOK {
			t.Fatalf("after the fault: the refresh of %s = %d %v", s.subject, r.status, r.body)
		}
		l.d.heldRefreshTokenWorks(l.store, s.token)
	}
}

// identities returns the ids of the identities of the session of token.
func (l *faultLoad) identities(i int, token string) []string {
	r := l.call(i, "GET", "/auth/identities", token)
	list, _ := r.body["identities"].([]any)
	if r.status != http.StatusOK || len(list) == 0 {
		l.t.Fatalf("GET /auth/identities on instance %d = %d %v", i, r.status, r.body)
	}
	var ids []string
	for _, v := range list {
		id, _ := v.(map[string]any)["id"].(string)
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// reply is an answer read to the end.
type reply struct {
	status     int
	body       map[string]any
	retryAfter string
	err        error
}

// call sends method path to instance i with the session token, as the
// app's own pages do.
func (l *faultLoad) call(i int, method, path, token string) reply {
	req, err := http.NewRequest(method, l.d.Inst[i].Server.URL+path, nil)
	if err != nil {
		return reply{err: err}
	}
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.AddCookie(&http.Cookie{Name: "oauthlogin_session", Value: token})
	resp, err := l.client.Do(req)
	if err != nil {
		return reply{err: err}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After")}
	if json.Unmarshal(raw, &r.body) != nil {
		r.body = map[string]any{"raw": string(raw)}
	}
	return r
}

func mustParse(raw string) *url.URL {
	u, err := url.Parse(raw)
	if err != nil {
		panic(err)
	}
	return u
}

func (l *faultLoad) count(outcome string) {
	l.mu.Lock()
	l.counts[outcome]++
	l.mu.Unlock()
}

func (l *faultLoad) saw503() {
	if l.begun.Load() {
		l.n503.Add(1)
		l.last503.Store(int64(time.Since(l.start)))
	}
}

// fail reports a failure from any goroutine; the first ten are shown.
func (l *faultLoad) fail(format string, args ...any) {
	if l.failures.Add(1) <= 10 {
		l.t.Errorf(format, args...)
	}
}

// libraryGoroutines returns how many goroutines labelled with name run
// code of the library, of a store or of a store's driver, other than the
// test's own goroutine, and their stacks.
func libraryGoroutines(name string) (int, []string) {
	var buf bytes.Buffer
	pprof.Lookup("goroutine").WriteTo(&buf, 1)
	label := fmt.Sprintf("%q:%q", "scenario", name)
	n := 0
	var stacks []string
	for rec := range strings.SplitSeq(buf.String(), "\n\n") {
		if !strings.Contains(rec, label) || strings.Contains(rec, "scenario.FaultsUnderLoad") {
			continue
		}
		for _, code := range []string{"github.com/oauthlogin/oauthlogin.", "oauthlogin/store/", "go-redis", "jackc/"} {
			if strings.Contains(rec, code) {
				var count int
				fmt.Sscanf(rec, "%d @", &count) // aggregated: "count @ pcs"
				n += count
				stacks = append(stacks, rec)
				break
			}
		}
	}
	return n, stacks
}
