package oauthlogin

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// probedStore is a memory store that counts the reads Check makes and
// answers them with fail (or, when block is set, not until ctx ends or
// release is closed).
type probedStore struct {
	*MemoryStore
	fail     error
	block    bool
	entered  chan struct{}
	release  chan struct{}
	sessions int
	ids      int
}

func (s *probedStore) Session(ctx context.Context, id string) (*Session, error) {
	s.sessions++
	return nil, s.answer(ctx, ErrNotFound)
}

func (s *probedStore) Identity(ctx context.Context, issuer, subject string) (*Identity, error) {
	s.ids++
	return nil, s.answer(ctx, ErrNotFound)
}

func (s *probedStore) answer(ctx context.Context, ok error) error {
	if s.block {
		close(s.entered)
		select {
		case <-ctx.Done():
			return ErrStoreUnavailable
		case <-s.release:
			return ctx.Err()
		}
	}
	if s.fail != nil {
		return s.fail
	}
	return ok
}

func checkManager(t *testing.T, cfg Config) *Manager {
	t.Helper()
	cfg.BaseURL, cfg.Keys.Cookie = "http://localhost:8080", []CookieKey{GenerateCookieKey()}
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// Check reads the store once, and a reachable store passes.
func TestCheckReachesStoreOnce(t *testing.T) {
	store := &probedStore{MemoryStore: NewMemoryStore()}
	m := checkManager(t, Config{Store: store})
	if err := m.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	if store.sessions+store.ids != 1 {
		t.Fatalf("the store was read %d times, want once", store.sessions+store.ids)
	}
	if err := checkManager(t, Config{}).Check(context.Background()); err != nil {
		t.Fatalf("the default memory store: %v", err)
	}
}

// A store that fails is named by its type, and its error is kept.
func TestCheckNamesFailingStore(t *testing.T) {
	cause := errors.New("connection refused")
	bad := &probedStore{MemoryStore: NewMemoryStore(), fail: cause}
	m := checkManager(t, Config{Store: bad})
	err := m.Check(context.Background())
	if !errors.Is(err, cause) {
		t.Fatalf("Check = %v, want the store's error", err)
	}
	for _, want := range []string{"store *oauthlogin.probedStore", "connection refused"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not say %q", err, want)
		}
	}
}

// A store that does not answer ends Check when the caller's context ends.
// A caller that cancels gets its own error, naming the store, and never
// ErrStoreUnavailable (the store was not shown slow: issue 16, attack
// report, defect 3); a caller's deadline that passes is the store's
// ErrStoreUnavailable, as Check's own timeout is.
func TestCheckBlockedStoreCallerContext(t *testing.T) {
	slow := &probedStore{MemoryStore: NewMemoryStore(), block: true, entered: make(chan struct{}), release: make(chan struct{})}
	defer close(slow.release)
	m := checkManager(t, Config{Store: slow})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Check(ctx) }()
	<-slow.entered
	cancel()
	err := <-done
	if errors.Is(err, ErrStoreUnavailable) || !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "store *oauthlogin.probedStore") {
		t.Fatalf("Check, canceled by its caller = %v", err)
	}

	slow2 := &probedStore{MemoryStore: NewMemoryStore(), block: true, entered: make(chan struct{}), release: make(chan struct{})}
	defer close(slow2.release)
	m2 := checkManager(t, Config{Store: slow2})
	ctx2, cancel2 := context.WithDeadline(context.Background(), time.Unix(0, 0)) // already passed
	defer cancel2()
	err = m2.Check(ctx2)
	if !errors.Is(err, ErrStoreUnavailable) || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "store *oauthlogin.probedStore") {
		t.Fatalf("Check, past its caller's deadline = %v", err)
	}
}

// Checks while a read of the store is in flight share it: one read,
// however many callers give up on it (issue 16, attack report, defect 2).
// A second read would close slow.entered again, and panic.
func TestCheckSharesOneRead(t *testing.T) {
	slow := &probedStore{MemoryStore: NewMemoryStore(), block: true, entered: make(chan struct{}), release: make(chan struct{})}
	m := checkManager(t, Config{Store: slow})
	m.checkTimeout = time.Hour // the read stays in flight until released
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for range 20 {
		if err := m.Check(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("Check(canceled) = %v", err)
		}
	}
	<-slow.entered
	if slow.ids != 1 {
		t.Fatalf("20 Checks read the store %d times, want once", slow.ids)
	}
	close(slow.release)
}

// Check has a deadline of its own, and keeps it even against a store that
// ignores its context.
func TestCheckOwnTimeout(t *testing.T) {
	if checkTimeout != 5*time.Second {
		t.Fatalf("checkTimeout = %v, want 5s", checkTimeout)
	}
	stuck := &probedStore{MemoryStore: NewMemoryStore(), block: true, entered: make(chan struct{}), release: make(chan struct{})}
	defer close(stuck.release)
	m := checkManager(t, Config{Store: stuckStore{stuck}})
	m.checkTimeout = time.Millisecond
	err := m.Check(context.Background())
	if !errors.Is(err, ErrStoreUnavailable) || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "oauthlogin.stuckStore") {
		t.Fatalf("Check = %v", err)
	}
}

// stuckStore ignores the context: it answers when released.
type stuckStore struct{ *probedStore }

func (s stuckStore) Identity(ctx context.Context, issuer, subject string) (*Identity, error) {
	<-s.release
	return nil, ErrNotFound
}
