package oauthlogin

import (
	"net/http/httptest"
	"testing"
)

// Which Hosts are loopback aliases of BaseURL's: another loopback name,
// the same port (the scheme's default when none is written).
func TestLoopbackAlias(t *testing.T) {
	for _, tc := range []struct {
		base, host string
		alias      bool
	}{
		{"http://localhost:8080", "127.0.0.1:8080", true},
		{"http://localhost:8080", "[::1]:8080", true},
		{"http://localhost:8080", "127.0.0.2:8080", true},
		{"http://127.0.0.1:8080", "localhost:8080", true},
		{"http://127.0.0.1:8080", "LocalHost:8080", true},
		{"https://localhost", "127.0.0.1", true},
		{"https://localhost", "127.0.0.1:443", true},
		{"http://localhost:8080", "localhost:8080", false},
		{"http://localhost:8080", "LOCALHOST:8080", false},
		{"http://localhost:8080", "127.0.0.1:8081", false},
		{"http://localhost", "127.0.0.1:443", false},
		{"http://localhost:8080", "evil.example:8080", false},
		{"http://localhost:8080", "localhost.evil.example:8080", false},
		{"https://app.example.com", "127.0.0.1:443", false},
		{"https://app.example.com", "backend", false},
	} {
		m, err := New(Config{BaseURL: tc.base, Keys: Keys{Cookie: []CookieKey{GenerateCookieKey()}}})
		if err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest("GET", "/auth/x", nil)
		r.Host = tc.host
		if got := m.loopbackAlias(r); got != tc.alias {
			t.Errorf("BaseURL %s, Host %s: loopbackAlias = %v, want %v", tc.base, tc.host, got, tc.alias)
		}
	}
}
