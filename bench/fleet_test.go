package bench

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	_ "modernc.org/sqlite"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/store/cookiestore"
	"github.com/oauthlogin/oauthlogin/store/pgstore"
	"github.com/oauthlogin/oauthlogin/store/redisstore"
	"github.com/oauthlogin/oauthlogin/store/sqlitestore"
)

// fleetKinds are the stores of the scale figures, in table order.
var fleetKinds = []string{"memory", "cookie", "redis", "redis-cluster", "postgres", "sqlite"}

// Pool sizes of each instance: go-redis's defaults, and 16 connections
// for the SQL stores (pgxpool's default is 4 on 2
// cores, too few for 64 concurrent requests).
const sqlPool = 16

// fleet is two app instances (Managers) sharing one store, as two
// processes of an app would: each its own client or pool to the same
// server or file. The memory row has one instance, since two
// MemoryStores share nothing.
type fleet struct {
	kind     string
	managers []http.Handler
	// store is the store sessions are seeded in.
	store Store
	// token gives the client's token of SampleSession(i) (its
	// SampleToken, or for the cookie store the sealed session).
	token func(i int) (string, error)
	// size is what the store takes now, in bytes (nil: not measured);
	// detail says where it goes.
	size    func(ctx context.Context) (int64, error)
	detail  func(ctx context.Context) string
	closers []func()
}

func (f *fleet) close() {
	for i := len(f.closers) - 1; i >= 0; i-- {
		f.closers[i]()
	}
}

// openFleet opens a fleet on the named store, skipping when its server
// is not configured: OAUTHLOGIN_TEST_REDIS, OAUTHLOGIN_TEST_REDIS_CLUSTER
// (host:port of the masters, comma-separated), OAUTHLOGIN_TEST_POSTGRES.
func openFleet(tb testing.TB, kind string) *fleet {
	tb.Helper()
	ctx := context.Background()
	f := &fleet{kind: kind, token: func(i int) (string, error) { return SampleToken(i), nil }}
	var stores []Store
	switch kind {
	case "memory":
		stores = []Store{oauthlogin.NewMemoryStore()}
	case "cookie":
		// The session is the sealed cookie; the inner store (identities,
		// single-use marks) is not on the path of a session check.
		key := oauthlogin.GenerateCookieKey()
		cs := cookiestore.New(oauthlogin.NewMemoryStore(), key)
		f.token = func(i int) (string, error) { return cs.SealSession(SampleSession(i)) }
		stores = []Store{cs, cookiestore.New(oauthlogin.NewMemoryStore(), key)}
	case "redis":
		addr := os.Getenv("OAUTHLOGIN_TEST_REDIS")
		if addr == "" {
			tb.Skip("OAUTHLOGIN_TEST_REDIS is not set")
		}
		prefix := "bench-" + randomString(6) + ":"
		for range 2 {
			rdb := redis.NewClient(&redis.Options{Addr: addr})
			if err := rdb.Ping(ctx).Err(); err != nil {
				tb.Skipf("Redis at %s: %v", addr, err)
			}
			f.closers = append(f.closers, func() { rdb.Close() })
			stores = append(stores, redisstore.New(rdb, redisstore.Options{Prefix: prefix}))
		}
		rdb := redis.NewClient(&redis.Options{Addr: addr})
		f.closers = append(f.closers, func() { unlinkPrefix(ctx, rdb, prefix); rdb.Close() })
		f.size = func(ctx context.Context) (int64, error) { return usedMemory(ctx, rdb) }
		f.detail = func(ctx context.Context) string { return keyUsage(ctx, rdb, prefix) }
	case "redis-cluster":
		f.clusterFleet(tb, &stores)
	case "postgres":
		dsn := os.Getenv("OAUTHLOGIN_TEST_POSTGRES")
		if dsn == "" {
			tb.Skip("OAUTHLOGIN_TEST_POSTGRES is not set")
		}
		schema := "bench_" + strings.ToLower(strings.NewReplacer("-", "", "_", "").Replace(randomString(6)))
		var pool *pgxpool.Pool
		for range 2 {
			cfg, err := pgxpool.ParseConfig(dsn)
			if err != nil {
				tb.Fatal(err)
			}
			cfg.MaxConns = sqlPool
			pool, err = pgxpool.NewWithConfig(ctx, cfg)
			if err == nil {
				err = pool.Ping(ctx)
			}
			if err != nil {
				tb.Skipf("PostgreSQL: %v", err)
			}
			f.closers = append(f.closers, pool.Close)
			s := pgstore.New(pool, pgstore.Options{Schema: schema})
			if err := s.Migrate(ctx); err != nil {
				tb.Fatal(err)
			}
			stores = append(stores, s)
		}
		f.closers = append(f.closers, func() { pool.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE") })
		table := schema + ".oauthlogin_sessions"
		f.size = func(ctx context.Context) (n int64, err error) {
			// Every table of the schema, with its indexes and TOAST.
			err = pool.QueryRow(ctx, `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint
				FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
				WHERE n.nspname = $1 AND c.relkind = 'r'`, schema).Scan(&n)
			return n, err
		}
		f.detail = func(ctx context.Context) string {
			var heap, toast, index int64
			err := pool.QueryRow(ctx, `SELECT pg_relation_size($1::regclass),
				pg_total_relation_size($1::regclass) - pg_relation_size($1::regclass) - pg_indexes_size($1::regclass),
				pg_indexes_size($1::regclass)`, table).Scan(&heap, &toast, &index)
			if err != nil {
				return err.Error()
			}
			return fmt.Sprintf("sessions: table %d B, TOAST %d B, indexes %d B", heap, toast, index)
		}
	case "sqlite":
		// Not tb.TempDir: a benchmark's fleet outlives the run for one b.N.
		dir, err := os.MkdirTemp("", "oauthlogin-bench-")
		if err != nil {
			tb.Fatal(err)
		}
		f.closers = append(f.closers, func() { os.RemoveAll(dir) })
		path := filepath.Join(dir, "bench.db")
		var db *sql.DB
		for range 2 {
			var err error
			// WAL with synchronous=NORMAL: a commit is durable at the next
			// checkpoint, not at once (SQLite's advice for WAL).
			db, err = sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)")
			if err != nil {
				tb.Fatal(err)
			}
			db.SetMaxOpenConns(sqlPool)
			db.SetMaxIdleConns(sqlPool)
			f.closers = append(f.closers, func() { db.Close() })
			s := sqlitestore.New(db)
			if err := s.Migrate(ctx); err != nil {
				tb.Fatal(err)
			}
			stores = append(stores, s)
		}
		f.size = func(ctx context.Context) (int64, error) {
			if _, err := db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
				return 0, err
			}
			st, err := os.Stat(path)
			if err != nil {
				return 0, err
			}
			return st.Size(), nil
		}
	default:
		tb.Fatalf("unknown store %q", kind)
	}
	f.store = stores[0]
	keys := oauthlogin.Keys{Cookie: []oauthlogin.CookieKey{oauthlogin.GenerateCookieKey()}}
	for _, s := range stores {
		m, err := oauthlogin.New(oauthlogin.Config{BaseURL: "http://127.0.0.1", Keys: keys, Store: s})
		if err != nil {
			tb.Fatal(err)
		}
		f.managers = append(f.managers, m.Handler())
	}
	return f
}

