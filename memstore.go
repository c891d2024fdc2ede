package oauthlogin

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"
)

// MemoryStore is a Store that keeps sessions, identities, single-use marks
// and locks in process memory: the default when Config names no store. It
// implements SessionLister and SessionToucher too. It is safe for concurrent
// use, honours expiry, and loses everything when the process ends, so it
// serves one instance only. The zero value is not usable: call
// NewMemoryStore.
type MemoryStore struct {
	now func() time.Time

	mu       sync.Mutex
	sessions map[string]*Session
	// userSessions lists each user's session ids. A user has few sessions,
	// and a slice costs a fraction of an inner map's memory per user.
	userSessions map[string][]string
	identities   map[string]*Identity  // by ID
	accounts     map[accountKey]string // (issuer, subject) -> identity id
	users        map[string][]string   // user id -> identity ids, oldest first
	emails       map[string][]string   // verified email -> identity ids, oldest first
	once         map[string]time.Time
	locks        map[string]*memLock
	lastSweep    time.Time
}

var (
	_ Store          = (*MemoryStore)(nil)
	_ SessionLister  = (*MemoryStore)(nil)
	_ SessionToucher = (*MemoryStore)(nil)

	_ ProviderSessionDeleter = (*MemoryStore)(nil)
)

type accountKey struct{ issuer, subject string }

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{
		now:          time.Now,
		sessions:     make(map[string]*Session),
		userSessions: make(map[string][]string),
		identities:   make(map[string]*Identity),
		accounts:     make(map[accountKey]string),
		users:        make(map[string][]string),
		emails:       make(map[string][]string),
		once:         make(map[string]time.Time),
		locks:        make(map[string]*memLock),
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
			s.deleteSession(id)
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
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.sessions[id]
	if !ok || !now.Before(v.Expires) {
		return nil, ErrNotFound
	}
	// Copied under the lock: TouchSession and UpdateSessionTokens change
	// the stored value in place.
	return cloneSession(v), nil
}

// SaveSession implements SessionStore.
func (s *MemoryStore) SaveSession(ctx context.Context, v *Session) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c := cloneSession(v)
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(now)
	if old, ok := s.sessions[c.ID]; ok && old.UserID != c.UserID {
		s.deleteSession(c.ID)
	}
	if _, ok := s.sessions[c.ID]; !ok {
		s.userSessions[c.UserID] = append(s.userSessions[c.UserID], c.ID)
	}
	s.sessions[c.ID] = c
	return nil
}

// DeleteSession implements SessionStore.
func (s *MemoryStore) DeleteSession(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	s.deleteSession(id)
	s.mu.Unlock()
	return nil
}

// deleteSession removes a session and its index entry. Callers hold mu.
func (s *MemoryStore) deleteSession(id string) {
	v, ok := s.sessions[id]
	if !ok {
		return
	}
	delete(s.sessions, id)
	ids := slices.DeleteFunc(s.userSessions[v.UserID], func(x string) bool { return x == id })
	if len(ids) == 0 {
		delete(s.userSessions, v.UserID)
	} else {
		s.userSessions[v.UserID] = ids
	}
}

// TouchSession implements SessionToucher.
func (s *MemoryStore) TouchSession(ctx context.Context, id string, lastSeen time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.sessions[id]
	if !ok || !s.now().Before(v.Expires) {
		return ErrNotFound
	}
	v.LastSeen = lastSeen
	return nil
}

// UpdateSessionTokens implements SessionStore: under the store's lock, it
// writes the tokens of a session that exists and has not expired, or
// returns ErrNotFound.
func (s *MemoryStore) UpdateSessionTokens(ctx context.Context, id string, tokens []byte, expiry time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.sessions[id]
	if !ok || !now.Before(v.Expires) {
		return ErrNotFound
	}
	v.ProviderTokens, v.ProviderAccessTokenExpiry = slices.Clone(tokens), expiry
	return nil
}

// UserSessions implements SessionLister.
func (s *MemoryStore) UserSessions(ctx context.Context, userID string) ([]*Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	now := s.now()
	s.mu.Lock()
	out := make([]*Session, 0, len(s.userSessions[userID]))
	for _, id := range s.userSessions[userID] {
		if v := s.sessions[id]; now.Before(v.Expires) {
			out = append(out, cloneSession(v))
		}
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b *Session) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// DeleteUserSessions implements SessionStore.
func (s *MemoryStore) DeleteUserSessions(ctx context.Context, userID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	for _, id := range s.userSessions[userID] {
		delete(s.sessions, id)
	}
	delete(s.userSessions, userID)
	s.mu.Unlock()
	return nil
}

// DeleteProviderSessions implements ProviderSessionDeleter.
func (s *MemoryStore) DeleteProviderSessions(ctx context.Context, provider, sid string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, v := range s.sessions {
		if v.Provider == provider && v.ProviderSID == sid {
			s.deleteSession(id)
		}
	}
	return nil
}

// Consume implements Store.
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
func (s *MemoryStore) Identity(ctx context.Context, issuer, subject string) (*Identity, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.identities[s.accounts[accountKey{issuer, subject}]]
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
	k := accountKey{v.Issuer, v.ProviderUID}
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
	if v.VerifiedEmail != "" {
		s.emails[v.VerifiedEmail] = append(s.emails[v.VerifiedEmail], v.ID)
	}
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
	c.Issuer, c.Provider, c.ProviderUID, c.UserID, c.Created = old.Issuer, old.Provider, old.ProviderUID, old.UserID, old.Created
	if c.VerifiedEmail != old.VerifiedEmail {
		s.unindexEmail(old)
		if c.VerifiedEmail != "" {
			s.emails[c.VerifiedEmail] = append(s.emails[c.VerifiedEmail], c.ID)
		}
	}
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
	return s.cloneAll(s.users[userID]), nil
}

// IdentitiesByEmail implements IdentityStore.
func (s *MemoryStore) IdentitiesByEmail(ctx context.Context, email string) ([]*Identity, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cloneAll(s.emails[email]), nil
}

// DeleteIdentity implements IdentityStore.
func (s *MemoryStore) DeleteIdentity(ctx context.Context, userID, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.identities[id]
	switch {
	case !ok || v.UserID != userID:
		return ErrNotFound
	case len(s.users[userID]) == 1:
		return ErrLastIdentity
	}
	delete(s.identities, id)
	delete(s.accounts, accountKey{v.Issuer, v.ProviderUID})
	s.users[userID] = slices.DeleteFunc(s.users[userID], func(x string) bool { return x == id })
	s.unindexEmail(v)
	return nil
}

// unindexEmail drops v from the email index. Callers hold mu.
func (s *MemoryStore) unindexEmail(v *Identity) {
	if v.VerifiedEmail == "" {
		return
	}
	rest := slices.DeleteFunc(s.emails[v.VerifiedEmail], func(x string) bool { return x == v.ID })
	if len(rest) == 0 {
		delete(s.emails, v.VerifiedEmail)
	} else {
		s.emails[v.VerifiedEmail] = rest
	}
}

// cloneAll copies the identities with the given ids. Callers hold mu.
func (s *MemoryStore) cloneAll(ids []string) []*Identity {
	out := make([]*Identity, 0, len(ids))
	for _, id := range ids {
		out = append(out, cloneIdentity(s.identities[id]))
	}
	return out
}

func cloneSession(v *Session) *Session {
	c := *v
	c.ProviderTokens = slices.Clone(v.ProviderTokens)
	return &c
}

func cloneIdentity(v *Identity) *Identity {
	c := *v
	c.ProviderTokens = slices.Clone(v.ProviderTokens)
	return &c
}

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
