package oauthlogin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"golang.org/x/oauth2"
)

// sessionJSON is the browser-facing form of a Session, named as Appwrite's
// session model. It never holds the refresh token.
type sessionJSON struct {
	ID                        string    `json:"id"`
	CreatedAt                 time.Time `json:"createdAt"`
	UserID                    string    `json:"userId"`
	Expire                    time.Time `json:"expire"`
	Provider                  string    `json:"provider"`
	ProviderUID               string    `json:"providerUid"`
	ProviderAccessToken       string    `json:"providerAccessToken,omitempty"`
	ProviderAccessTokenExpiry string    `json:"providerAccessTokenExpiry"`
	HasRefreshToken           bool      `json:"hasProviderRefreshToken"`
	// AuthTime and ACR are when and how the user authenticated at the
	// provider for this session (Session.AuthTime, Session.ACR), when the
	// provider's ID token said.
	AuthTime string `json:"authTime,omitempty"`
	ACR      string `json:"acr,omitempty"`
	// Secret is the session token, only in the answer that creates a
	// bearer session.
	Secret    string `json:"secret,omitempty"`
	IP        string `json:"ip"`
	UserAgent string `json:"userAgent"`
	Current   bool   `json:"current"`
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// writeSession answers 200 with the session JSON.
func (m *Manager) writeSession(w http.ResponseWriter, r *http.Request, s *Session) {
	m.writeSessionToken(w, r, s, "", http.StatusOK)
}

// writeSessionToken answers with the session JSON and, when token is not
// empty, the session token as its secret.
func (m *Manager) writeSessionToken(w http.ResponseWriter, r *http.Request, s *Session, token string, status int) {
	tok, err := m.ProviderToken(s)
	if errors.Is(err, errUnseal) {
		// Sealed under a key since dropped (logged once, openTokens): the
		// session stands, without provider tokens (signing in again gets
		// new ones).
		tok, err = nil, nil
	}
	if err != nil {
		m.writeError(w, r, err)
		return
	}
	v := &sessionJSON{
		ID:                        s.ID,
		CreatedAt:                 s.Created.UTC().Truncate(time.Second),
		UserID:                    s.UserID,
		Expire:                    s.Expires.UTC().Truncate(time.Second),
		Provider:                  s.Provider,
		ProviderUID:               s.ProviderUID,
		ProviderAccessTokenExpiry: rfc3339(s.ProviderAccessTokenExpiry),
		HasRefreshToken:           tok != nil && tok.RefreshToken != "",
		AuthTime:                  rfc3339(s.AuthTime),
		ACR:                       s.ACR,
		IP:                        s.IP,
		UserAgent:                 s.UserAgent,
		Current:                   true,
		Secret:                    token,
	}
	if tok != nil && m.cfg.Sessions.ExposeProviderAccessToken {
		v.ProviderAccessToken = tok.AccessToken
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, v)
}

// getSession serves GET {prefix}session: 200 with the current session as
// JSON, or 401 {"error":"no_session"}.
func (m *Manager) getSession(w http.ResponseWriter, r *http.Request) {
	s := m.answerSession(w, r)
	if s == nil {
		return
	}
	m.writeSession(w, r, s)
}

// logout serves DELETE {prefix}session: it deletes the current session from
// the store, clears the cookie and answers 204. With Config.Sessions.RevokeOnLogout it
// also revokes the provider tokens (RFC 7009) where the provider can.
// With provider=1 (and an optional return URL, checked as success is) it
// then answers 200 with where to send the browser to end the provider's
// session too (logoutEverywhere, logout.go).
// Cross-origin requests are refused (http.CrossOriginProtection).
func (m *Manager) logout(w http.ResponseWriter, r *http.Request) {
	if !m.sameOrigin(w, r) {
		return
	}
	if r.URL.Query().Get("provider") == "1" {
		m.logoutEverywhere(w, r)
		return
	}
	if _, err := m.signOut(w, r); err != nil {
		m.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// revoke asks the provider to revoke a session's tokens; when it did, and
// they are the identity's, they go from the identity and its other
// sessions too (forgetRevoked), so that no refresh hands them out again.
func (m *Manager) revoke(ctx context.Context, s *Session) {
	if tok, err := m.ProviderToken(s); err == nil && tok != nil {
		if m.revokeToken(ctx, s.Provider, tok) {
			m.forgetRevoked(ctx, s, tok)
		}
	}
}

// revokeToken revokes provider tokens (RFC 7009): the refresh token first
// (which ends its access tokens too, §2.1), then the access token, for
// providers that revoke only what they are given. Failures are logged,
// never shown: the local record is gone either way. It reports whether
// the provider revoked a token.
func (m *Manager) revokeToken(ctx context.Context, provider string, tok *oauth2.Token) bool {
	rp, ok := m.lookup(provider)
	if !ok {
		return false
	}
	rv, ok := rp.p.(Revoker)
	if !ok {
		return false
	}
	revoked := false
	for _, t := range []struct{ token, hint string }{{tok.RefreshToken, "refresh_token"}, {tok.AccessToken, "access_token"}} {
		if t.token == "" {
			continue
		}
		if err := rv.Revoke(rp.clientContext(ctx), t.token, t.hint); err != nil {
			if !errors.Is(err, errors.ErrUnsupported) {
				m.log.WarnContext(ctx, "oauthlogin: token revocation failed", "provider", provider, "hint", t.hint, "err", logDetail(err, t.token, rp.oauth.ClientSecret))
			}
			return revoked
		}
		revoked = true
	}
	return revoked
}

// sessionListJSON is one of a user's sessions in GET {prefix}sessions:
// where and when it signed in, never its tokens.
type sessionListJSON struct {
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"createdAt"`
	LastSeen  time.Time `json:"lastSeen"`
	Expire    time.Time `json:"expire"`
	Provider  string    `json:"provider"`
	IP        string    `json:"ip"`
	UserAgent string    `json:"userAgent"`
	Current   bool      `json:"current"`
}

// listSessions serves GET {prefix}sessions: the signed-in user's sessions, the
// current one marked, as {"total": n, "sessions": [...]}. Sessions that
// have ended on the Manager's clock are left out, as requestSession would
// refuse them: past Expires, or unused for Config.Sessions.IdleTimeout (a store
// drops the first on its own clock, and the second not at all). Pending
// token-mode records are no sessions and are left out too.
func (m *Manager) listSessions(w http.ResponseWriter, r *http.Request) {
	s := m.answerSession(w, r)
	if s == nil {
		return
	}
	all, err := m.codec.list(r.Context(), s.UserID)
	if err != nil {
		m.writeError(w, r, err)
		return
	}
	out := struct {
		Total    int               `json:"total"`
		Sessions []sessionListJSON `json:"sessions"`
	}{Sessions: make([]sessionListJSON, 0, len(all))}
	now := m.now()
	for _, v := range all {
		if !m.live(v, now) {
			continue
		}
		out.Sessions = append(out.Sessions, sessionListJSON{
			ID:        v.ID,
			CreatedAt: v.Created.UTC().Truncate(time.Second),
			LastSeen:  v.LastSeen.UTC().Truncate(time.Second),
			Expire:    v.Expires.UTC().Truncate(time.Second),
			Provider:  v.Provider,
			IP:        v.IP,
			UserAgent: v.UserAgent,
			Current:   v.ID == s.ID,
		})
	}
	out.Total = len(out.Sessions)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, out)
}

// live reports whether session v has not ended at now: neither its
// absolute lifetime (Expires) nor, with Config.Sessions.IdleTimeout, its idle time
// since LastSeen. requestSession applies the same two rules.
func (m *Manager) live(v *Session, now time.Time) bool {
	if !now.Before(v.Expires) {
		return false
	}
	idle := m.cfg.Sessions.IdleTimeout
	return idle <= 0 || now.Sub(v.LastSeen) < idle
}

// endSession serves DELETE {prefix}sessions/{id}: it signs out one of the
// user's sessions, another device say, and answers 204; a session that is
// not the user's is a 404. Ending the current one clears its cookie.
// Cross-origin requests are refused.
func (m *Manager) endSession(w http.ResponseWriter, r *http.Request) {
	if !m.sameOrigin(w, r) {
		return
	}
	s := m.answerSession(w, r)
	if s == nil {
		return
	}
	target, err := m.codec.byID(r.Context(), r.PathValue("id"))
	if errors.Is(err, errors.ErrUnsupported) {
		m.writeError(w, r, err)
		return
	}
	if err != nil || target.UserID != s.UserID {
		m.writeError(w, r, fmt.Errorf("%w: no such session", ErrNotFound))
		return
	}
	if err := m.codec.end(r.Context(), target.ID); err != nil {
		m.writeError(w, r, err)
		return
	}
	if target.ID == s.ID {
		m.clearSessionCookie(w, r)
	}
	m.emit(r, Event{Type: EventLogout, UserID: s.UserID, Provider: target.Provider, IdentityID: target.IdentityID, SessionID: target.ID})
	w.WriteHeader(http.StatusNoContent)
}

// endAllSessions serves DELETE {prefix}sessions: it signs the user out
// everywhere, this browser included, and answers 204. Cross-origin requests
// are refused.
func (m *Manager) endAllSessions(w http.ResponseWriter, r *http.Request) {
	if !m.sameOrigin(w, r) {
		return
	}
	s := m.answerSession(w, r)
	if s == nil {
		return
	}
	if err := m.codec.endUser(r.Context(), s.UserID); err != nil {
		m.writeError(w, r, err)
		return
	}
	m.clearSessionCookie(w, r)
	m.emit(r, Event{Type: EventLogout, UserID: s.UserID, Provider: s.Provider, IdentityID: s.IdentityID, SessionID: s.ID})
	w.WriteHeader(http.StatusNoContent)
}

// identityJSON is the browser-facing form of an Identity: no tokens.
type identityJSON struct {
	ID                        string    `json:"id"`
	CreatedAt                 time.Time `json:"createdAt"`
	UpdatedAt                 time.Time `json:"updatedAt"`
	UserID                    string    `json:"userId"`
	Provider                  string    `json:"provider"`
	ProviderUID               string    `json:"providerUid"`
	ProviderEmail             string    `json:"providerEmail"`
	ProviderAccessTokenExpiry string    `json:"providerAccessTokenExpiry"`
}

// listIdentities serves GET {prefix}identities: the current user's identities as
// JSON {"total": n, "identities": [...]}, or 401.
func (m *Manager) listIdentities(w http.ResponseWriter, r *http.Request) {
	s := m.answerSession(w, r)
	if s == nil {
		return
	}
	ids, err := m.store.UserIdentities(r.Context(), s.UserID)
	if err != nil {
		m.writeError(w, r, err)
		return
	}
	out := struct {
		Total      int            `json:"total"`
		Identities []identityJSON `json:"identities"`
	}{Total: len(ids), Identities: make([]identityJSON, 0, len(ids))}
	for _, id := range ids {
		out.Identities = append(out.Identities, identityJSON{
			ID:                        id.ID,
			CreatedAt:                 id.Created.UTC().Truncate(time.Second),
			UpdatedAt:                 id.Updated.UTC().Truncate(time.Second),
			UserID:                    id.UserID,
			Provider:                  id.Provider,
			ProviderUID:               id.ProviderUID,
			ProviderEmail:             id.ProviderEmail,
			ProviderAccessTokenExpiry: rfc3339(id.ProviderAccessTokenExpiry),
		})
	}
	writeJSON(w, http.StatusOK, out)
}

// unlink serves DELETE {prefix}identities/{id}: it removes one identity of
// the signed-in user and answers 204, after asking the provider to revoke
// its tokens (RFC 7009) where it can. Every session that signed in with
// that identity ends with it, pending token-mode logins included; when
// the current session is one of them its cookie is cleared (with a store
// that cannot list sessions, every session of the user ends, this one
// included: see Config.Store). An identity
// that is not the user's is a 404; the user's last identity, their last
// way to sign in, is refused with 409 last_identity (the store checks
// this atomically). Cross-origin requests are refused.
func (m *Manager) unlink(w http.ResponseWriter, r *http.Request) {
	if !m.sameOrigin(w, r) {
		return
	}
	s := m.answerSession(w, r)
	if s == nil {
		return
	}
	ids, err := m.store.UserIdentities(r.Context(), s.UserID)
	if err != nil {
		m.writeError(w, r, err)
		return
	}
	i := slices.IndexFunc(ids, func(id *Identity) bool { return id.ID == r.PathValue("id") })
	if i < 0 {
		m.writeError(w, r, fmt.Errorf("%w: no such identity", ErrNotFound))
		return
	}
	id := ids[i]
	if err := m.store.DeleteIdentity(r.Context(), s.UserID, id.ID); err != nil {
		m.writeError(w, r, err)
		return
	}
	// Its sessions end after the identity is gone: a login through the
	// same provider account from now on makes a new identity.
	all, err := m.endIdentitySessions(r.Context(), s.UserID, id.ID, "")
	if err != nil {
		m.writeError(w, r, err)
		return
	}
	if s.IdentityID == id.ID || all {
		m.clearSessionCookie(w, r)
	}
	if tok, err := m.openTokens(r.Context(), id.ProviderTokens, "identity:"+id.ID); err == nil && tok != nil {
		m.revokeToken(r.Context(), id.Provider, tok)
	}
	// Nothing can reuse the revoked tokens: the identity record (whose ID
	// every refresh of it is keyed on) and its sessions are gone.
	m.emit(r, Event{Type: EventUnlink, UserID: s.UserID, Provider: id.Provider, IdentityID: id.ID, SessionID: s.ID})
	w.WriteHeader(http.StatusNoContent)
}