// clusterFleet is the Redis Cluster fleet: keys without a hash tag, so
// every session is in its own slot and the cluster spreads them.
func (f *fleet) clusterFleet(tb testing.TB, stores *[]Store) {
	tb.Helper()
	ctx := context.Background()
	addrs := os.Getenv("OAUTHLOGIN_TEST_REDIS_CLUSTER")
	if addrs == "" {
		tb.Skip("OAUTHLOGIN_TEST_REDIS_CLUSTER is not set")
	}
	prefix := "bench-" + randomString(6) + ":"
	var rdb *redis.ClusterClient
	for range 2 {
		rdb = redis.NewClusterClient(&redis.ClusterOptions{Addrs: strings.Split(addrs, ",")})
		if err := rdb.Ping(ctx).Err(); err != nil {
			tb.Skipf("Redis Cluster at %s: %v", addrs, err)
		}
		f.closers = append(f.closers, func() { rdb.Close() })
		*stores = append(*stores, redisstore.New(rdb, redisstore.Options{Prefix: prefix}))
	}
	f.closers = append(f.closers, func() {
		rdb.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
			unlinkPrefix(ctx, node, prefix)
			return nil
		})
	})
	f.size = func(ctx context.Context) (int64, error) {
		var total atomic.Int64
		err := rdb.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
			n, err := usedMemory(ctx, node)
			total.Add(n)
			return err
		})
		return total.Load(), err
	}
	f.detail = func(ctx context.Context) string {
		var mu sync.Mutex // ForEachMaster calls in parallel
		var keys []string
		rdb.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
			n, _ := node.DBSize(ctx).Result()
			mu.Lock()
			defer mu.Unlock()
			keys = append(keys, fmt.Sprintf("%s: %d keys", node.Options().Addr, n))
			return nil
		})
		slices.Sort(keys)
		return strings.Join(keys, "; ")
	}
}

