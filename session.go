package oauthlogin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"golang.org/x/oauth2"
)

// Session is a signed-in browser or app. Its secret token lives only in the
// client (the session cookie); stores see ID, the token's SHA-256.
type Session struct {
	// ID is the base64url SHA-256 of the session token: safe to show, and
	// useless for signing in.
	ID     string
	UserID string
	// IdentityID is the identity this session signed in with.
	IdentityID string
	// Provider and ProviderUID name the provider account (Appwrite's
	// provider and providerUid).
	Provider    string
	ProviderUID string
	// ProviderSID is the provider's session id of the login (the ID
	// token's sid), which a back-channel logout names; "" when the
	// provider sent none.
	ProviderSID string
	// AuthTime and ACR are when and how the user authenticated at the
	// provider for this session, as its verified ID token said (auth_time,
	// acr): what a step-up login (max_age, acr_values) checked. Zero and ""
	// when the provider did not say.
	AuthTime time.Time
	ACR      string
	// ProviderAccessTokenExpiry is when the provider access token expires;
	// zero when the provider did not say.
	ProviderAccessTokenExpiry time.Time
	// ProviderTokens holds the provider access and refresh tokens sealed with
	// AES-GCM; open them with Manager.ProviderToken. Stores keep it as opaque
	// bytes.
	ProviderTokens []byte
	Created        time.Time
	// LastSeen is when the session was last used, to a minute or so; with
	// Config.Sessions.IdleTimeout, a session unused for that long has ended.
	LastSeen time.Time
	// Expires is when the session ends; stores treat it as gone after that.
	Expires   time.Time
	IP        string
	UserAgent string
}

// startSession creates a new session (a new id every login: no fixation),
// ends the one the browser had, and sets the cookie.
func (m *Manager) startSession(w http.ResponseWriter, r *http.Request, id *Identity, tok *oauth2.Token, p *Profile) (*Session, error) {
	s, token, err := m.saveNewSession(r, id, tok, p)
	if err != nil {
		return nil, err
	}
	switch old, dup := m.cookieToken(r); {
	case dup:
		m.endTossed(w, r) // the Set-Cookie below then replaces the expired one at "/"
	case old != "":
		if err := m.codec.endToken(r.Context(), old); err != nil {
			m.log.WarnContext(r.Context(), "oauthlogin: could not delete the previous session", "err", err)
		}
	}
	m.setSessionCookie(w, r, token, s.Expires)
	return s, nil
}

// saveNewSession stores a new session of an identity, with tok (which may
// be nil) sealed to it and the login's facts from p (sid, auth_time, acr;
// p may be nil), and returns it with its secret token.
func (m *Manager) saveNewSession(r *http.Request, id *Identity, tok *oauth2.Token, p *Profile) (*Session, string, error) {
	now := m.now()
	token := randomToken(32)
	s := &Session{
		ID:          hashID(token), // with sessions in the client, just a random id
		UserID:      id.UserID,
		IdentityID:  id.ID,
		Provider:    id.Provider,
		ProviderUID: id.ProviderUID,
		Created:     now,
		LastSeen:    now,
		Expires:     now.Add(m.cfg.Sessions.Lifetime),
		IP:          clientIP(r),
		UserAgent:   truncate(r.UserAgent(), 256),
	}
	s.setLoginFacts(p)
	if tok != nil {
		if rp, ok := m.lookup(id.Provider); ok {
			tok = rp.sessionTokens(tok)
		}
		sealed, err := m.keys.seal(tok, sessionAAD+s.ID)
		if err != nil {
			return nil, "", err
		}
		s.ProviderTokens, s.ProviderAccessTokenExpiry = sealed, tok.Expiry
	}
	token, err := m.codec.issue(r.Context(), s, token)
	if err != nil {
		return nil, "", err
	}
	// An unlink that deleted the identity after this login read it swept
	// the identity's sessions before this one existed: look again, now
	// that a later sweep would find it.
	if err := m.identityStands(r.Context(), id); err != nil {
		if derr := m.codec.end(r.Context(), s.ID); derr != nil {
			return nil, "", derr
		}
		return nil, "", err
	}
	return s, token, nil
}

// setLoginFacts records what the login's verified ID token said of the
// provider's session: sid, auth_time and acr.
func (s *Session) setLoginFacts(p *Profile) {
	if p != nil {
		s.ProviderSID, s.AuthTime, s.ACR = p.SID, p.AuthTime, p.ACR
	}
}

// identityStands checks that id is still the stored identity of its
// provider account, with the same user (see sameIdentity).
func (m *Manager) identityStands(ctx context.Context, id *Identity) error {
	_, err := m.sameIdentity(ctx, id.Issuer, id.ProviderUID, id.ID, id.UserID)
	return err
}

// sameIdentity returns the stored identity of a provider account when it
// is still record identityID of user userID, as a session or pending
// record saw it: ErrNotFound when it was unlinked since (and maybe linked
// again as another record, perhaps another user's), whose tokens are not
// that session's.
func (m *Manager) sameIdentity(ctx context.Context, issuer, subject, identityID, userID string) (*Identity, error) {
	id, err := m.store.Identity(ctx, issuer, subject)
	if err != nil {
		return nil, err
	}
	if id.ID != identityID || id.UserID != userID {
		return nil, fmt.Errorf("%w: the identity was unlinked since", ErrNotFound)
	}
	return id, nil
}

// ProviderToken opens a session's sealed provider tokens. The result is nil
// when the session holds none. Expiry is the session's
// ProviderAccessTokenExpiry.
func (m *Manager) ProviderToken(s *Session) (*oauth2.Token, error) {
	tok, err := m.openTokens(context.Background(), s.ProviderTokens, sessionAAD+s.ID)
	if tok != nil {
		tok.Expiry = s.ProviderAccessTokenExpiry
	}
	return tok, err
}

// openTokens opens sealed provider tokens (keyring.open). Tokens sealed
// under a key the Manager no longer has are errUnseal, and the first such
// is logged as a warning: a key that changed at a restart, or was dropped
// too soon, leaves every stored token unreadable, which should not pass
// unnoticed. One record per Manager, without the tokens or the record.
func (m *Manager) openTokens(ctx context.Context, sealed []byte, aad string) (*oauth2.Token, error) {
	tok, _, err := m.openRefreshed(ctx, sealed, aad)
	return tok, err
}

// openRefreshed is openTokens that also gives when a refresh obtained the
// tokens (keyring.openRefreshed).
func (m *Manager) openRefreshed(ctx context.Context, sealed []byte, aad string) (*oauth2.Token, time.Time, error) {
	tok, refreshed, err := m.keys.openRefreshed(sealed, aad)
	if err != nil && errors.Is(err, errUnseal) {
		m.unreadableTokens.Do(func() {
			m.log.WarnContext(ctx, "oauthlogin: stored provider tokens cannot be opened with the current keys: "+
				"the cookie or token keys changed (a new key at a restart, or an old one dropped too soon); "+
				"sessions and identities stand without provider tokens until their users sign in again. "+
				"Keep keys across restarts, and rotate by putting a new key first. Logged once.")
		})
	}
	return tok, refreshed, err
}
