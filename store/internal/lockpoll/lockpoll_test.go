package lockpoll

import (
	"context"
	"errors"
	"math/rand/v2"
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

// Each pause is drawn from the upper half of a span that starts at 5 ms
// and doubles up to maxPause: with the lowest draw, half the span; with
// the highest, all of it.
func TestAcquirePausesAreJitteredAndDouble(t *testing.T) {
	spans := []time.Duration{5, 10, 20, 40, 40, 40}
	for name, draw := range map[string]func(n int64) int64{
		"lowest":  func(int64) int64 { return 0 },
		"highest": func(n int64) int64 { return n - 1 },
	} {
		t.Run(name, func(t *testing.T) {
			var asked []int64
			var pauses []time.Duration
			p := pacing{
				int64N: func(n int64) int64 { asked = append(asked, n); return draw(n) },
				wait: func(_ context.Context, d time.Duration) error {
					pauses = append(pauses, d)
					return nil
				},
			}
			s := &script{busy: len(spans)}
			if u, err := acquire(t.Context(), 40*time.Millisecond, time.Second, s.attempt, p); err != nil || u == nil {
				t.Fatalf("acquire = %v, %v", u, err)
			}
			if len(pauses) != len(spans) {
				t.Fatalf("%d pauses, want %d", len(pauses), len(spans))
			}
			for i, span := range spans {
				span *= time.Millisecond
				want := span / 2
				if name == "highest" {
					want = span
				}
				if pauses[i] != want || asked[i] != int64(span-span/2)+1 {
					t.Errorf("pause %d = %v (drawn from [0, %d)), want %v (from [0, %d))", i, pauses[i], asked[i], want, int64(span-span/2)+1)
				}
			}
		})
	}
}

// Over many draws from math/rand/v2, every pause lies in the upper half of
// its span, and they spread over it: waiters do not retry in lockstep.
func TestJitterBoundsOverManyDraws(t *testing.T) {
	const span = 40 * time.Millisecond
	lo, hi := span, time.Duration(0)
	seen := make(map[time.Duration]bool)
	for range 10000 {
		d := jitter(span, rand.Int64N)
		if d < span/2 || d > span {
			t.Fatalf("pause %v outside [%v, %v]", d, span/2, span)
		}
		lo, hi = min(lo, d), max(hi, d)
		seen[d] = true
	}
	if lo > span/2+time.Millisecond || hi < span-time.Millisecond || len(seen) < 1000 {
		t.Fatalf("pauses span [%v, %v] with %d distinct values: not spread over [%v, %v]", lo, hi, len(seen), span/2, span)
	}
	if jitter(0, rand.Int64N) != 0 || jitter(-time.Second, rand.Int64N) != 0 {
		t.Fatal("a span that is not positive gives a pause")
	}
}

// A context that ends during a pause ends Acquire with its error.
func TestAcquireWaitEndsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	p := pacing{int64N: rand.Int64N, wait: func(ctx context.Context, d time.Duration) error {
		cancel()
		return sleep(ctx, time.Hour)
	}}
	s := &script{busy: 1 << 30}
	if _, err := acquire(ctx, time.Second, time.Second, s.attempt, p); !errors.Is(err, context.Canceled) {
		t.Fatalf("acquire = %v, want context.Canceled", err)
	}
	if len(s.calls) != 1 {
		t.Errorf("%d attempts, want 1", len(s.calls))
	}
}
