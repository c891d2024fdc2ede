package oauthlogin

import (
	"net/http"
	"time"
)

// EventType names what happened to a user.
type EventType string

// The events the Manager reports through Config.Hooks.OnEvent.
const (
	EventSignUp        EventType = "signup"         // a new user's first login
	EventLogin         EventType = "login"          // a login of a known identity
	EventLink          EventType = "link"           // a new identity joined a user (by link intent or verified email)
	EventUnlink        EventType = "unlink"         // an identity was removed
	EventLogout        EventType = "logout"         // a session was ended by its user
	EventRefreshFailed EventType = "refresh_failed" // the provider refused or failed a token refresh
	// EventProviderLogout: the provider said, by a back-channel logout
	// token, that a session of its own ended, and the sessions that signed
	// in with it ended here too. UserID and IdentityID are set when the
	// token named the account (sub), empty when it named only the
	// provider's session (sid).
	EventProviderLogout EventType = "provider_logout"
)

// Event is a record of something that happened to a user, for the host's
// audit log or metrics. It never holds a token or secret.
type Event struct {
	Type       EventType
	Time       time.Time
	UserID     string
	Provider   string
	IdentityID string
	// SessionID is the public session id (a hash, not the token).
	SessionID string
	IP        string
	UserAgent string
	// Code is the error code of a failure event (refresh_failed).
	Code string
}

// emit reports e, filling in the time and the request's metadata.
func (m *Manager) emit(r *http.Request, e Event) {
	if m.cfg.Hooks.OnEvent == nil {
		return
	}
	e.Time = m.now()
	e.IP = clientIP(r)
	e.UserAgent = truncate(r.UserAgent(), 256)
	m.cfg.Hooks.OnEvent(r.Context(), e)
}
