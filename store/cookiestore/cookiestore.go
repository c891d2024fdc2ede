// Package cookiestore keeps oauthlogin sessions in the client: the session
// cookie (or bearer token) is the session itself, authenticated and
// encrypted with gorilla/securecookie, so no store holds sessions.
//
// It wraps another store, which keeps everything else: identities, the
// single-use marks (login states, token-mode secrets, device handles) and
// the refresh lock. That inner store is still server state: an app with
// several instances must give them one shared inner store
// (store/redisstore, store/pgstore), or a login begun on one instance
// fails on another and two instances may spend one refresh token;
// oauthlogin.NewMemoryStore() as the inner store suits one instance only.
// Use it as Config.Store:
//
//	m, err := oauthlogin.New(oauthlogin.Config{
//		BaseURL:  "https://app.example.com",
//		Keys:     oauthlogin.Keys{Cookie: keys},
//		Store:    cookiestore.New(redisstore.New(client), keys...),
//		Sessions: oauthlogin.SessionOptions{Lifetime: time.Hour}, // see "Logout" below
//	})
//
// New checks nothing itself: oauthlogin.New seals and opens a throwaway
// session with the Store, and refuses one given no keys (ErrConfig).
//
// Long sessions (big provider tokens) are split across numbered cookies
// (name.0, name.1, ...), each Set-Cookie header under 4096 bytes, and put
// back together on the way in.
//
// Logout, and its limits: with no server state there is no list of sessions
// to delete from. Logout clears the browser's cookies, but a copy of the
// cookie taken before (by malware, a shared machine's backup) stays valid
// until the session's own expiry. Keep Sessions.Lifetime short (an hour, say:
// signing in again through the provider is one redirect while its own
// session lasts), and rotate the keys to end every session at once: put a
// new key first, and drop the old ones. For the same reason the session
// list, signing out other devices and Sessions.IdleTimeout need a server store; with
// this one the Manager answers the first two 501 unsupported, and New
// refuses an IdleTimeout.
// A back-channel logout from the provider (OpenID Connect Back-Channel
// Logout) cannot reach them either: the Store is no
// oauthlogin.ProviderSessionDeleter, and the Manager refuses such a
// logout rather than acknowledge one it cannot carry out.
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
	"fmt"
	"time"

	"github.com/gorilla/securecookie"

	"github.com/oauthlogin/oauthlogin"
)

// Store keeps sessions in the client, sealed into their tokens, and
// everything else in the store it wraps. It is an oauthlogin.Store and an
// oauthlogin.SessionSealer; its SessionStore methods are the inner store's
// and the Manager does not call them (it seals and opens sessions instead).
type Store struct {
	oauthlogin.Store
	codecs []securecookie.Codec
	now    func() time.Time
}

// New returns a Store over inner, sealing sessions with the first key and
// opening them with any of them (rotation). It needs at least one key:
// oauthlogin.New refuses a Store given none (ErrConfig), before the first
// login. The keys may be the Manager's
// Keys.Cookie; a session sealed by one Store opens in any other with one of
// its keys, so every instance of the app shares them.
func New(inner oauthlogin.Store, keys ...oauthlogin.CookieKey) *Store {
	s := &Store{Store: inner, now: time.Now}
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
	return securecookie.EncodeMulti(name, sealedFrom(v), s.codecs...)
}

// sealed is what a token holds: a session as JSON, its login facts left
// out when empty (most providers send no acr, many no sid: no cookie
// grows by their empty fields), and the Pending flag with which an older
// version marked a token-mode login's pending record. A token sealed
// before the facts existed opens with them empty.
type sealed struct {
	oauthlogin.Session
	// These hide the Session's fields of the same names from JSON.
	ProviderSID string    `json:",omitempty"`
	AuthTime    time.Time `json:",omitzero"`
	ACR         string    `json:",omitempty"`
	Pending     bool      `json:",omitempty"`
}

func sealedFrom(v *oauthlogin.Session) *sealed {
	return &sealed{Session: *v, ProviderSID: v.ProviderSID, AuthTime: v.AuthTime, ACR: v.ACR}
}

// OpenSession implements oauthlogin.SessionSealer: a token that is forged,
// sealed with an unknown key, or whose session has expired is
// oauthlogin.ErrNotFound, and so is a pending record sealed by an older
// version (marked Pending), which is no session.
func (s *Store) OpenSession(token string) (*oauthlogin.Session, error) {
	var v sealed
	if err := securecookie.DecodeMulti(name, token, &v, s.codecs...); err != nil {
		return nil, oauthlogin.ErrNotFound
	}
	if v.Pending || !s.now().Before(v.Expires) {
		return nil, oauthlogin.ErrNotFound
	}
	v.Session.ProviderSID, v.Session.AuthTime, v.Session.ACR = v.ProviderSID, v.AuthTime, v.ACR
	return &v.Session, nil
}
