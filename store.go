package oauthlogin

import (
	"context"
	"time"
)

// Store is everything the Manager keeps: sessions, identities, single-use
// marks and the refresh lock, in one value (Config.Store), so that an app
// with several instances shares all of it by naming one shared store.
// NewMemoryStore, store/redisstore, store/pgstore and store/sqlitestore
// are Stores; store/cookiestore wraps one to keep the sessions in the
// client. Package store/storetest checks an implementation against the
// contracts written here.
//
// Every method must be safe for concurrent use by many goroutines and,
// for a store shared by instances, by many processes. The Manager keeps no
// reference to a value it passes in, and owns every value a method
// returns: a store must not keep or change a returned value afterwards,
// nor keep one it was given (copy it). A missing record is ErrNotFound;
// any other error is a failure of the store, which the Manager reports as
// 500 (ErrStoreUnavailable, for a server that cannot be reached: 503).
// The Manager bounds every call with Config.StoreTimeout, through the
// context: a store should pass ctx's deadline on to its driver. Stores take the expiry times they are given on their own clock: a
// record whose Expires (or mark whose expiry) has passed is gone, whether
// or not the store has deleted it yet.
type Store interface {
	SessionStore
	IdentityStore
	// Consume marks key used until expires. It returns ErrAlreadyUsed if
	// key was consumed before and that mark has not expired; checking and
	// marking are one atomic step, so of concurrent callers (on any
	// instance) exactly one wins. The Manager marks login states,
	// token-mode secrets and device handles with it.
	Consume(ctx context.Context, key string, expires time.Time) error
	// Lock takes the lock named key, waiting while another holder has it,
	// until ctx ends (then it returns ctx's error). A free lock is taken
	// even with a context that is done, so such a context makes a
	// try-lock. A holder that never unlocks (a crashed instance) loses the
	// lock after ttl. unlock releases the lock only if this caller still
	// holds it; it releases it even when given a context that is done
	// (within a short bound of its own), so that a cancelled caller never
	// leaves a lock held until its TTL. The Manager serializes the refresh
	// of one identity's provider tokens with it, so that no two instances
	// ever send the same refresh token.
	Lock(ctx context.Context, key string, ttl time.Duration) (unlock func(context.Context) error, err error)
}

// SessionStore is the core of a store's sessions: what every Store keeps.
// A session is found by its ID only; the secret token that names it lives
// in the client. The Manager also stores token-mode pending records here,
// under IDs that no session can have (they contain a "."), and never
// loads one as a session.
//
// Upgrading a custom store from before v1: those versions stored a
// token-mode pending record under the hash of its secret, like a session,
// marked by a Session.Pending field that v1 removed. A store that keeps
// Session as JSON or by its exported fields drops that mark when it reads
// such a record back. The Manager refuses every record it reads under a
// session ID whose Expires is at most 6 minutes after its Created (a
// pending record lived 5; no session lives that short while
// Config.Sessions.Lifetime is 8 minutes or more), so an old secret is
// never a bearer token. With a Sessions.Lifetime under 8 minutes that
// check is off (the 2 minutes' margin keeps a session whose times the
// store rounds from looking 6 minutes long): then delete the old pending
// records (or wait 5 minutes with the app stopped) before upgrading.
type SessionStore interface {
	// Session returns the session with the given ID. A session that does
	// not exist or whose Expires has passed is (nil, ErrNotFound).
	Session(ctx context.Context, id string) (*Session, error)
	// SaveSession creates or replaces the session with s.ID, atomically:
	// a concurrent Session sees the old record or the new one, never a
	// mix. The Manager calls it only to create a session (a login, a
	// token-mode exchange) or a pending record; every later write to an
	// existing session is SessionToucher.TouchSession or
	// UpdateSessionTokens.
	SaveSession(ctx context.Context, s *Session) error
	// DeleteSession removes the session with the given ID. Removing a
	// session that does not exist is not an error.
	DeleteSession(ctx context.Context, id string) error
	// UpdateSessionTokens sets the ProviderTokens and
	// ProviderAccessTokenExpiry of the session with the given ID, and
	// changes nothing else (a concurrent TouchSession's LastSeen stays). It
	// only ever updates: a session that does not exist, was deleted, or
	// whose Expires has passed is ErrNotFound, and then nothing is written,
	// nothing created. Checking and writing are one atomic step, so an
	// update that races DeleteSession or DeleteUserSessions either lands
	// before the delete (which then removes it) or finds nothing: a refresh
	// in flight never brings back a session that was signed out.
	UpdateSessionTokens(ctx context.Context, id string, tokens []byte, expiry time.Time) error
	// DeleteUserSessions removes every session of a user (and every
	// pending record), so that a session saved before it began is gone
	// when it returns. A user with none is not an error.
	DeleteUserSessions(ctx context.Context, userID string) error
}

