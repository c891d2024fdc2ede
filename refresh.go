package oauthlogin

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"golang.org/x/oauth2"
)

// Refresh serves POST {prefix}refresh, Appwrite's "update OAuth session":
// it renews the current session's provider access token with its refresh
// token and answers 200 with the session JSON, which carries the new
// providerAccessTokenExpiry. A session without a refresh token is a 400
// (no_refresh_token); a provider failure a 502 (refresh_failed).
// Cross-origin requests are refused (http.CrossOriginProtection).
func (m *Manager) Refresh(w http.ResponseWriter, r *http.Request) {
	if !m.sameOrigin(w, r) {
		return
	}
	s, err := m.requestSession(r)
	if err != nil {
		m.writeError(w, r, statusFor(err), err)
		return
	}
	refreshed, err := m.RefreshSession(r.Context(), s)
	if err != nil {
		if errors.Is(err, ErrRefresh) {
			m.emit(r, Event{Type: EventRefreshFailed, UserID: s.UserID, Provider: s.Provider, IdentityID: s.IdentityID, SessionID: s.ID, Code: Code(err)})
		}
		m.writeError(w, r, statusFor(err), err)
		return
	}
	s = refreshed
	m.writeSession(w, r, s)
}

// RefreshSession renews the provider access token of s with its refresh
// token, saves the new tokens on the session and its identity, and returns
// the updated session. When the provider sends no new refresh token the old
// one is kept.
func (m *Manager) RefreshSession(ctx context.Context, s *Session) (*Session, error) {
	rp, ok := m.lookup(s.Provider)
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownProvider, s.Provider)
	}
	old, err := m.ProviderToken(s)
	if err != nil {
		return nil, err
	}
	if old == nil || old.RefreshToken == "" {
		return nil, ErrNoRefreshToken
	}
	tok, err := rp.refresh(m.clientContext(ctx), old.RefreshToken)
	if err != nil {
		return nil, wrap(ErrRefresh, err)
	}
	if tok.RefreshToken == "" {
		tok.RefreshToken = old.RefreshToken // no rotation: keep the one we have
	}
	c := *s
	if c.ProviderTokens, err = m.keys.seal(tok, "session:"+c.ID); err != nil {
		return nil, err
	}
	c.ProviderAccessTokenExpiry = tok.Expiry
	if err := m.sessions.SaveSession(ctx, &c); err != nil {
		return nil, err
	}
	if err := m.updateIdentityTokens(ctx, rp.issuer, &c, tok); err != nil {
		m.log.WarnContext(ctx, "oauthlogin: refreshed tokens not saved on the identity", "provider", c.Provider, "err", err)
	}
	return &c, nil
}

func (m *Manager) updateIdentityTokens(ctx context.Context, issuer string, s *Session, tok *oauth2.Token) error {
	id, err := m.identities.Identity(ctx, issuer, s.ProviderUID)
	if err != nil {
		return err
	}
	if id.ID != s.IdentityID {
		return errors.New("oauthlogin: identity was replaced")
	}
	if err := m.setIdentityTokens(id, tok); err != nil {
		return err
	}
	id.Updated = m.now()
	return m.identities.UpdateIdentity(ctx, id)
}
