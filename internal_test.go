package oauthlogin

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

func TestSealOpen(t *testing.T) {
	k1, k2 := GenerateCookieKey(), GenerateCookieKey()
	old, err := newKeyring([]CookieKey{k1}, nil, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := newKeyring([]CookieKey{k2, k1}, nil, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	tok := &oauth2.Token{AccessToken: "access", RefreshToken: "refresh", TokenType: "Bearer"}
	sealed, err := old.seal(tok, "session:a")
	if err != nil {
		t.Fatal(err)
	}
	for name, k := range map[string]*keyring{"same keys": old, "rotated keys": rotated} {
		got, err := k.open(sealed, "session:a")
		if err != nil || got.AccessToken != "access" || got.RefreshToken != "refresh" || got.TokenType != "Bearer" {
			t.Fatalf("%s: open = %+v, %v", name, got, err)
		}
	}
	again, _ := old.seal(tok, "session:a")
	if string(again) == string(sealed) {
		t.Fatal("sealing twice gave the same bytes: the nonce is not random")
	}
	if _, err := old.open(sealed, "session:b"); !errors.Is(err, errUnseal) {
		t.Fatalf("open under another record: %v", err)
	}
	tampered := append([]byte(nil), sealed...)
	tampered[len(tampered)-1] ^= 1
	if _, err := old.open(tampered, "session:a"); !errors.Is(err, errUnseal) {
		t.Fatalf("open tampered: %v", err)
	}
	newOnly, _ := newKeyring([]CookieKey{k2}, nil, time.Minute)
	if _, err := newOnly.open(sealed, "session:a"); !errors.Is(err, errUnseal) {
		t.Fatalf("open after the key was dropped: %v", err)
	}
	if _, err := old.open(sealed[:3], "session:a"); !errors.Is(err, errUnseal) {
		t.Fatalf("open truncated: %v", err)
	}
	if got, err := old.open(nil, "session:a"); got != nil || err != nil {
		t.Fatalf("open(nil) = %v, %v", got, err)
	}
}

// A session past its Expires is refused even when a store still returns it.
func TestExpiredSessionRefused(t *testing.T) {
	m, err := New(Config{BaseURL: "http://localhost", Keys: Keys{Cookie: []CookieKey{GenerateCookieKey()}}, Sessions: SessionOptions{Lifetime: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	token := randomToken(32)
	now := time.Now()
	if err := m.store.SaveSession(context.Background(), &Session{ID: hashID(token), UserID: "u", Expires: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	get := func() int {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("GET", "/auth/session", nil)
		r.AddCookie(&http.Cookie{Name: m.sessionCookie, Value: token})
		m.Handler().ServeHTTP(w, r)
		return w.Code
	}
	if code := get(); code != http.StatusOK {
		t.Fatalf("live session: %d", code)
	}
	m.now = func() time.Time { return now.Add(time.Hour + time.Second) }
	if code := get(); code != http.StatusUnauthorized {
		t.Fatalf("expired session: %d, want 401", code)
	}
}

// A flow cookie past its Expires (on the Manager's clock) ends the login
// with flow_expired, even if the browser still sends it.
func TestFlowExpired(t *testing.T) {
	m, err := New(Config{BaseURL: "http://localhost", Keys: Keys{Cookie: []CookieKey{GenerateCookieKey()}}, Sessions: SessionOptions{FlowLifetime: time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	m.now = func() time.Time { return now }
	f := &flow{Provider: "p", State: randomToken(32), Success: "http://localhost/ok", Failure: "http://localhost/failed", Expires: now.Add(time.Minute).Unix()}
	w := httptest.NewRecorder()
	if err := m.setFlowCookie(w, f, false); err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/auth/p/callback?state="+f.State, nil)
	for _, c := range w.Result().Cookies() {
		r.AddCookie(c)
	}
	if _, _, err := m.findFlow(r, "p", f.State); err != nil {
		t.Fatalf("live flow: %v", err)
	}
	m.now = func() time.Time { return now.Add(time.Minute) }
	got, _, err := m.findFlow(r, "p", f.State)
	if !errors.Is(err, errFlowExpired) || got == nil {
		t.Fatalf("expired flow: %v, %v; want the flow and errFlowExpired", got, err)
	}
}

func TestRedact(t *testing.T) {
	got := redact(`oidc: expected "abc" got "s3cret-state", code s3cret-code`, "s3cret-state", "", "s3cret-code")
	if strings.Contains(got, "s3cret") || strings.Count(got, "[redacted]") != 2 {
		t.Fatalf("redact = %q", got)
	}
}

// A session unused for IdleTimeout has ended; use within it keeps it alive.
func TestIdleTimeout(t *testing.T) {
	m, err := New(Config{BaseURL: "http://localhost", Keys: Keys{Cookie: []CookieKey{GenerateCookieKey()}}, Sessions: SessionOptions{IdleTimeout: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	clock := start
	m.now = func() time.Time { return clock }
	token := randomToken(32)
	if err := m.store.SaveSession(context.Background(), &Session{ID: hashID(token), UserID: "u", Created: start, LastSeen: start, Expires: start.Add(30 * 24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	get := func() int {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("GET", "/auth/session", nil)
		r.AddCookie(&http.Cookie{Name: m.sessionCookie, Value: token})
		m.Handler().ServeHTTP(w, r)
		return w.Code
	}
	for range 5 { // five uses, 50 minutes apart: each within the timeout
		clock = clock.Add(50 * time.Minute)
		if code := get(); code != http.StatusOK {
			t.Fatalf("session used every 50 minutes ended at %v: %d", clock.Sub(start), code)
		}
	}
	clock = clock.Add(time.Hour)
	if code := get(); code != http.StatusUnauthorized {
		t.Fatalf("idle session: %d, want 401", code)
	}
	if _, err := m.store.Session(context.Background(), hashID(token)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the idle session is still stored: %v", err)
	}
}

func TestCookieValue(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Add("Cookie", "oauthlogin_session.0=chunk; other=1")
	r.Header.Add("Cookie", `x=y;  oauthlogin_session="quoted" ; z=`)
	if v, n := cookieValue(r, "oauthlogin_session"); n != 1 || v != "quoted" {
		t.Fatalf("cookieValue = %q, %d", v, n)
	}
	if v, n := cookieValue(r, "oauthlogin_session.0"); n != 1 || v != "chunk" {
		t.Fatalf("chunk = %q, %d", v, n)
	}
	if _, n := cookieValue(r, "missing"); n != 0 {
		t.Fatal("found a missing cookie")
	}
	if v, n := cookieValue(r, "z"); n != 1 || v != "" {
		t.Fatalf("empty value = %q, %d", v, n)
	}
	// The same name twice, in one header or across two, is counted.
	r.Header.Add("Cookie", "oauthlogin_session=second")
	if _, n := cookieValue(r, "oauthlogin_session"); n != 2 {
		t.Fatalf("duplicate across headers: n = %d, want 2", n)
	}
	r.Header.Set("Cookie", "a=1; a=2; a=3")
	if _, n := cookieValue(r, "a"); n != 2 {
		t.Fatalf("duplicate in one header: n = %d, want 2 (counted up to 2)", n)
	}
}

func TestHashIDLong(t *testing.T) {
	short, long := hashID("a"), hashID(strings.Repeat("a", 1000))
	if len(short) != 43 || len(long) != 43 || short == long {
		t.Fatalf("hashID: %q %q", short, long)
	}
}

// A new session token ends the chunks of an earlier, longer one that it
// does not replace: read with it they would corrupt it, and beside a single
// cookie they would make the session ambiguous (no session).
func TestSetSessionCookieEndsStaleChunks(t *testing.T) {
	m, err := New(Config{BaseURL: "http://localhost", Keys: Keys{Cookie: []CookieKey{GenerateCookieKey()}}})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/", nil)
	for i := range 3 {
		r.AddCookie(&http.Cookie{Name: m.sessionCookie + "." + string(rune('0'+i)), Value: "old"})
	}
	for _, tc := range []struct {
		token       string
		set, ended  []string
		readBackLen int
	}{
		{strings.Repeat("a", chunkSize+10), []string{".0", ".1"}, []string{".2"}, chunkSize + 10},
		{"short", []string{""}, []string{".0", ".1", ".2"}, len("short")},
	} {
		w := httptest.NewRecorder()
		m.setSessionCookie(w, r, tc.token, m.now().Add(time.Hour))
		set, ended := map[string]bool{}, map[string]bool{}
		next := httptest.NewRequest("GET", "/", nil)
		for _, c := range w.Result().Cookies() {
			suffix := strings.TrimPrefix(c.Name, m.sessionCookie)
			if c.MaxAge < 0 {
				ended[suffix] = true
				continue
			}
			set[suffix] = true
			next.AddCookie(c)
		}
		for _, s := range tc.set {
			if !set[s] {
				t.Errorf("token of %d bytes: cookie %q not set (set %v)", len(tc.token), s, set)
			}
		}
		for _, s := range tc.ended {
			if !ended[s] {
				t.Errorf("token of %d bytes: stale cookie %q not ended (ended %v)", len(tc.token), s, ended)
			}
		}
		if got, dup := m.cookieToken(next); dup || got != tc.token {
			t.Errorf("token of %d bytes read back as %d bytes (dup %v)", len(tc.token), len(got), dup)
		}
	}
}

// coreStore is a Store with none of the optional capabilities: no
// SessionLister, no SessionToucher.
type coreStore struct{ Store }

// The Manager asserts the optional capabilities once, at New: a store
// without SessionToucher cannot have an IdleTimeout (ErrConfig, saying
// why), and one without SessionLister lists no sessions (unsupported).
func TestStoreCapabilitiesAtNew(t *testing.T) {
	keys := []CookieKey{GenerateCookieKey()}
	_, err := New(Config{BaseURL: "http://localhost", Keys: Keys{Cookie: keys}, Store: coreStore{NewMemoryStore()}, Sessions: SessionOptions{IdleTimeout: time.Hour}})
	if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "SessionToucher") {
		t.Fatalf("IdleTimeout without a SessionToucher: %v, want ErrConfig naming SessionToucher", err)
	}
	m, err := New(Config{BaseURL: "http://localhost", Keys: Keys{Cookie: keys}, Store: coreStore{NewMemoryStore()}})
	if err != nil {
		t.Fatal(err)
	}
	if m.toucher != nil {
		t.Fatal("a store without TouchSession was taken as a SessionToucher")
	}
	if _, err := m.codec.list(context.Background(), "u"); !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("list without a SessionLister: %v, want ErrUnsupported", err)
	}
	mem := NewMemoryStore()
	m, err = New(Config{BaseURL: "http://localhost", Keys: Keys{Cookie: keys}, Store: mem, Sessions: SessionOptions{IdleTimeout: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	if m.store != Store(mem) || m.toucher != SessionToucher(mem) || m.codec.(storedSessions).lister != SessionLister(mem) {
		t.Fatal("the memory store's capabilities were not found")
	}
	if m, err = New(Config{BaseURL: "http://localhost", Keys: Keys{Cookie: keys}}); err != nil || m.store == nil {
		t.Fatalf("default store: %v", err)
	}
}
