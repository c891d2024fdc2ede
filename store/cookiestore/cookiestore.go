// Package cookiestore keeps oauthlogin sessions entirely in the client: the
// session cookie (or bearer token) is the session itself, authenticated and
// encrypted with gorilla/securecookie. No server stores anything, so an app
// without a database, or with many instances and no shared store, can sign
// users in.
//
// Use it as Config.Sessions, with another store for identities:
//
//	m, err := oauthlogin.New(oauthlogin.Config{
//		BaseURL:         "https://app.example.com",
//		CookieKeys:      keys,
//		Sessions:        cookiestore.New(keys...),
//		Identities:      identities, // a server store: redisstore, sqlstore, ...
//		SessionLifetime: time.Hour,  // see "Logout" below
//	})
//
// With several instances, the one-time marks (login states, token-mode
// secrets, device handles) and the refresh lock must be shared too: the
// Manager takes them from the identity store when it keeps them (the Redis
// and SQL stores do); set Config.OneTime and Config.Locker otherwise.
//
// Long sessions (big provider tokens) are split across numbered cookies
// (name.0, name.1, ...), each Set-Cookie header under 4096 bytes, and put
// back together on the way in.
//
// Logout, and its limits: with no server state there is no list of sessions
// to delete from. Logout clears the browser's cookies, but a copy of the
// cookie taken before (by malware, a shared machine's backup) stays valid
// until the session's own expiry. Keep SessionLifetime short (an hour, say:
// signing in again through the provider is one redirect while its own
// session lasts), and rotate the keys to end every session at once: put a
// new key first, and drop the old ones. For the same reason the session
// list, signing out other devices and IdleTimeout need a server store; with
// this one the Manager answers them 501 unsupported.
//
// Refresh after logout: a refresh (POST {prefix}refresh) that was in
// flight when the browser logged out still answers with the session it
// refreshed, resealed, and a browser that receives that answer stores the
// cookie again. The resealed session is the same session: the same ID,
// user, identity, Created and Expires, with only the provider tokens
// changed, so it is worth no more than a copy of the cookie taken before
// the logout, and it ends at the same time. A server store refuses such a
// refresh (401 no_session) and writes nothing.
//
// Unlinking an identity ends the current session when it signed in with
// that identity (its cookie is cleared); sessions of that identity on
// other devices live until they expire, but their refresh finds no
// identity and answers no_refresh_token.
package cookiestore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gorilla/securecookie"

	"github.com/oauthlogin/oauthlogin"
)

// Store seals sessions into tokens. It implements oauthlogin.SessionStore
// (holding nothing) and oauthlogin.SessionSealer.
type Store struct {
	codecs []securecookie.Codec
	now    func() time.Time
}

// New returns a Store sealing with the first key and opening with any of
// them (rotation). The keys may be the Manager's CookieKeys; a session
// sealed by one Store opens in any other with one of its keys, so every
// instance of the app shares them.
func New(keys ...oauthlogin.CookieKey) *Store {
	s := &Store{now: time.Now}
	for _, k := range keys {
		c := securecookie.New(k.Hash, k.Block)
		c.SetSerializer(securecookie.JSONEncoder{})
		c.MaxAge(0)          // expiry is the session's own, checked in OpenSession
		c.MaxLength(1 << 16) // provider tokens can be long; the Manager splits the cookie
		s.codecs = append(s.codecs, c)
	}
	return s
}

// name binds sealed values to their use.
const name = "oauthlogin-session"

// SealSession implements oauthlogin.SessionSealer.
func (s *Store) SealSession(v *oauthlogin.Session) (string, error) {
	if len(s.codecs) == 0 {
		return "", fmt.Errorf("cookiestore: %w: no keys", oauthlogin.ErrConfig)
	}
	return securecookie.EncodeMulti(name, v, s.codecs...)
}

// OpenSession implements oauthlogin.SessionSealer: a token that is forged,
// sealed with an unknown key, or whose session has expired is
// oauthlogin.ErrNotFound.
func (s *Store) OpenSession(token string) (*oauthlogin.Session, error) {
	var v oauthlogin.Session
	if err := securecookie.DecodeMulti(name, token, &v, s.codecs...); err != nil {
		return nil, oauthlogin.ErrNotFound
	}
	if !s.now().Before(v.Expires) {
		return nil, oauthlogin.ErrNotFound
	}
	return &v, nil
}

// errServerState is returned for what only a server store can do.
var errServerState = fmt.Errorf("cookiestore: %w: sessions live in the client; this needs a server store", errors.ErrUnsupported)

// Session implements oauthlogin.SessionStore: nothing is stored, so it is
// always oauthlogin.ErrNotFound (the Manager opens sealed sessions instead).
func (s *Store) Session(ctx context.Context, id string) (*oauthlogin.Session, error) {
	return nil, oauthlogin.ErrNotFound
}

// SaveSession implements oauthlogin.SessionStore: the Manager sends the
// sealed session to the client; there is nothing to save.
func (s *Store) SaveSession(ctx context.Context, v *oauthlogin.Session) error { return ctx.Err() }

// DeleteSession implements oauthlogin.SessionStore: the Manager clears the
// cookie; copies stay valid until they expire (see the package doc).
func (s *Store) DeleteSession(ctx context.Context, id string) error { return ctx.Err() }

// TouchSession implements oauthlogin.SessionStore as a no-op.
func (s *Store) TouchSession(ctx context.Context, id string, lastSeen time.Time) error {
	return ctx.Err()
}

// UpdateSessionTokens implements oauthlogin.SessionStore: the session is
// in the client, so there is nothing to update here; the Manager reseals
// it with the new tokens and sends it back. That is also why this store
// cannot refuse a refresh that finishes after a logout: see "Refresh
// after logout" in the package doc.
func (s *Store) UpdateSessionTokens(ctx context.Context, id string, tokens []byte, expiry time.Time) error {
	return ctx.Err()
}

// UserSessions implements oauthlogin.SessionStore: unsupported.
func (s *Store) UserSessions(ctx context.Context, userID string) ([]*oauthlogin.Session, error) {
	return nil, errServerState
}

// DeleteUserSessions implements oauthlogin.SessionStore: unsupported.
func (s *Store) DeleteUserSessions(ctx context.Context, userID string) error {
	return errServerState
}
