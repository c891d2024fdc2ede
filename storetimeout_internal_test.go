package oauthlogin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"
)

// deadlineStore is a Store with every optional capability that records,
// for each call, how long its context had left (or -1 for none), and
// answers at once.
type deadlineStore struct {
	mu   sync.Mutex
	left map[string]time.Duration
}

func (d *deadlineStore) note(name string, ctx context.Context) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.left == nil {
		d.left = make(map[string]time.Duration)
	}
	d.left[name] = -1
	if dl, ok := ctx.Deadline(); ok {
		d.left[name] = time.Until(dl)
	}
}

func (d *deadlineStore) Session(ctx context.Context, _ string) (*Session, error) {
	d.note("Session", ctx)
	return nil, ErrNotFound
}
func (d *deadlineStore) SaveSession(ctx context.Context, _ *Session) error {
	d.note("SaveSession", ctx)
	return nil
}
func (d *deadlineStore) DeleteSession(ctx context.Context, _ string) error {
	d.note("DeleteSession", ctx)
	return nil
}
func (d *deadlineStore) UpdateSessionTokens(ctx context.Context, _ string, _ []byte, _ time.Time) error {
	d.note("UpdateSessionTokens", ctx)
	return nil
}
func (d *deadlineStore) DeleteUserSessions(ctx context.Context, _ string) error {
	d.note("DeleteUserSessions", ctx)
	return nil
}
func (d *deadlineStore) UserSessions(ctx context.Context, _ string) ([]*Session, error) {
	d.note("UserSessions", ctx)
	return nil, nil
}
func (d *deadlineStore) TouchSession(ctx context.Context, _ string, _ time.Time) error {
	d.note("TouchSession", ctx)
	return nil
}
func (d *deadlineStore) DeleteProviderSessions(ctx context.Context, _, _ string) error {
	d.note("DeleteProviderSessions", ctx)
	return nil
}
func (d *deadlineStore) Identity(ctx context.Context, _, _ string) (*Identity, error) {
	d.note("Identity", ctx)
	return nil, ErrNotFound
}
func (d *deadlineStore) CreateIdentity(ctx context.Context, _ *Identity) error {
	d.note("CreateIdentity", ctx)
	return nil
}
func (d *deadlineStore) UpdateIdentity(ctx context.Context, _ *Identity) error {
	d.note("UpdateIdentity", ctx)
	return nil
}
func (d *deadlineStore) UserIdentities(ctx context.Context, _ string) ([]*Identity, error) {
	d.note("UserIdentities", ctx)
	return nil, nil
}
func (d *deadlineStore) IdentitiesByEmail(ctx context.Context, _ string) ([]*Identity, error) {
	d.note("IdentitiesByEmail", ctx)
	return nil, nil
}
func (d *deadlineStore) DeleteIdentity(ctx context.Context, _, _ string) error {
	d.note("DeleteIdentity", ctx)
	return nil
}
func (d *deadlineStore) Consume(ctx context.Context, _ string, _ time.Time) error {
	d.note("Consume", ctx)
	return nil
}
func (d *deadlineStore) Lock(ctx context.Context, _ string, _ time.Duration) (func(context.Context) error, error) {
	d.note("Lock", ctx)
	return func(ctx context.Context) error { d.note("unlock", ctx); return nil }, nil
}

