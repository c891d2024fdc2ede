package oauthlogin

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

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
