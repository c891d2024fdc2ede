package oauthlogin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// defaultStoreTimeout is Config.StoreTimeout's default; minStoreTimeout
// and maxStoreTimeout bound the values New accepts.
const (
	defaultStoreTimeout = 5 * time.Second
	minStoreTimeout     = time.Millisecond
	maxStoreTimeout     = refreshLockTTL / 3
)

// storeCalls is Config.Store as the Manager calls it: the store and each
// optional capability it has (nil when it lacks one), asserted once, at
// New, on the store itself. Every call through them is bounded by
// Config.StoreTimeout (timedStore), except on the memory store.
type storeCalls struct {
	raw     Store // Config.Store itself, asserted for SessionSealer
	store   Store
	lister  SessionLister
	toucher SessionToucher
	sids    ProviderSessionDeleter
}

// newStoreCalls returns how the Manager calls raw: through a timedStore
// bounding each call by timeout, or raw itself when timeout is negative
// (no bound of ours) or raw is the memory store, whose calls never wait on
// I/O (its Lock waits at most for the holder's ttl), so that a bound there
// would cost the authenticated request its allocations (four, for
// context.WithTimeout) and bound nothing.
func newStoreCalls(raw Store, timeout time.Duration) storeCalls {
	lister, isLister := raw.(SessionLister)
	toucher, isToucher := raw.(SessionToucher)
	sids, isSids := raw.(ProviderSessionDeleter)
	if _, mem := raw.(*MemoryStore); mem || timeout < 0 {
		return storeCalls{raw: raw, store: raw, lister: lister, toucher: toucher, sids: sids}
	}
	t := &timedStore{raw: raw, timeout: timeout, lister: lister, toucher: toucher, sids: sids}
	c := storeCalls{raw: raw, store: t}
	if isLister {
		c.lister = t
	}
	if isToucher {
		c.toucher = t
	}
	if isSids {
		c.sids = t
	}
	return c
}

// timedStore runs each call of a store under the caller's context bounded
// by timeout (Config.StoreTimeout), so that no call waits on a store that
// does not answer longer than that, not even one that runs detached from
// its request (a shared refresh, an unlock). A call that our bound ended
// is ErrStoreUnavailable (503, Retry-After); one that ended because the
// caller's own context did keeps that context's error.
type timedStore struct {
	raw     Store
	timeout time.Duration
	lister  SessionLister          // nil when raw is none
	toucher SessionToucher         // nil when raw is none
	sids    ProviderSessionDeleter // nil when raw is none
}

// noCancel is the CancelFunc of a context that bound left as it was.
func noCancel() {}

// bound returns ctx bounded by d from now, unless ctx's own deadline comes
// first: then ctx itself, at no cost.
func bound(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= d {
		return ctx, noCancel
	}
	return context.WithTimeout(ctx, d)
}

// result is err of a call run under bounded, derived from the caller's
// ctx: ErrStoreUnavailable when bounded's own deadline ended it while ctx
// was live, so that a store that does not answer is a 503, not a 500.
func (t *timedStore) result(ctx, bounded context.Context, err error) error {
	return t.resultWithin(ctx, bounded, t.timeout, err)
}

// resultWithin is result for a call bounded by d.
func (t *timedStore) resultWithin(ctx, bounded context.Context, d time.Duration, err error) error {
	if err == nil || ctx.Err() != nil || bounded.Err() == nil {
		return err
	}
	if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, os.ErrDeadlineExceeded) {
		return err // the store's own answer, or a failure it reported as such
	}
	return fmt.Errorf("oauthlogin: store %T did not answer within %v: %w: %w", t.raw, d, ErrStoreUnavailable, err)
}

// Session implements SessionStore.
func (t *timedStore) Session(ctx context.Context, id string) (*Session, error) {
	c, cancel := bound(ctx, t.timeout)
	defer cancel()
	s, err := t.raw.Session(c, id)
	return s, t.result(ctx, c, err)
}

// SaveSession implements SessionStore.
func (t *timedStore) SaveSession(ctx context.Context, s *Session) error {
	c, cancel := bound(ctx, t.timeout)
	defer cancel()
	return t.result(ctx, c, t.raw.SaveSession(c, s))
}

// DeleteSession implements SessionStore.
func (t *timedStore) DeleteSession(ctx context.Context, id string) error {
	c, cancel := bound(ctx, t.timeout)
	defer cancel()
	return t.result(ctx, c, t.raw.DeleteSession(c, id))
}

