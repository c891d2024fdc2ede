package oauthlogin

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

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
	s, err := m.requestSession(r)
	if err != nil {
		m.writeError(w, r, err)
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
	s, err := m.requestSession(r)
	if err != nil {
		m.writeError(w, r, err)
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
	s, err := m.requestSession(r)
	if err != nil {
		m.writeError(w, r, err)
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
