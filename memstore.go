package oauthlogin

import (
	"context"
	"slices"
	"sync"
	"time"
)

// MemoryStore keeps sessions, identities and one-time keys in process
// memory: the default when Config names no store. It is safe for concurrent
// use, honours expiry, and loses everything when the process ends, so it
// serves one instance only. The zero value is not usable: call
// NewMemoryStore.
type MemoryStore struct {
	now func() time.Time

	mu         sync.Mutex
	sessions   map[string]*Session
	identities map[string]*Identity // by ID
	accounts   map[accountKey]string
	users      map[string][]string // user id -> identity ids, oldest first
	once       map[string]time.Time
	lastSweep  time.Time
}

type accountKey struct{ provider, uid string }

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{
		now:        time.Now,
		sessions:   make(map[string]*Session),
		identities: make(map[string]*Identity),
		accounts:   make(map[accountKey]string),
		users:      make(map[string][]string),
		once:       make(map[string]time.Time),
	}
}

// sweep drops expired sessions and one-time keys, at most once a minute, so
// that memory does not grow with abandoned entries. Callers hold mu.
func (s *MemoryStore) sweep(now time.Time) {
	if now.Sub(s.lastSweep) < time.Minute {
		return
	}
	s.lastSweep = now
	for id, v := range s.sessions {
		if !now.Before(v.Expires) {
			delete(s.sessions, id)
		}
	}
	for k, exp := range s.once {
		if !now.Before(exp) {
			delete(s.once, k)
		}
	}
}

// Session implements SessionStore.
func (s *MemoryStore) Session(ctx context.Context, id string) (*Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	v, ok := s.sessions[id]
	s.mu.Unlock()
	if !ok || !s.now().Before(v.Expires) {
		return nil, ErrNotFound
	}
	c := *v
	c.ProviderTokens = slices.Clone(v.ProviderTokens)
	return &c, nil
}

// SaveSession implements SessionStore.
func (s *MemoryStore) SaveSession(ctx context.Context, v *Session) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c := *v
	c.ProviderTokens = slices.Clone(v.ProviderTokens)
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(now)
	s.sessions[c.ID] = &c
	return nil
}

// DeleteSession implements SessionStore.
func (s *MemoryStore) DeleteSession(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	delete(s.sessions, id)
	s.mu.Unlock()
	return nil
}

// Consume implements OneTimeStore.
func (s *MemoryStore) Consume(ctx context.Context, key string, expires time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(now)
	if exp, ok := s.once[key]; ok && now.Before(exp) {
		return ErrAlreadyUsed
	}
	s.once[key] = expires
	return nil
}

// Identity implements IdentityStore.
func (s *MemoryStore) Identity(ctx context.Context, provider, providerUID string) (*Identity, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.identities[s.accounts[accountKey{provider, providerUID}]]
	if !ok {
		return nil, ErrNotFound
	}
	return cloneIdentity(v), nil
}

// CreateIdentity implements IdentityStore.
func (s *MemoryStore) CreateIdentity(ctx context.Context, v *Identity) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	k := accountKey{v.Provider, v.ProviderUID}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.accounts[k]; ok {
		return ErrIdentityExists
	}
	if _, ok := s.identities[v.ID]; ok {
		return ErrIdentityExists
	}
	s.identities[v.ID] = cloneIdentity(v)
	s.accounts[k] = v.ID
	s.users[v.UserID] = append(s.users[v.UserID], v.ID)
	return nil
}

// UpdateIdentity implements IdentityStore.
func (s *MemoryStore) UpdateIdentity(ctx context.Context, v *Identity) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.identities[v.ID]
	if !ok {
		return ErrNotFound
	}
	c := cloneIdentity(v)
	c.Provider, c.ProviderUID, c.UserID = old.Provider, old.ProviderUID, old.UserID
	s.identities[v.ID] = c
	return nil
}

// UserIdentities implements IdentityStore.
func (s *MemoryStore) UserIdentities(ctx context.Context, userID string) ([]*Identity, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := s.users[userID]
	out := make([]*Identity, 0, len(ids))
	for _, id := range ids {
		out = append(out, cloneIdentity(s.identities[id]))
	}
	return out, nil
}

// DeleteIdentity implements IdentityStore.
func (s *MemoryStore) DeleteIdentity(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.identities[id]
	if !ok {
		return nil
	}
	delete(s.identities, id)
	delete(s.accounts, accountKey{v.Provider, v.ProviderUID})
	rest := slices.DeleteFunc(s.users[v.UserID], func(x string) bool { return x == id })
	if len(rest) == 0 {
		delete(s.users, v.UserID)
	} else {
		s.users[v.UserID] = rest
	}
	return nil
}

func cloneIdentity(v *Identity) *Identity {
	c := *v
	c.ProviderTokens = slices.Clone(v.ProviderTokens)
	return &c
}