// Every call the Manager makes through storeCalls, each optional
// capability's and the unlock's included, runs under a deadline no later
// than Config.StoreTimeout (Lock: its ttl more), even when the caller's
// context has none (a detached refresh).
func TestStoreTimeoutBoundsEveryCall(t *testing.T) {
	const timeout = time.Hour
	const ttl = 30 * time.Second
	raw := &deadlineStore{}
	calls := newStoreCalls(raw, timeout)
	if calls.lister == nil || calls.toucher == nil || calls.sids == nil {
		t.Fatal("a store with every capability lost one")
	}
	ctx := context.Background()
	s := calls.store
	now := time.Now()
	s.Session(ctx, "x")
	s.SaveSession(ctx, &Session{})
	s.DeleteSession(ctx, "x")
	s.UpdateSessionTokens(ctx, "x", nil, now)
	s.DeleteUserSessions(ctx, "u")
	calls.lister.UserSessions(ctx, "u")
	calls.toucher.TouchSession(ctx, "x", now)
	calls.sids.DeleteProviderSessions(ctx, "p", "sid")
	s.Identity(ctx, "i", "s")
	s.CreateIdentity(ctx, &Identity{})
	s.UpdateIdentity(ctx, &Identity{})
	s.UserIdentities(ctx, "u")
	s.IdentitiesByEmail(ctx, "e")
	s.DeleteIdentity(ctx, "u", "i")
	s.Consume(ctx, "k", now)
	unlock, err := s.Lock(ctx, "k", ttl)
	if err != nil {
		t.Fatal(err)
	}
	unlock(ctx)

	want := []string{"Session", "SaveSession", "DeleteSession", "UpdateSessionTokens", "DeleteUserSessions",
		"UserSessions", "TouchSession", "DeleteProviderSessions", "Identity", "CreateIdentity", "UpdateIdentity",
		"UserIdentities", "IdentitiesByEmail", "DeleteIdentity", "Consume", "Lock", "unlock"}
	if len(raw.left) != len(want) {
		t.Fatalf("%d calls reached the store, want %d: %v", len(raw.left), len(want), raw.left)
	}
	for _, name := range want {
		limit := timeout
		if name == "Lock" {
			limit = ttl + timeout
		}
		if left, ok := raw.left[name]; !ok || left <= 0 || left > limit {
			t.Errorf("%s: its context had %v left, want a deadline within %v", name, left, limit)
		}
	}
}

// A negative StoreTimeout, or the memory store, leaves the calls as they
// are: no wrapper, the store's own capabilities.
func TestStoreTimeoutOffAndMemoryStoreUnwrapped(t *testing.T) {
	raw := &deadlineStore{}
	calls := newStoreCalls(raw, -1)
	if calls.store != Store(raw) || calls.lister != SessionLister(raw) || calls.toucher != SessionToucher(raw) || calls.sids != ProviderSessionDeleter(raw) {
		t.Fatal("a negative StoreTimeout still wrapped the store")
	}
	calls.store.Session(context.Background(), "x")
	if left := raw.left["Session"]; left != -1 {
		t.Fatalf("a negative StoreTimeout still bounded a call (%v left)", left)
	}
	mem := NewMemoryStore()
	if calls := newStoreCalls(mem, time.Second); calls.store != Store(mem) || calls.toucher != SessionToucher(mem) {
		t.Fatal("the memory store was wrapped")
	}
	// A store with fewer capabilities gets no more from the wrapper.
	calls = newStoreCalls(coreStore{raw}, time.Second)
	if _, timed := calls.store.(*timedStore); !timed || calls.lister != nil || calls.toucher != nil || calls.sids != nil {
		t.Fatalf("core store: %+v, want a timedStore with no optional capability", calls)
	}
}

// New fills in StoreTimeout's default, 5 seconds.
func TestStoreTimeoutDefault(t *testing.T) {
	m, err := New(Config{BaseURL: "http://localhost", Keys: Keys{Cookie: []CookieKey{GenerateCookieKey()}}, Store: coreStore{NewMemoryStore()}})
	if err != nil {
		t.Fatal(err)
	}
	if m.cfg.StoreTimeout != 5*time.Second || m.store.(*timedStore).timeout != 5*time.Second {
		t.Fatalf("StoreTimeout = %v, want 5s", m.cfg.StoreTimeout)
	}
}

// waitStore's Session waits for its context to end, then answers with
// answer(ctx), telling entered when it starts waiting. With needDeadline,
// a context without a deadline (which would wait for ever) fails at once.
type waitStore struct {
	Store
	entered      chan struct{}
	answer       func(ctx context.Context) error
	needDeadline bool
}

