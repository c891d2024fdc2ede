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

// refreshTimes remembers when this process last refreshed each identity,
// on its own clock: the floor of the reuse window that another instance's
// clock cannot move. Entries older than refreshReuse are swept as the map
// grows, so it holds about the identities refreshed in the last window.
type refreshTimes struct {
	mu    sync.Mutex
	at    map[string]time.Time
	sweep int // the size at which stale entries are swept next
}

func (r *refreshTimes) note(key string, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.at == nil {
		r.at = make(map[string]time.Time)
	}
	if len(r.at) >= r.sweep {
		for k, t := range r.at {
			if !recentlyRefreshed(t, now, now) {
				delete(r.at, k)
			}
		}
		r.sweep = max(64, 2*len(r.at))
	}
	r.at[key] = now
}

// last is when this process last refreshed key; zero when not recently.
func (r *refreshTimes) last(key string) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.at[key]
}

func (r *refreshTimes) forget(key string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.at, key)
}

// recentlyRefreshed reports whether tokens a refresh obtained at refreshed
// (zero: a login) are to be reused by a call that started at start, now:
// when they were obtained since the call started (another caller's, while
// it waited for the lock) or within refreshReuse before now. Never when
// they are stamped more than refreshReuse ahead: another instance's clock
// may run ahead, and a clock far ahead must not stop refreshes for longer.
func recentlyRefreshed(refreshed, start, now time.Time) bool {
	if refreshed.IsZero() || !refreshed.Before(now.Add(refreshReuse)) {
		return false
	}
	return refreshed.After(start) || refreshed.After(now.Add(-refreshReuse))
}
