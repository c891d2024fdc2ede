package oauthlogin

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

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
