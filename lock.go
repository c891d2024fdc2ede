package oauthlogin

import (
	"context"
	"time"
)

// Locker serializes work across the app's instances: the refresh of one
// identity's provider tokens, so that no two instances ever send the same
// refresh token. The Redis and PostgreSQL stores implement it; MemoryStore
// does for one process.
type Locker interface {
	// Lock takes the lock named key, waiting while another holder has it,
	// until ctx ends (then it returns ctx's error). A free lock is taken
	// even with a context that is done, so such a context makes a try-lock.
	// A holder that never unlocks (a crashed instance) loses the lock after
	// ttl. unlock releases the lock only if this caller still holds it; it
	// releases it even when given a context that is done (within a short
	// bound of its own), so that a cancelled caller never leaves a lock
	// held until its TTL.
	Lock(ctx context.Context, key string, ttl time.Duration) (unlock func(context.Context) error, err error)
}

type memLock struct {
	token    string
	expires  time.Time
	released chan struct{}
}

// Lock implements Locker within one process.
func (s *MemoryStore) Lock(ctx context.Context, key string, ttl time.Duration) (func(context.Context) error, error) {
	token := randomToken(16)
	for {
		now := s.now()
		s.mu.Lock()
		l, held := s.locks[key]
		if !held || !now.Before(l.expires) {
			s.locks[key] = &memLock{token: token, expires: now.Add(ttl), released: make(chan struct{})}
			s.mu.Unlock()
			return func(context.Context) error { s.unlock(key, token); return nil }, nil
		}
		s.mu.Unlock()
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		timer := time.NewTimer(l.expires.Sub(now))
		select {
		case <-l.released:
		case <-timer.C:
		case <-ctx.Done():
		}
		timer.Stop()
	}
}

func (s *MemoryStore) unlock(key, token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l, ok := s.locks[key]; ok && l.token == token {
		delete(s.locks, key)
		close(l.released)
	}
}
