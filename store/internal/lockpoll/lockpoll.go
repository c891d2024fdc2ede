// Package lockpoll is the acquisition loop the stores' Lockers share: one
// attempt, then attempts after pauses that double up to a bound, until one
// succeeds, one fails, or the caller's context ends.
package lockpoll

import (
	"context"
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
// attempts start at 5 ms (or maxPause, if less) and double up to maxPause.
//
// A context that is already done still gets one attempt, run under a
// context detached from it and bounded by detached, so that a caller on
// its way out can take a free lock; its error is then ctx's. An attempt's
// error is returned as it is, for the store to wrap.
func Acquire(ctx context.Context, maxPause, detached time.Duration, attempt Attempt) (Unlock, error) {
	pause := min(firstPause, maxPause)
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
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
		pause = min(2*pause, maxPause)
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
