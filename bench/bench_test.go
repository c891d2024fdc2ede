package bench

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"golang.org/x/oauth2"
)

// loginBatch is how many logins begin before their tokens are presigned
// (with the timer stopped) and they are finished.
const loginBatch = 50

// BenchmarkLogin is a whole login as a browser makes it: begin, the
// provider's authorization endpoint, the callback (token request, ID token
// verification where the library does it, userinfo). The provider's ID
// tokens are signed with the timer stopped; its handlers' time is
// reported as fake-ns/op and taken out of client-ns/op.
func BenchmarkLogin(b *testing.B) {
	w := getWorld(b)
	for _, name := range rows {
		b.Run(name, func(b *testing.B) { benchLogin(b, w, w.apps[name]) })
	}
}

func benchLogin(b *testing.B, w *world, app *App) {
	browsers := make([]*Browser, loginBatch)
	for i := range browsers {
		browsers[i] = NewBrowser(w.browsers)
	}
	auths := make([]string, loginBatch)
	// Warm up: connections, discovery and key caches, lazy set-up.
	for range 3 {
		if err := NewBrowser(w.browsers).Login(app, w.fake); err != nil {
			b.Fatal(err)
		}
	}
	w.fake.ResetCounters()
	cookieBytes := 0
	var cpu cpuMeter
	b.ReportAllocs()
	b.ResetTimer()
	cpu.start()
	for done := 0; done < b.N; {
		k := min(loginBatch, b.N-done)
		for i := range k {
			browsers[i].Reset()
			auth, err := browsers[i].Begin(app)
			if err != nil {
				b.Fatal(err)
			}
			auths[i] = auth
		}
		cpu.stop()
		b.StopTimer()
		for i := range k {
			if err := w.fake.PresignFor(auths[i]); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		cpu.start()
		for i := range k {
			ok, err := browsers[i].Finish(app, auths[i])
			if err != nil || !ok {
				b.Fatalf("login %d: ok %v, %v", done+i, ok, err)
			}
			cookieBytes += browsers[i].SetCookieBytes
		}
		done += k
	}
	cpu.stop()
	b.StopTimer()
	reportFake(b, w.fake, cpu.total)
	b.ReportMetric(float64(cookieBytes)/float64(b.N), "setcookie-B/op")
}

// measure runs op b.N times, timed, with the fake's counters reset first,
// and reports allocations, the process's CPU time and the fake's share.
func measure(b *testing.B, f *Fake, op func()) {
	f.ResetCounters()
	var cpu cpuMeter
	b.ReportAllocs()
	b.ResetTimer()
	cpu.start()
	for range b.N {
		op()
	}
	cpu.stop()
	b.StopTimer()
	reportFake(b, f, cpu.total)
}

// reportFake reports the provider's share: its handlers' time, the time
// left for the client, and the back-channel requests; and the CPU time the
// process spent (client, fake and loopback alike).
func reportFake(b *testing.B, f *Fake, cpu time.Duration) {
	n := float64(b.N)
	b.ReportMetric(float64(cpu.Nanoseconds())/n, "cpu-ns/op")
	busy := f.Busy()
	b.ReportMetric(float64(busy.Nanoseconds())/n, "fake-ns/op")
	b.ReportMetric(float64((b.Elapsed()-busy).Nanoseconds())/n, "client-ns/op")
	keys := f.Hits(Discovery) + f.Hits(JWKS)
	b.ReportMetric(float64(keys+f.Hits(Token)+f.Hits(UserInfo))/n, "backchannel/op")
	b.ReportMetric(float64(keys)/n, "disco-jwks/op")
}

// cpuMeter adds up the process's CPU time (user and system, all threads)
// over the measured phases.
type cpuMeter struct{ total, from time.Duration }

func (m *cpuMeter) start() { m.from = cpuTime() }
func (m *cpuMeter) stop()  { m.total += cpuTime() - m.from }

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// sink is a ResponseWriter that keeps the status and headers only.
type sink struct {
	h    http.Header
	code int
}

func newSink() *sink { return &sink{h: http.Header{}} }

func (s *sink) Header() http.Header { return s.h }
func (s *sink) Write(p []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return len(p), nil
}
func (s *sink) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
}
func (s *sink) reset() {
	clear(s.h)
	s.code = 0
}

// serve calls h with a shallow copy of req, as a server passes each
// request fresh (gorilla/sessions caches its registry in the request).
func serve(h http.Handler, s *sink, req *http.Request) int {
	s.reset()
	r := *req
	h.ServeHTTP(s, &r)
	if s.code == 0 {
		return http.StatusOK // as a server answers for a handler that wrote nothing
	}
	return s.code
}

