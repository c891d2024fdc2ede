package oauthlogin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// pendingPrefix starts the ID of every token-mode pending record. A
// session's ID is a base64url hash, which has no ".", so no session token
// ever names a pending record, and no pending record is ever a session.
const pendingPrefix = "p."

// isPendingID reports whether id names a pending record, not a session.
func isPendingID(id string) bool { return strings.HasPrefix(id, pendingPrefix) }

// errClientSessions is what only server-held sessions can do.
var errClientSessions = fmt.Errorf("%w: sessions live in the client", errors.ErrUnsupported)

// sessionCodec is where sessions live: in the store, named by the hash of
// a random token (storedSessions), or sealed into the token itself
// (sealedSessions). New picks one; nothing else asks which.
type sessionCodec interface {
	// load returns the session that a client's token names: ErrNotFound
	// when none (never a pending record).
	load(ctx context.Context, token string) (*Session, error)
	// issue keeps new session s, whose ID is hashID(token), and returns
	// the token the client holds.
	issue(ctx context.Context, s *Session, token string) (string, error)
	// reissue returns the token for s after its provider tokens changed,
	// when the client holds the session, or "" when the store has it.
	reissue(s *Session) (string, error)
	// byID returns the session with the given ID, for ending it.
	byID(ctx context.Context, id string) (*Session, error)
	// end ends the session with the given ID where the server can.
	end(ctx context.Context, id string) error
	// endToken ends the session a client's token names where the server
	// can (a replaced or duplicate cookie).
	endToken(ctx context.Context, token string) error
	// endUser ends every session of a user.
	endUser(ctx context.Context, userID string) error
	// updateTokens sets a stored session's provider tokens (see
	// SessionStore.UpdateSessionTokens); a client-held one is resealed
	// by reissue instead.
	updateTokens(ctx context.Context, id string, tokens []byte, expiry time.Time) error
	// list returns a user's stored sessions without pending records:
	// errors.ErrUnsupported when the store cannot list them.
	list(ctx context.Context, userID string) ([]*Session, error)
	// identitySessions returns the stored records (sessions and pending)
	// of user userID that signed in with identity identityID; all is true
	// when the store cannot tell them apart, and then the caller must end
	// all of the user's sessions. Client-held sessions are not reached.
	identitySessions(ctx context.Context, userID, identityID string) (list []*Session, all bool, err error)
	// savePending keeps pending record p for binding bind, setting its
	// ID, and returns the secret the app redeems.
	savePending(ctx context.Context, p *Session, bind string) (string, error)
	// loadPending returns the pending record a secret names and its
	// binding: ErrNotFound when none.
	loadPending(ctx context.Context, secret string) (*Session, string, error)
	// settle removes a redeemed pending record once session sessionID is
	// made from it; when the record is gone already (the user's sessions
	// ended meanwhile) it ends that session: errInvalidSecret.
	settle(ctx context.Context, pendingID, sessionID string) error
}

// newSessionCodec returns where the store keeps sessions, and its
// SessionToucher (nil when it has none), called through calls (see
// newStoreCalls, which asserts the other capabilities once): whether the
// store seals sessions is asserted here, once.
func newSessionCodec(calls storeCalls, lifetime time.Duration, now time.Time) (sessionCodec, SessionToucher, error) {
	store := calls.raw
	if sealer, ok := store.(SessionSealer); ok {
		if err := sealerWorks(sealer, now); err != nil {
			return nil, nil, fmt.Errorf("%w: store %T cannot seal sessions (cookiestore.New given no keys, or bad ones?): %w", ErrConfig, store, err)
		}
		return sealedSessions{sealer}, nil, nil
	}
	c := storedSessions{store: calls.store, lister: calls.lister}
	if lifetime >= oldPendingRuleFrom {
		c.oldPendingSpan = oldPendingSpan
	}
	return c, calls.toucher, nil
}