// UpdateSessionTokens implements SessionStore.
func (t *timedStore) UpdateSessionTokens(ctx context.Context, id string, tokens []byte, expiry time.Time) error {
	c, cancel := bound(ctx, t.timeout)
	defer cancel()
	return t.result(ctx, c, t.raw.UpdateSessionTokens(c, id, tokens, expiry))
}

// DeleteUserSessions implements SessionStore.
func (t *timedStore) DeleteUserSessions(ctx context.Context, userID string) error {
	c, cancel := bound(ctx, t.timeout)
	defer cancel()
	return t.result(ctx, c, t.raw.DeleteUserSessions(c, userID))
}

// UserSessions implements SessionLister; only called when raw is one.
func (t *timedStore) UserSessions(ctx context.Context, userID string) ([]*Session, error) {
	c, cancel := bound(ctx, t.timeout)
	defer cancel()
	list, err := t.lister.UserSessions(c, userID)
	return list, t.result(ctx, c, err)
}

// TouchSession implements SessionToucher; only called when raw is one.
func (t *timedStore) TouchSession(ctx context.Context, id string, lastSeen time.Time) error {
	c, cancel := bound(ctx, t.timeout)
	defer cancel()
	return t.result(ctx, c, t.toucher.TouchSession(c, id, lastSeen))
}

// DeleteProviderSessions implements ProviderSessionDeleter; only called
// when raw is one.
func (t *timedStore) DeleteProviderSessions(ctx context.Context, provider, sid string) error {
	c, cancel := bound(ctx, t.timeout)
	defer cancel()
	return t.result(ctx, c, t.sids.DeleteProviderSessions(c, provider, sid))
}

// Identity implements IdentityStore.
func (t *timedStore) Identity(ctx context.Context, issuer, subject string) (*Identity, error) {
	c, cancel := bound(ctx, t.timeout)
	defer cancel()
	id, err := t.raw.Identity(c, issuer, subject)
	return id, t.result(ctx, c, err)
}

// CreateIdentity implements IdentityStore.
func (t *timedStore) CreateIdentity(ctx context.Context, id *Identity) error {
	c, cancel := bound(ctx, t.timeout)
	defer cancel()
	return t.result(ctx, c, t.raw.CreateIdentity(c, id))
}

// UpdateIdentity implements IdentityStore.
func (t *timedStore) UpdateIdentity(ctx context.Context, id *Identity) error {
	c, cancel := bound(ctx, t.timeout)
	defer cancel()
	return t.result(ctx, c, t.raw.UpdateIdentity(c, id))
}

// UserIdentities implements IdentityStore.
func (t *timedStore) UserIdentities(ctx context.Context, userID string) ([]*Identity, error) {
	c, cancel := bound(ctx, t.timeout)
	defer cancel()
	list, err := t.raw.UserIdentities(c, userID)
	return list, t.result(ctx, c, err)
}

// IdentitiesByEmail implements IdentityStore.
func (t *timedStore) IdentitiesByEmail(ctx context.Context, email string) ([]*Identity, error) {
	c, cancel := bound(ctx, t.timeout)
	defer cancel()
	list, err := t.raw.IdentitiesByEmail(c, email)
	return list, t.result(ctx, c, err)
}

// DeleteIdentity implements IdentityStore.
func (t *timedStore) DeleteIdentity(ctx context.Context, userID, id string) error {
	c, cancel := bound(ctx, t.timeout)
	defer cancel()
	return t.result(ctx, c, t.raw.DeleteIdentity(c, userID, id))
}

// Consume implements Store.
func (t *timedStore) Consume(ctx context.Context, key string, expires time.Time) error {
	c, cancel := bound(ctx, t.timeout)
	defer cancel()
	return t.result(ctx, c, t.raw.Consume(c, key, expires))
}

// Lock implements Store. Taking the lock may wait for its holder: at most
// ttl (a holder that never unlocks loses the lock then), so the bound is
// ttl more than the timeout. The unlock it returns is bounded by the
// timeout too, whatever context it is given (a refresh unlocks with one
// detached from its request).
func (t *timedStore) Lock(ctx context.Context, key string, ttl time.Duration) (func(context.Context) error, error) {
	d := ttl + t.timeout
	c, cancel := bound(ctx, d)
	defer cancel()
	unlock, err := t.raw.Lock(c, key, ttl)
	if err != nil {
		return nil, t.resultWithin(ctx, c, d, err)
	}
	return func(ctx context.Context) error {
		c, cancel := bound(ctx, t.timeout)
		defer cancel()
		return t.result(ctx, c, unlock(c))
	}, nil
}