// BenchmarkBegin is the begin request alone, handled without HTTP: random
// values, PKCE, the sealed state and the redirect.
func BenchmarkBegin(b *testing.B) {
	w := getWorld(b)
	for _, name := range rows {
		b.Run(name, func(b *testing.B) {
			app := w.apps[name]
			req := httptest.NewRequest(http.MethodGet, app.BeginURL, nil)
			s := newSink()
			b.ReportAllocs()
			for b.Loop() {
				if code := serve(app.Handler, s, req); code != http.StatusFound && code != http.StatusTemporaryRedirect {
					b.Fatal(code)
				}
			}
		})
	}
}

// BenchmarkAuthenticated is one request to an empty handler behind the
// app's session middleware: cookie to session in context. "none" is the
// empty handler alone.
func BenchmarkAuthenticated(b *testing.B) {
	w := getWorld(b)
	rows := []struct{ name, app string }{
		{"none", ""},
		{"oauthlogin-memory", "oauthlogin"},
		{"oauthlogin-redis", "redis"},
		{"oauthlogin-postgres", "postgres"},
		{"goth", "goth"},
	}
	for _, row := range rows {
		b.Run(row.name, func(b *testing.B) {
			h := http.Handler(empty)
			req := httptest.NewRequest(http.MethodGet, "/private", nil)
			if row.app != "" {
				app := w.apps[row.app]
				if app == nil {
					app = w.storeApp(b, row.app)
				}
				br := NewBrowser(w.browsers)
				if err := br.Login(app, w.fake); err != nil {
					b.Fatal(err)
				}
				req.Header.Set("Cookie", br.cookieHeader(req.URL))
				h = app.Private
			}
			s := newSink()
			b.ReportAllocs()
			for b.Loop() {
				if code := serve(h, s, req); code != http.StatusOK {
					b.Fatal(code)
				}
			}
		})
	}
}

// BenchmarkRefresh is POST {prefix}refresh on a session fresh from a
// login: the token request over loopback, and the identity and session
// writes. (Calls within 10 seconds of the identity's last refresh reuse it
// and ask the provider nothing; BenchmarkRefreshReused in the root package
// measures those.)
func BenchmarkRefresh(b *testing.B) {
	w := getWorld(b)
	b.Run("oauthlogin", func(b *testing.B) {
		// A refresh finished within the last 10 s is reused, not repeated,
		// so each measured refresh follows a new login (untimed): a login's
		// tokens are never reused, and the refresh reaches the provider.
		app := w.apps["oauthlogin-refresh"]
		br := NewBrowser(w.browsers)
		req := httptest.NewRequest(http.MethodPost, app.URL+"/auth/refresh", nil)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		s := newSink()
		var cpu cpuMeter
		var busy time.Duration
		var tokens int64
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			b.StopTimer()
			if err := br.Login(app, w.fake); err != nil {
				b.Fatal(err)
			}
			req.Header.Set("Cookie", br.cookieHeader(req.URL))
			w.fake.ResetCounters()
			b.StartTimer()
			cpu.start()
			if code := serve(app.Handler, s, req); code != http.StatusOK {
				b.Fatal(code)
			}
			cpu.stop()
			b.StopTimer()
			busy += w.fake.Busy()
			tokens += w.fake.Hits(Token)
		}
		if tokens != int64(b.N) {
			b.Fatalf("%d token requests for %d refreshes", tokens, b.N)
		}
		n := float64(b.N)
		b.ReportMetric(float64(cpu.total.Nanoseconds())/n, "cpu-ns/op")
		b.ReportMetric(float64(busy.Nanoseconds())/n, "fake-ns/op")
		b.ReportMetric(float64((b.Elapsed()-busy).Nanoseconds())/n, "client-ns/op")
		b.ReportMetric(float64(tokens)/n, "backchannel/op")
	})
}

