package oauthlogin

import (
	"context"
	"time"
)

type memLock struct {
	token    string
	expires  time.Time
	released chan struct{}
}

// Lock implements Store.Lock within one process.
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
