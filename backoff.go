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
type backoff struct {
	mu    sync.Mutex
	state map[string]backoffState
}

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
	st := b.state[key]
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