// BenchmarkFloor measures the pieces no secure login can skip, in the same
// run, as the yardstick of the others.
func BenchmarkFloor(b *testing.B) {
	w := getWorld(b)
	b.Run("rand-32B", func(b *testing.B) {
		var buf [32]byte
		b.ReportAllocs()
		for b.Loop() {
			rand.Read(buf[:])
		}
	})
	verifier := randomString(32)
	b.Run("pkce-S256", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sum := sha256.Sum256([]byte(verifier))
			_ = base64.RawURLEncoding.EncodeToString(sum[:])
		}
	})
	sc := securecookie.New(securecookie.GenerateRandomKey(64), securecookie.GenerateRandomKey(32))
	sc.SetSerializer(securecookie.JSONEncoder{})
	flow := flowValue{Provider: "fake", State: randomString(32), Verifier: verifier, Nonce: randomString(32),
		Success: "https://app.example.com/done", Failure: "https://app.example.com/failed", Expires: time.Now().Add(10 * time.Minute).Unix()}
	const cookieName = "oauthlogin_flow_0123456789abcdef"
	sealed, err := sc.Encode(cookieName, flow)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("cookie-encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := sc.Encode(cookieName, flow); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cookie-decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var f flowValue
			if err := sc.Decode(cookieName, sealed, &f); err != nil {
				b.Fatal(err)
			}
		}
	})

	floor := &FakeClient{ID: "floor", Secret: "secret-floor", RedirectURI: "http://127.0.0.1/floor/callback", Reusable: true}
	w.fake.AddClient(floor)
	nonce := randomString(32)
	access, err := w.fake.AddFloorGrant(floor.ID, nonce, verifier)
	if err != nil {
		b.Fatal(err)
	}
	idToken := w.fake.IDTokenFor(floor.ID, nonce)
	b.Run("rsa2048-verify", func(b *testing.B) {
		pub := w.fake.PublicKey()
		b.ReportAllocs()
		for b.Loop() {
			i := strings.LastIndexByte(idToken, '.')
			sig, err := base64.RawURLEncoding.DecodeString(idToken[i+1:])
			if err != nil {
				b.Fatal(err)
			}
			sum := sha256.Sum256([]byte(idToken[:i]))
			if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
				b.Fatal(err)
			}
		}
	})
	form := url.Values{"grant_type": {"authorization_code"}, "code": {"floor"}, "redirect_uri": {floor.RedirectURI}, "code_verifier": {verifier}}.Encode()
	b.Run("token-POST", func(b *testing.B) {
		tokenPOST := func() {
			req, err := http.NewRequest(http.MethodPost, w.fake.URL+"/token", strings.NewReader(form))
			if err != nil {
				b.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(floor.ID, floor.Secret)
			resp, err := w.back.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			var tok struct {
				AccessToken  string `json:"access_token"`
				TokenType    string `json:"token_type"`
				ExpiresIn    int    `json:"expires_in"`
				RefreshToken string `json:"refresh_token"`
				IDToken      string `json:"id_token"`
			}
			if err != nil || resp.StatusCode != http.StatusOK || json.Unmarshal(body, &tok) != nil || tok.IDToken == "" {
				b.Fatalf("token: %d %s %v", resp.StatusCode, body, err)
			}
		}
		tokenPOST() // a connection to reuse
		measure(b, w.fake, tokenPOST)
	})
	// The same request through x/oauth2, as oauthlogin sends it: the
	// difference from token-POST is x/oauth2's own work (the form, the
	// client from the context, the answer decoded into a struct and again
	// into a map for Token.Extra).
	b.Run("token-x-oauth2", func(b *testing.B) {
		cfg := oauth2.Config{ClientID: floor.ID, ClientSecret: floor.Secret, RedirectURL: floor.RedirectURI,
			Endpoint: oauth2.Endpoint{TokenURL: w.fake.URL + "/token", AuthStyle: oauth2.AuthStyleInHeader}}
		ctx := context.WithValue(context.Background(), oauth2.HTTPClient, w.back)
		exchange := func() {
			tok, err := cfg.Exchange(ctx, "floor", oauth2.VerifierOption(verifier))
			if err != nil || tok.Extra("id_token") == nil {
				b.Fatalf("token: %v", err)
			}
		}
		exchange() // a connection to reuse
		measure(b, w.fake, exchange)
	})
	b.Run("userinfo-GET", func(b *testing.B) {
		userinfo := func() {
			req, err := http.NewRequest(http.MethodGet, w.fake.URL+"/userinfo", nil)
			if err != nil {
				b.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+access)
			resp, err := w.back.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			var info struct {
				Sub           string `json:"sub"`
				Email         string `json:"email"`
				EmailVerified bool   `json:"email_verified"`
				Name          string `json:"name"`
			}
			if err != nil || resp.StatusCode != http.StatusOK || json.Unmarshal(body, &info) != nil || info.Sub != Subject {
				b.Fatalf("userinfo: %d %s %v", resp.StatusCode, body, err)
			}
		}
		userinfo()
		measure(b, w.fake, userinfo)
	})
	b.Run("redis-GET", func(b *testing.B) {
		addr := os.Getenv("OAUTHLOGIN_TEST_REDIS")
		if addr == "" {
			b.Skip("OAUTHLOGIN_TEST_REDIS is not set")
		}
		rdb := redis.NewClient(&redis.Options{Addr: addr})
		defer rdb.Close()
		ctx := context.Background()
		key := "bench-floor:" + randomString(8)
		if err := rdb.Set(ctx, key, randomKey(300), time.Minute).Err(); err != nil {
			b.Skipf("Redis at %s: %v", addr, err)
		}
		defer rdb.Del(ctx, key)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := rdb.Get(ctx, key).Bytes(); err != nil {
				b.Fatal(err)
			}
		}
	})
	// The yardsticks of the store rows of BenchmarkAuthenticated: the one
	// read a session check makes, sent raw on the same connection
	// settings, for the key of a session that one login stored.
	b.Run("redis-session-read", func(b *testing.B) { benchRedisSessionRead(b, w) })
	b.Run("postgres-session-read", func(b *testing.B) { benchPostgresSessionRead(b, w) })
	// Not a floor piece: one browser round trip to an empty app handler,
	// of which a login makes three (begin, the provider hop, callback).
	b.Run("loopback-GET", func(b *testing.B) {
		br := NewBrowser(w.browsers)
		u := w.apps["oauthlogin"].SuccessURL
		b.ReportAllocs()
		for b.Loop() {
			if status, _, err := br.Get(u); err != nil || status != http.StatusOK {
				b.Fatal(status, err)
			}
		}
	})
}

