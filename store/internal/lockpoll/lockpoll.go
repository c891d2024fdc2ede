// Package lockpoll is the acquisition loop the stores' Lockers share: one
// attempt, then attempts after jittered pauses that double up to a bound,
// until one succeeds, one fails, or the caller's context ends.
package lockpoll

import (
	"context"
	"math/rand/v2"
	"time"
)

// Unlock releases a lock.
type Unlock = func(context.Context) error

// Attempt tries to take the lock once. A nil Unlock and a nil error mean
// the lock is held by someone else.
type Attempt func(ctx context.Context) (Unlock, error)

// firstPause is the pause after the first failed attempt.
const firstPause = 5 * time.Millisecond

// Acquire calls attempt until it takes the lock or fails. Pauses between
// attempts start at 5 ms (or maxPause, if less) and double up to maxPause;
// each is drawn at random from the upper half of that span (equal
// jitter), so that waiters who found the lock held at the same moment,
// on any instance, do not all try again at the same moment when it frees
// (or when the store comes back), yet none polls faster than half the
// span.
//
// A context that is already done still gets one attempt, run under a
// context detached from it and bounded by detached, so that a caller on
// its way out can take a free lock; its error is then ctx's. An attempt's
// error is returned as it is, for the store to wrap.
func Acquire(ctx context.Context, maxPause, detached time.Duration, attempt Attempt) (Unlock, error) {
	return acquire(ctx, maxPause, detached, attempt, pacing{rand.Int64N, sleep})
}

// pacing is where Acquire's pauses come from: the random draw (rand.Int64N
// from math/rand/v2, safe for concurrent use and seeded by the runtime) and
// the wait, which tests replace.
type pacing struct {
	int64N func(n int64) int64
	wait   func(ctx context.Context, d time.Duration) error
}

func acquire(ctx context.Context, maxPause, detached time.Duration, attempt Attempt, p pacing) (Unlock, error) {
	span := min(firstPause, maxPause)
	for {
		actx, cancel := AttemptContext(ctx, detached)
		unlock, err := attempt(actx)
		cancel()
		if err != nil && ctx.Err() == nil {
			return nil, err
		}
		if unlock != nil {
			return unlock, nil
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := p.wait(ctx, jitter(span, p.int64N)); err != nil {
			return nil, err
		}
		span = min(2*span, maxPause)
	}
}

// Jitter returns a pause drawn uniformly from [span/2, span] ("equal
// jitter"), for the stores' other retry loops to pace themselves as
// Acquire does.
func Jitter(span time.Duration) time.Duration { return jitter(span, rand.Int64N) }

// jitter returns a pause drawn uniformly from [span/2, span] with int64N
// (which returns a value in [0, n)); none for a span that is not positive.
func jitter(span time.Duration, int64N func(n int64) int64) time.Duration {
	if span <= 0 {
		return 0
	}
	half := span / 2
	return half + time.Duration(int64N(int64(span-half)+1))
}

// sleep waits d, or until ctx ends: then it returns ctx's error.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// AttemptContext is ctx, or when ctx is done, a context detached from it
// and bounded by detached, for the one attempt a done context still gets.
func AttemptContext(ctx context.Context, detached time.Duration) (context.Context, context.CancelFunc) {
	if ctx.Err() == nil {
		return ctx, func() {}
	}
	return context.WithTimeout(context.WithoutCancel(ctx), detached)
}
