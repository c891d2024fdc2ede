package oauthlogin

import (
	"crypto/tls"
	"net/http/httptest"
	"testing"
)

// Which Hosts are loopback aliases of BaseURL's: another loopback name,
// the same port (when none is written, the default of the scheme the
// request came over: TLS or not). Issue 16 (attack report, "loopback
// alias proxy loop"): a port-less Host over plain HTTP is port 80, never
// BaseURL's 443, and a forwarded request is never an alias.
func TestLoopbackAlias(t *testing.T) {
	for _, tc := range []struct {
		base, host string
		alias      bool
		tls        bool
		header     string
	}{
		{"http://localhost:8080", "127.0.0.1:8080", true, false, ""},
		{"http://localhost:8080", "[::1]:8080", true, false, ""},
		{"http://localhost:8080", "127.0.0.2:8080", true, false, ""},
		{"http://127.0.0.1:8080", "localhost:8080", true, false, ""},
		{"http://127.0.0.1:8080", "LocalHost:8080", true, false, ""},
		{"https://localhost", "127.0.0.1", true, true, ""},
		{"https://localhost", "127.0.0.1", false, false, ""},
		{"https://localhost", "127.0.0.1:443", true, false, ""},
		{"https://localhost", "127.0.0.1:443", false, true, "X-Forwarded-Host"},
		{"https://localhost", "127.0.0.1", false, true, "X-Forwarded-Proto"},
		{"http://localhost:8080", "127.0.0.1:8080", false, false, "Forwarded"},
		{"http://localhost", "127.0.0.1", true, false, ""},
		{"http://localhost", "127.0.0.1", false, true, ""},
		{"http://localhost:8080", "localhost:8080", false, false, ""},
		{"http://localhost:8080", "LOCALHOST:8080", false, false, ""},
		{"http://localhost:8080", "127.0.0.1:8081", false, false, ""},
		{"http://localhost", "127.0.0.1:443", false, false, ""},
		{"http://localhost:8080", "evil.example:8080", false, false, ""},
		{"http://localhost:8080", "localhost.evil.example:8080", false, false, ""},
		{"https://app.example.com", "127.0.0.1:443", false, false, ""},
		{"https://app.example.com", "backend", false, false, ""},
	} {
		m, err := New(Config{BaseURL: tc.base, Keys: Keys{Cookie: []CookieKey{GenerateCookieKey()}}})
		if err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest("GET", "/auth/x", nil)
		r.Host = tc.host
		if tc.tls {
			r.TLS = &tls.ConnectionState{}
		}
		if tc.header != "" {
			r.Header.Set(tc.header, "x")
		}
		if got := m.loopbackAlias(r); got != tc.alias {
			t.Errorf("BaseURL %s, Host %s, TLS %v, header %q: loopbackAlias = %v, want %v", tc.base, tc.host, tc.tls, tc.header, got, tc.alias)
		}
	}
}