// sealerWorks seals a throwaway session and opens it again: a sealer with
// no keys (cookiestore.New(inner) with its keys forgotten) or keys it
// cannot use fails here, at New, not at the first login's callback. It
// costs one seal and one open, and no I/O.
func sealerWorks(sealer SessionSealer, now time.Time) error {
	probe := &Session{ID: "oauthlogin.check", UserID: "oauthlogin.check", Created: now, LastSeen: now, Expires: now.Add(time.Hour)}
	token, err := sealer.SealSession(probe)
	if err != nil {
		return err
	}
	got, err := sealer.OpenSession(token)
	if err != nil {
		return fmt.Errorf("it does not open the session it sealed: %w", err)
	}
	if got.ID != probe.ID {
		return errors.New("it opens another session than the one it sealed")
	}
	return nil
}

// oldPendingSpan is the longest span from Created to Expires of what a
// version before v1 stored as a token-mode pending record: under the hash
// of its secret, like a session, with a Session.Pending flag that v1
// removed. A custom store that kept Session as JSON or by its exported
// fields drops that flag and returns such a record as a session, whose
// one-time secret would then be a bearer token until it expires. Those
// records lived secretLifetime (5 minutes); the minute more allows for a
// store that keeps times coarsely. A session lives Sessions.Lifetime, so
// when that is longer, a stored record that lived no longer than this was
// never a session, and is refused (exactly: no v1 session is that short).
// The rule is on only from a Lifetime of oldPendingRuleFrom.
const oldPendingSpan = secretLifetime + time.Minute

// oldPendingRuleFrom is the shortest Sessions.Lifetime for which
// oldPendingSpan's rule is on: 2 minutes over the span, so that a session
// whose Created and Expires a store keeps coarsely (to the second, or
// worse) never spans oldPendingSpan or less. Just over the span (say 6
// minutes and half a second), a session stored to the second would span
// exactly 6 minutes and be refused.
const oldPendingRuleFrom = oldPendingSpan + 2*time.Minute

// wasPending reports whether s, read from the store under a session ID,
// is a pre-v1 pending record (see oldPendingSpan).
func (c storedSessions) wasPending(s *Session) bool {
	return c.oldPendingSpan > 0 && s.Expires.Sub(s.Created) <= c.oldPendingSpan
}

// storedSessions keeps sessions in the store, each under the hash of its
// token.
type storedSessions struct {
	store Store
	// oldPendingSpan refuses pre-v1 pending records (see oldPendingSpan);
	// zero when Sessions.Lifetime is below oldPendingRuleFrom, so short
	// that sessions, stored coarsely, could look like them.
	oldPendingSpan time.Duration
	lister         SessionLister // nil when the store cannot list sessions
}

// errNoLister answers what needs a SessionLister.
var errNoLister = fmt.Errorf("%w: the store cannot list sessions", errors.ErrUnsupported)

func (c storedSessions) load(ctx context.Context, token string) (*Session, error) {
	s, err := c.store.Session(ctx, hashID(token)) // a hash has no ".": never a pending record
	if err == nil && c.wasPending(s) {
		return nil, fmt.Errorf("%w: a token-mode pending record of a version before v1, not a session", ErrNotFound)
	}
	return s, err
}

func (c storedSessions) issue(ctx context.Context, s *Session, token string) (string, error) {
	if err := c.store.SaveSession(ctx, s); err != nil {
		return "", err
	}
	return token, nil
}

func (c storedSessions) reissue(*Session) (string, error) { return "", nil }

func (c storedSessions) byID(ctx context.Context, id string) (*Session, error) {
	if isPendingID(id) {
		return nil, ErrNotFound
	}
	return c.store.Session(ctx, id)
}

func (c storedSessions) end(ctx context.Context, id string) error {
	return c.store.DeleteSession(ctx, id)
}

func (c storedSessions) endToken(ctx context.Context, token string) error {
	return c.store.DeleteSession(ctx, hashID(token))
}

func (c storedSessions) endUser(ctx context.Context, userID string) error {
	return c.store.DeleteUserSessions(ctx, userID)
}

func (c storedSessions) updateTokens(ctx context.Context, id string, tokens []byte, expiry time.Time) error {
	return c.store.UpdateSessionTokens(ctx, id, tokens, expiry)
}

func (c storedSessions) list(ctx context.Context, userID string) ([]*Session, error) {
	if c.lister == nil {
		return nil, errNoLister
	}
	all, err := c.lister.UserSessions(ctx, userID)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(v *Session) bool { return isPendingID(v.ID) || c.wasPending(v) }), nil
}

