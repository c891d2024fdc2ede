package oauthlogin

import (
	"context"
	"net/url"
	"strconv"
	"testing"
)

// The client credentials cache is keyed by the caller's scopes and
// parameters, which may come from request input: 10,000 distinct keys
// leave it at its cap, and an entry in constant use is never the one
// evicted (least recently used goes first).
func TestServiceCacheBounded(t *testing.T) {
	m, err := New(Config{BaseURL: "http://localhost", Keys: Keys{Cookie: []CookieKey{GenerateCookieKey()}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Register(deviceProvider{"http://127.0.0.1:1"}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	hot, err := m.ServiceTokenSource(ctx, "tv", nil, "hot")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10000 {
		if _, err := m.ServiceTokenSource(ctx, "tv", url.Values{"audience": {strconv.Itoa(i)}}); err != nil {
			t.Fatal(err)
		}
		if i%(maxServiceSources/2) == 0 {
			if again, _ := m.ServiceTokenSource(ctx, "tv", nil, "hot"); again != hot {
				t.Fatalf("after %d keys the hot source was evicted", i)
			}
		}
		if n := m.services.len(); n > maxServiceSources {
			t.Fatalf("after %d keys the cache holds %d sources, over its cap %d", i+1, n, maxServiceSources)
		}
	}
	if n := m.services.len(); n != maxServiceSources {
		t.Fatalf("the cache holds %d sources, want %d", n, maxServiceSources)
	}
	if again, _ := m.ServiceTokenSource(ctx, "tv", nil, "hot"); again != hot {
		t.Fatal("the hot source was evicted")
	}
}