// SessionLister is the optional capability of listing a user's sessions.
// The Manager asserts it once, at New. Without it GET {prefix}sessions
// answers 501 unsupported, DELETE {prefix}sessions/{id} still works, and
// an unlink or a revoked grant, which must end the sessions of one
// identity and cannot find them, ends all of the user's sessions instead
// (see Config.Store).
type SessionLister interface {
	// UserSessions returns a user's records that have not expired,
	// pending records included, oldest first; none is an empty slice, not
	// an error.
	UserSessions(ctx context.Context, userID string) ([]*Session, error)
}

// ProviderSessionDeleter is the optional capability of ending sessions by
// the provider's session id, which a back-channel logout token naming a
// sid needs. The Manager asserts it once, at New. Without it, a logout
// token with a sub ends the sessions of that account as an unlink does
// (see SessionLister), and one with a sid only is refused (400).
type ProviderSessionDeleter interface {
	// DeleteProviderSessions removes every session whose Provider is
	// provider and whose ProviderSID is sid. None is not an error; sid is
	// never empty.
	DeleteProviderSessions(ctx context.Context, provider, sid string) error
}

// SessionToucher is the optional capability of recording when a session
// was last used, which Config.Sessions.IdleTimeout needs: New refuses an
// IdleTimeout with a store that lacks it. The Manager asserts it once, at
// New.
type SessionToucher interface {
	// TouchSession sets the LastSeen of the session with the given ID and
	// changes nothing else (a concurrent refresh's tokens stay). A missing
	// or expired session is ErrNotFound, and nothing is created.
	TouchSession(ctx context.Context, id string, lastSeen time.Time) error
}

// SessionSealer is implemented by a Store that keeps each session in the
// client instead of on a server (store/cookiestore): the session token is
// the sealed session. The Manager then sends the sealed session as the
// cookie (split across numbered cookies when long) or the bearer token,
// opens it instead of looking it up, and never calls the store's
// SessionStore methods.
type SessionSealer interface {
	// SealSession returns s sealed (authenticated and encrypted) into a
	// token.
	SealSession(s *Session) (string, error)
	// OpenSession returns the session sealed in token: ErrNotFound when the
	// token is forged, sealed with an unknown key, or expired.
	OpenSession(token string) (*Session, error)
}

// IdentityStore keeps identities; (Issuer, ProviderUID) is unique.
type IdentityStore interface {
	// Identity returns the identity of a provider account, or
	// (nil, ErrNotFound).
	Identity(ctx context.Context, issuer, subject string) (*Identity, error)
	// CreateIdentity stores a new identity. If one with the same Issuer and
	// ProviderUID exists it changes nothing and returns ErrIdentityExists:
	// of concurrent creators of one provider account, exactly one succeeds.
	CreateIdentity(ctx context.Context, id *Identity) error
	// UpdateIdentity replaces the stored identity with the same ID, or
	// returns ErrNotFound. Issuer, Provider, ProviderUID, UserID and Created
	// do not change.
	UpdateIdentity(ctx context.Context, id *Identity) error
	// UserIdentities returns a user's identities, oldest first; none is an
	// empty slice, not an error.
	UserIdentities(ctx context.Context, userID string) ([]*Identity, error)
	// IdentitiesByEmail returns the identities whose VerifiedEmail equals
	// email, oldest first; none is an empty slice.
	IdentitiesByEmail(ctx context.Context, email string) ([]*Identity, error)
	// DeleteIdentity removes identity id of user userID in one atomic step:
	// ErrNotFound when the user has no such identity, ErrLastIdentity when it
	// is the user's only one (their last way to sign in), and then nothing
	// changes.
	DeleteIdentity(ctx context.Context, userID, id string) error
}