func (w waitStore) Session(ctx context.Context, _ string) (*Session, error) {
	close(w.entered)
	if _, ok := ctx.Deadline(); !ok && w.needDeadline {
		return nil, errors.New("waiting without a deadline")
	}
	<-ctx.Done()
	return nil, w.answer(ctx)
}

// ctxErr answers as go-redis and pgx do when the context ends: its error,
// wrapped.
func ctxErr(ctx context.Context) error { return fmt.Errorf("store: get: %w", ctx.Err()) }

// The bound's own deadline makes ErrStoreUnavailable (a 503), whether the
// store reports it as the context's error or as a socket's timeout; a
// store that answers anyway (not found) keeps its answer.
func TestStoreTimeoutOwnDeadlineIsUnavailable(t *testing.T) {
	for name, tc := range map[string]struct {
		answer      func(context.Context) error
		unavailable bool
		want        error
	}{
		"context error": {ctxErr, true, context.DeadlineExceeded},
		"socket timeout": {func(context.Context) error {
			return fmt.Errorf("store: read: %w", os.ErrDeadlineExceeded)
		}, true, os.ErrDeadlineExceeded},
		"an answer": {func(context.Context) error { return ErrNotFound }, false, ErrNotFound},
	} {
		t.Run(name, func(t *testing.T) {
			raw := waitStore{Store: NewMemoryStore(), entered: make(chan struct{}), answer: tc.answer, needDeadline: true}
			s := newStoreCalls(raw, time.Millisecond).store
			_, err := s.Session(context.Background(), "x")
			if errors.Is(err, ErrStoreUnavailable) != tc.unavailable || !errors.Is(err, tc.want) {
				t.Fatalf("Session = %v; want %v, ErrStoreUnavailable %v", err, tc.want, tc.unavailable)
			}
		})
	}
}

// A call that ends because its caller's context did keeps that context's
// error: cancelled, or the caller's own (earlier) deadline, which the
// store sees as it is.
func TestStoreTimeoutCallerContextStaysContextError(t *testing.T) {
	raw := waitStore{Store: NewMemoryStore(), entered: make(chan struct{}), answer: ctxErr}
	s := newStoreCalls(raw, time.Hour).store
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-raw.entered
		cancel()
	}()
	if _, err := s.Session(ctx, "x"); !errors.Is(err, context.Canceled) || errors.Is(err, ErrStoreUnavailable) {
		t.Fatalf("cancelled caller: %v, want context.Canceled and not ErrStoreUnavailable", err)
	}

	seen := make(chan time.Time, 1)
	raw = waitStore{Store: NewMemoryStore(), entered: make(chan struct{}), answer: func(ctx context.Context) error {
		dl, _ := ctx.Deadline()
		seen <- dl
		return ctxErr(ctx)
	}}
	s = newStoreCalls(raw, time.Hour).store
	ctx, cancel = context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	if _, err := s.Session(ctx, "x"); !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrStoreUnavailable) {
		t.Fatalf("caller's deadline: %v, want context.DeadlineExceeded and not ErrStoreUnavailable", err)
	}
	if want, _ := ctx.Deadline(); !(<-seen).Equal(want) {
		t.Fatal("the store did not see the caller's own, earlier deadline")
	}
}

// A caller whose own deadline comes before StoreTimeout's needs no
// context of ours: the call costs no allocation for the bound.
func TestStoreTimeoutCallerDeadlineFirstCostsNothing(t *testing.T) {
	raw := &deadlineStore{}
	s := newStoreCalls(raw, time.Hour).store
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s.Session(ctx, "x") // the recorder's map, once
	if n := testing.AllocsPerRun(100, func() { s.Session(ctx, "x") }); n != 0 {
		t.Fatalf("a call under an earlier caller deadline allocates %v times, want 0", n)
	}
}
