package bench

import (
	"context"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/oauthlogin/oauthlogin/store/pgstore"
	"github.com/oauthlogin/oauthlogin/store/redisstore"
)

// world is what every test and benchmark of the process shares: the fake
// provider, the back-channel client, the browsers' client and the apps.
// goth keeps its providers and store in package variables, so there is one
// world per process.
type world struct {
	fake     *Fake
	back     *http.Client
	browsers *http.Client
	apps     map[string]*App // oauthlogin, goth, zitadel, cap, oauthlogin-refresh
	closers  []func()

	storeMu sync.Mutex
	stores  map[string]*App      // oauthlogin-redis, oauthlogin-postgres, built on demand
	storms  map[string]*stormApp // BenchmarkStorm's rows, built on demand
}

// peers are the libraries compared, in table order; rows adds the floor
// app, the yardstick.
var (
	peers = []string{"oauthlogin", "goth", "zitadel", "cap"}
	rows  = append([]string{"floor"}, peers...)
)

var (
	theWorld *world
	worldErr error
	once     sync.Once
)

func getWorld(tb testing.TB) *world {
	tb.Helper()
	once.Do(func() { theWorld, worldErr = newWorld() })
	if worldErr != nil {
		tb.Fatal(worldErr)
	}
	return theWorld
}

func newWorld() (*world, error) {
	w := &world{fake: NewFake(), back: NewBackChannel(), browsers: NewBrowserClient(), apps: map[string]*App{}, stores: map[string]*App{},
		storms: map[string]*stormApp{}}
	w.closers = append(w.closers, w.fake.Close)
	add := func(a *App, err error) error {
		if err != nil {
			return err
		}
		w.apps[a.Name] = a
		w.closers = append(w.closers, a.Close)
		return nil
	}
	if err := add(NewFloorApp(w.fake, w.back)); err != nil {
		return nil, err
	}
	if err := add(NewOauthloginApp("oauthlogin", w.fake, w.back, nil, 0)); err != nil {
		return nil, err
	}
	// Provider tokens that last a minute, always within the 5-minute
	// refresh margin.
	if err := add(NewOauthloginApp("oauthlogin-refresh", w.fake, w.back, nil, 60)); err != nil {
		return nil, err
	}
	if err := add(NewGothApp(w.fake, w.back)); err != nil {
		return nil, err
	}
	if err := add(NewZitadelApp(w.fake, w.back)); err != nil {
		return nil, err
	}
	if err := add(NewCapApp(w.fake, w.back)); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *world) close() {
	for i := len(w.closers) - 1; i >= 0; i-- {
		w.closers[i]()
	}
}

// storeApp returns an oauthlogin app on the Redis or PostgreSQL store,
// skipping when its server is not configured.
func (w *world) storeApp(tb testing.TB, kind string) *App {
	tb.Helper()
	w.storeMu.Lock()
	defer w.storeMu.Unlock()
	if a := w.stores[kind]; a != nil {
		return a
	}
	var store Store
	switch kind {
	case "redis":
		addr := os.Getenv("OAUTHLOGIN_TEST_REDIS")
		if addr == "" {
			tb.Skip("OAUTHLOGIN_TEST_REDIS is not set")
		}
		rdb := redis.NewClient(&redis.Options{Addr: addr})
		if err := rdb.Ping(context.Background()).Err(); err != nil {
			tb.Skipf("Redis at %s: %v", addr, err)
		}
		prefix := "bench-" + randomString(6) + ":"
		store = redisstore.New(rdb, redisstore.Options{Prefix: prefix})
		w.closers = append(w.closers, func() {
			ctx := context.Background()
			iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
			for iter.Next(ctx) {
				rdb.Del(ctx, iter.Val())
			}
			rdb.Close()
		})
	case "postgres":
		dsn := os.Getenv("OAUTHLOGIN_TEST_POSTGRES")
		if dsn == "" {
			tb.Skip("OAUTHLOGIN_TEST_POSTGRES is not set")
		}
		pool, err := pgxpool.New(context.Background(), dsn)
		if err != nil {
			tb.Skipf("PostgreSQL: %v", err)
		}
		if err := pool.Ping(context.Background()); err != nil {
			tb.Skipf("PostgreSQL: %v", err)
		}
		schema := "bench_" + strings.ToLower(strings.NewReplacer("-", "", "_", "").Replace(randomString(6)))
		s := pgstore.New(pool, pgstore.Options{Schema: schema})
		if err := s.Migrate(context.Background()); err != nil {
			tb.Fatal(err)
		}
		store = s
		w.closers = append(w.closers, func() {
			pool.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
			pool.Close()
		})
	default:
		tb.Fatalf("unknown store %q", kind)
	}
	a, err := NewOauthloginApp("oauthlogin-"+kind, w.fake, w.back, store, 0)
	if err != nil {
		tb.Fatal(err)
	}
	w.closers = append(w.closers, a.Close)
	w.stores[kind] = a
	return a
}

func TestMain(m *testing.M) {
	code := m.Run()
	if theWorld != nil {
		theWorld.close()
	}
	os.Exit(code)
}
