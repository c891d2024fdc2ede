package oauthlogin

import (
	"sync"
	"time"
)

// retryAfter is how long to wait before the next refresh attempt.
type retryAfter time.Duration

func (r retryAfter) Error() string { return "retry after " + time.Duration(r).String() }

// backoff spaces out refresh attempts for an identity whose provider keeps
// failing: 1 s after the first failure, doubling to at most a minute.
// Entries whose wait is over by more than backoffForget are swept as the
// map grows (as refreshTimes is) and at a failure backoffForget after the
// last sweep, so it holds about the identities that failed in the last
// few minutes, not every one that ever failed once. A sweep costs one pass
// over the map, at most once per doubling or per backoffForget.
type backoff struct {
	mu      sync.Mutex
	state   map[string]backoffState
	sweep   int       // the size at which stale entries are swept next
	sweptAt time.Time // when they were swept last
}

// backoffForget is how long after its wait is over an entry is kept: a
// failure within it still counts as one more in a row (a longer wait).
const backoffForget = 5 * time.Minute

type backoffState struct {
	failures int
	until    time.Time
}

func (b *backoff) wait(key string, now time.Time) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	return max(0, b.state[key].until.Sub(now))
}

func (b *backoff) fail(key string, now time.Time) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == nil {
		b.state = make(map[string]backoffState)
	}
	if len(b.state) >= b.sweep || now.Sub(b.sweptAt) > backoffForget {
		for k, st := range b.state {
			if now.Sub(st.until) > backoffForget {
				delete(b.state, k)
			}
		}
		b.sweep = max(64, 2*len(b.state))
		b.sweptAt = now
	}
	st := b.state[key]
	if now.Sub(st.until) > backoffForget {
		st = backoffState{} // not swept yet: forgotten all the same
	}
	st.failures++
	wait := backoffDelay(st.failures)
	st.until = now.Add(wait)
	b.state[key] = st
	return wait
}

// backoffDelay is the wait after the n-th failure in a row (n ≥ 1): 1 s,
// doubling, at most a minute.
func backoffDelay(n int) time.Duration {
	return min(time.Second<<min(n-1, 6), time.Minute)
}

func (b *backoff) reset(key string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.state, key)
}