// parallel calls op(i) for i in [from, to) from workers goroutines.
func parallel(from, to, workers int, op func(i int) error) error {
	var next atomic.Int64
	next.Store(int64(from))
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for w := range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= to {
					return
				}
				if err := op(i); err != nil {
					errs[w] = fmt.Errorf("%d: %w", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// seed calls write(s, i) for i in [from, to) from many goroutines, on
// the fleet's store s.
func (f *fleet) seed(from, to int, write func(s Store, i int) error) error {
	if f.kind == "cookie" || from >= to {
		return nil // the cookie is the session
	}
	workers := 64
	if f.kind == "sqlite" {
		workers = 8 // one writer at a time; more only wait on the lock
	}
	return parallel(from, to, workers, func(i int) error { return write(f.store, i) })
}

// seedSessions saves SampleSession(i) for i in [from, to).
func (f *fleet) seedSessions(ctx context.Context, from, to int) error {
	return f.seed(from, to, func(s Store, i int) error { return s.SaveSession(ctx, SampleSession(i)) })
}

// seedIdentities creates SampleIdentity(i) for i in [from, to).
func (f *fleet) seedIdentities(ctx context.Context, from, to int) error {
	return f.seed(from, to, func(s Store, i int) error { return s.CreateIdentity(ctx, SampleIdentity(i)) })
}

// unlinkPrefix deletes every key under prefix, one UNLINK per key (a
// cluster node refuses one of keys in several slots).
func unlinkPrefix(ctx context.Context, rdb *redis.Client, prefix string) {
	iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	pipe := rdb.Pipeline()
	for iter.Next(ctx) {
		if pipe.Unlink(ctx, iter.Val()); pipe.Len() == 1000 {
			pipe.Exec(ctx)
		}
	}
	pipe.Exec(ctx)
}

// usedMemory is INFO memory's used_memory: what the server allocated.
func usedMemory(ctx context.Context, rdb *redis.Client) (int64, error) {
	info, err := rdb.Info(ctx, "memory").Result()
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:"); ok {
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, fmt.Errorf("no used_memory in INFO memory")
}

// keyUsage is MEMORY USAGE of SampleSession(0)'s keys: the session hash
// and its user's index.
func keyUsage(ctx context.Context, rdb *redis.Client, prefix string) string {
	s := SampleSession(0)
	hash, err := rdb.MemoryUsage(ctx, prefix+"s:"+s.ID).Result()
	if err != nil {
		return err.Error()
	}
	index, err := rdb.MemoryUsage(ctx, prefix+"us:"+s.UserID).Result()
	if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("MEMORY USAGE s:<id> %d B, us:<user> %d B", hash, index)
}

// checkRequest is GET /auth/session with the token as a bearer session.
func checkRequest(token string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/auth/session", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	return r
}

// BenchmarkSessionCheck is GET /auth/session, the session as JSON,
// through the Manager's handler (no HTTP), from 32 goroutines per CPU,
// sent in turn to two Managers that share the store. Each op is one
// check, of one of up to 1,000 seeded sessions; checks/s is the
// throughput, token-B the size of the client's token (the cookie store's
// sealed session). The memory row has one Manager (two MemoryStores would
// not share sessions); the cookie row's two Managers share their keys.
func BenchmarkSessionCheck(b *testing.B) {
	type row struct {
		f    *fleet
		reqs []*http.Request
	}
	rows := map[string]*row{}
	defer func() {
		for _, r := range rows {
			r.f.close()
		}
	}()
	ctx := context.Background()
	for _, kind := range fleetKinds {
		b.Run(kind, func(b *testing.B) {
			// Called once per b.N: the fleet is opened once, and seeded
			// with what this b.N needs before the timer starts.
			r := rows[kind]
			if r == nil {
				r = &row{f: openFleet(b, kind)}
				rows[kind] = r
			}
			want := min(max(b.N, 1), 1000)
			if err := r.f.seedSessions(ctx, len(r.reqs), want); err != nil {
				b.Fatal(err)
			}
			for i := len(r.reqs); i < want; i++ {
				tok, err := r.f.token(i)
				if err != nil {
					b.Fatal(err)
				}
				r.reqs = append(r.reqs, checkRequest(tok))
			}
			reqs, managers := r.reqs, r.f.managers
			var next atomic.Int64
			b.SetParallelism(32)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				s := newSink()
				for pb.Next() {
					n := int(next.Add(1))
					if code := serve(managers[n%len(managers)], s, reqs[n%len(reqs)]); code != http.StatusOK {
						b.Errorf("session %d: %d", n%len(reqs), code)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "checks/s")
			b.ReportMetric(float64(len(reqs[0].Header.Get("Authorization"))-len("Bearer ")), "token-B")
		})
	}
}