// loginSessionID logs in once through app and returns the ID its store
// keeps the session under: the hash of the session cookie's token, as the
// Manager computes it (base64url of its SHA-256).
func loginSessionID(b *testing.B, w *world, app *App) string {
	b.Helper()
	br := NewBrowser(w.browsers)
	if err := br.Login(app, w.fake); err != nil {
		b.Fatal(err)
	}
	token, ok := br.Cookie(app.SessionCookie)
	if !ok || token == "" {
		b.Fatalf("no %s cookie after a login", app.SessionCookie)
	}
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// benchRedisSessionRead is the HMGET that redisstore's Session sends
// (the same fields, through Do as it does), on the hash of a session one
// login through the Redis-backed app stored.
func benchRedisSessionRead(b *testing.B, w *world) {
	app := w.storeApp(b, "redis") // skips when OAUTHLOGIN_TEST_REDIS is not set
	id := loginSessionID(b, w, app)
	rdb := redis.NewClient(&redis.Options{Addr: os.Getenv("OAUTHLOGIN_TEST_REDIS")})
	defer rdb.Close()
	ctx := context.Background()
	// The app's key prefix is its own; the key ends in "s:" and the ID.
	var keys []string
	iter := rdb.Scan(ctx, 0, "*s:"+id, 1000).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		b.Fatal(err)
	}
	if len(keys) != 1 {
		b.Fatalf("%d keys end in s:%s, want the one session record", len(keys), id)
	}
	read := func() {
		vals, err := rdb.Do(ctx, "HMGET", keys[0], "v", "l", "t", "x", "f").Slice()
		if err != nil || len(vals) != 5 || vals[0] == nil {
			b.Fatalf("HMGET %s: %v, %v", keys[0], vals, err)
		}
	}
	read()
	b.ReportAllocs()
	for b.Loop() {
		read()
	}
}

// benchPostgresSessionRead is the SELECT that pgstore's Session runs (the
// same statement and arguments, scanned into values of the same types),
// on the row of a session one login through the PostgreSQL-backed app
// stored, through a pool set up as the app's.
func benchPostgresSessionRead(b *testing.B, w *world) {
	app := w.storeApp(b, "postgres") // skips when OAUTHLOGIN_TEST_POSTGRES is not set
	id := loginSessionID(b, w, app)
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("OAUTHLOGIN_TEST_POSTGRES"))
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	// The app's schema is its own: find the sessions table that holds id.
	rows, err := pool.Query(ctx, `SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relname = 'oauthlogin_sessions' AND c.relkind = 'r'`)
	if err != nil {
		b.Fatal(err)
	}
	var schemas []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			b.Fatal(err)
		}
		schemas = append(schemas, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	var table string
	for _, s := range schemas {
		t := pgIdent(s) + "." + pgIdent("oauthlogin_sessions")
		var n int
		if err := pool.QueryRow(ctx, "SELECT count(*) FROM "+t+" WHERE id = $1", id).Scan(&n); err != nil {
			b.Fatal(err)
		}
		if n == 1 {
			table = t
			break
		}
	}
	if table == "" {
		b.Fatalf("no oauthlogin_sessions table of %v holds the session", schemas)
	}
	query := `SELECT user_id, identity_id, provider, provider_uid, provider_sid, auth_time, acr,
		provider_access_token_expiry, provider_tokens, created, last_seen, expires, ip, user_agent
		FROM ` + table + ` WHERE id = $1 AND expires > $2 AND NOT pending`
	var (
		user, identity, provider, uid, sid, acr, ip, agent string
		tokens                                             []byte
		t                                                  [5]int64
	)
	read := func() {
		err := pool.QueryRow(ctx, query, id, time.Now().UnixMicro()).Scan(&user, &identity, &provider, &uid, &sid,
			&t[0], &acr, &t[1], &tokens, &t[2], &t[3], &t[4], &ip, &agent)
		if err != nil || user == "" {
			b.Fatalf("session row: %q, %v", user, err)
		}
	}
	read()
	b.ReportAllocs()
	for b.Loop() {
		read()
	}
}

// pgIdent quotes a PostgreSQL identifier.
func pgIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
