package oauthlogin

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// sessionSetCookies returns the Set-Cookie lines that set (not end) the
// session cookie or one of its chunks.
func sessionSetCookiesV7(t *testing.T, m *Manager, token string, expires time.Time) []string {
	t.Helper()
	w := httptest.NewRecorder()
	m.setSessionCookie(w, httptest.NewRequest("GET", "/", nil), token, expires)
	var out []string
	for _, line := range w.Result().Header.Values("Set-Cookie") {
		if strings.HasPrefix(line, m.sessionCookie) && !strings.Contains(line, "Max-Age=0") {
			out = append(out, line)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no session cookie set: %q", w.Result().Header.Values("Set-Cookie"))
	}
	return out
}

func newAttackV7Manager(t *testing.T, now time.Time) *Manager {
	t.Helper()
	m, err := New(Config{BaseURL: "http://localhost", Keys: Keys{Cookie: []CookieKey{GenerateCookieKey()}}})
	if err != nil {
		t.Fatal(err)
	}
	m.now = func() time.Time { return now }
	return m
}

// Guard: a session cookie (single or chunked) lives exactly as long as its
// session, by Max-Age, and nothing longer.
func TestAttackV7SessionCookieMaxAgeIsSessionLifetime(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	m := newAttackV7Manager(t, now)
	for _, token := range []string{"short", strings.Repeat("a", 2*chunkSize+1)} {
		for _, line := range sessionSetCookiesV7(t, m, token, now.Add(time.Hour)) {
			if !strings.Contains(line, "; Max-Age=3600") {
				t.Errorf("token of %d bytes: %q has no Max-Age=3600", len(token), line)
			}
		}
	}
}

// A session cookie must never outlive its session: RFC 6265 §5.3 step 3
// makes a cookie with neither Max-Age nor Expires a non-persistent cookie
// that lives until the browser session ends (and, with session restore,
// beyond). A session with less than a second left (a client-held session
// resealed by a refresh just before it ends, a login with a lifetime
// below a second) gets MaxAge 0, which net/http writes as no Max-Age at
// all; before Max-Age alone, Expires still bounded it.
func TestAttackV7SessionCookieSubSecondLifetimeUnbounded(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	m := newAttackV7Manager(t, now)
	for _, left := range []time.Duration{500 * time.Millisecond, time.Nanosecond} {
		for _, token := range []string{"short", strings.Repeat("a", chunkSize+1)} {
			for _, line := range sessionSetCookiesV7(t, m, token, now.Add(left)) {
				if !strings.Contains(line, "Max-Age=") && !strings.Contains(line, "Expires=") {
					name, attrs, _ := strings.Cut(line, "=")
					if i := strings.Index(attrs, ";"); i >= 0 {
						attrs = attrs[i:]
					}
					t.Errorf("%v left, token of %d bytes: cookie %s (%q) has neither Max-Age nor Expires: it lives until the browser closes", left, len(token), name, attrs)
				}
			}
		}
	}
}
