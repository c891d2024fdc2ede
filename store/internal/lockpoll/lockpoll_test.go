package lockpoll

import (
	"context"
	"errors"
	"testing"
	"time"
)

var errDown = errors.New("store down")

func unlock(context.Context) error { return nil }

// script is an Attempt that answers held for its first busy calls, then
// takes the lock (or fails with err), recording for each call whether its
// context was live and had a deadline.
type script struct {
	busy  int
	err   error
	calls []call
}

type call struct {
	live, deadline bool
}

func (s *script) attempt(ctx context.Context) (Unlock, error) {
	_, dl := ctx.Deadline()
	s.calls = append(s.calls, call{live: ctx.Err() == nil, deadline: dl})
	if len(s.calls) <= s.busy {
		return nil, nil
	}
	if s.err != nil {
		return nil, s.err
	}
	return unlock, nil
}

func TestAcquireRetriesUntilFree(t *testing.T) {
	s := &script{busy: 3}
	u, err := Acquire(t.Context(), time.Millisecond, time.Second, s.attempt)
	if err != nil || u == nil {
		t.Fatalf("Acquire = %v, %v", u, err)
	}
	if len(s.calls) != 4 {
		t.Errorf("%d attempts, want 4", len(s.calls))
	}
}

func TestAcquireReturnsAttemptError(t *testing.T) {
	s := &script{busy: 1, err: errDown}
	u, err := Acquire(t.Context(), time.Millisecond, time.Second, s.attempt)
	if !errors.Is(err, errDown) || u != nil {
		t.Fatalf("Acquire = %v, %v; want errDown", u, err)
	}
	if len(s.calls) != 2 {
		t.Errorf("%d attempts, want 2", len(s.calls))
	}
}

// A done context gets exactly one attempt, under a live detached context:
// a try-lock.
func TestAcquireDoneContextTriesOnce(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()

	free := &script{}
	if u, err := Acquire(ctx, time.Millisecond, time.Second, free.attempt); err != nil || u == nil {
		t.Fatalf("free lock with a done context: %v, %v", u, err)
	}
	if len(free.calls) != 1 || !free.calls[0].live || !free.calls[0].deadline {
		t.Fatalf("attempts %+v; want one, under a live context with a deadline", free.calls)
	}

	held := &script{busy: 100}
	if _, err := Acquire(ctx, time.Millisecond, time.Second, held.attempt); !errors.Is(err, context.Canceled) {
		t.Errorf("held lock with a done context: %v, want context.Canceled", err)
	}
	if len(held.calls) != 1 {
		t.Errorf("held lock with a done context: %d attempts, want 1", len(held.calls))
	}

	failing := &script{err: errDown}
	if _, err := Acquire(ctx, time.Millisecond, time.Second, failing.attempt); !errors.Is(err, context.Canceled) {
		t.Errorf("failing store with a done context: %v, want the context's error", err)
	}
}

// A context that ends while the lock is held stops the polling.
func TestAcquireStopsWhenContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	s := &script{busy: 1 << 30}
	n := 0
	attempt := func(actx context.Context) (Unlock, error) {
		n++
		if n == 3 {
			cancel()
		}
		return s.attempt(actx)
	}
	if _, err := Acquire(ctx, time.Millisecond, time.Second, attempt); !errors.Is(err, context.Canceled) {
		t.Fatalf("Acquire = %v, want context.Canceled", err)
	}
	if n != 3 {
		t.Errorf("%d attempts, want 3 (none after the context ended)", n)
	}
}

func TestAttemptContext(t *testing.T) {
	live := t.Context()
	if got, cancel := AttemptContext(live, time.Second); got != live {
		t.Error("a live context is not used as it is")
	} else {
		cancel()
	}
	done, cancelDone := context.WithCancel(t.Context())
	cancelDone()
	got, cancel := AttemptContext(done, time.Minute)
	defer cancel()
	if got.Err() != nil {
		t.Errorf("detached context already done: %v", got.Err())
	}
	if dl, ok := got.Deadline(); !ok || time.Until(dl) > time.Minute {
		t.Errorf("detached deadline %v, %v", dl, ok)
	}
}