func (c storedSessions) identitySessions(ctx context.Context, userID, identityID string) ([]*Session, bool, error) {
	if c.lister == nil {
		return nil, true, nil
	}
	all, err := c.lister.UserSessions(ctx, userID)
	if err != nil {
		return nil, false, err
	}
	return slices.DeleteFunc(all, func(v *Session) bool { return v.IdentityID != identityID }), false, nil
}

func (c storedSessions) savePending(ctx context.Context, p *Session, bind string) (string, error) {
	p.ID = pendingPrefix + hashID(bind)
	if err := c.store.SaveSession(ctx, p); err != nil {
		return "", err
	}
	return bind, nil
}

func (c storedSessions) loadPending(ctx context.Context, secret string) (*Session, string, error) {
	if !canonicalBinding(secret) {
		return nil, "", ErrNotFound
	}
	p, err := c.store.Session(ctx, pendingPrefix+hashID(secret))
	return p, secret, err
}

func (c storedSessions) settle(ctx context.Context, pendingID, sessionID string) error {
	// The new session is stored: a sign-out everywhere (or an unlink's
	// sweep) from now on ends it. One that came since the pending record
	// was read took the pending record with it, and then the secret signs
	// in no one.
	_, err := c.store.Session(ctx, pendingID)
	if errors.Is(err, ErrNotFound) {
		if err := c.store.DeleteSession(ctx, sessionID); err != nil {
			return err
		}
		return fmt.Errorf("%w: the user's sessions ended during the exchange", errInvalidSecret)
	}
	if err != nil {
		return err
	}
	return c.store.DeleteSession(ctx, pendingID)
}

// sealedSessions keeps each session in the client, sealed into its token
// by the store's SessionSealer. The server cannot reach such a session:
// ending one clears the client's cookie and nothing else, and listing or
// ending them by ID is unsupported.
type sealedSessions struct{ sealer SessionSealer }

func (c sealedSessions) load(_ context.Context, token string) (*Session, error) {
	s, err := c.sealer.OpenSession(token)
	if err != nil {
		return nil, err
	}
	if isPendingID(s.ID) {
		return nil, ErrNotFound
	}
	return s, nil
}

func (c sealedSessions) issue(_ context.Context, s *Session, _ string) (string, error) {
	return c.sealer.SealSession(s)
}

func (c sealedSessions) reissue(s *Session) (string, error) { return c.sealer.SealSession(s) }

func (c sealedSessions) byID(context.Context, string) (*Session, error) {
	return nil, errClientSessions
}

func (c sealedSessions) end(ctx context.Context, _ string) error      { return ctx.Err() }
func (c sealedSessions) endToken(ctx context.Context, _ string) error { return ctx.Err() }
func (c sealedSessions) endUser(context.Context, string) error        { return errClientSessions }

func (c sealedSessions) updateTokens(ctx context.Context, _ string, _ []byte, _ time.Time) error {
	return ctx.Err() // reissue reseals the session with them
}

func (c sealedSessions) list(context.Context, string) ([]*Session, error) {
	return nil, errClientSessions
}

func (c sealedSessions) identitySessions(context.Context, string, string) ([]*Session, bool, error) {
	return nil, false, nil // out of reach; store/cookiestore documents it
}

func (c sealedSessions) savePending(_ context.Context, p *Session, bind string) (string, error) {
	// The pending record lives in the client too, sealed into the secret,
	// with the binding in its id.
	p.ID = pendingPrefix + bind
	return c.sealer.SealSession(p)
}

func (c sealedSessions) loadPending(_ context.Context, secret string) (*Session, string, error) {
	if !canonicalSealed(secret) {
		return nil, "", ErrNotFound
	}
	p, err := c.sealer.OpenSession(secret)
	if err != nil {
		return nil, "", err
	}
	bind, ok := strings.CutPrefix(p.ID, pendingPrefix)
	if !ok {
		return nil, "", ErrNotFound // a session, not a pending record
	}
	return p, bind, nil
}

func (c sealedSessions) settle(ctx context.Context, _, _ string) error { return ctx.Err() }
