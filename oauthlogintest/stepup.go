package oauthlogintest

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// SetAuthTime sets when the user last authenticated at the provider: the
// provider's own session, which later logins reuse as their auth_time
// unless the request makes the user authenticate again (prompt=login,
// max_age elapsed, acr_values asked) or a login page approves it. The
// zero time means nobody is signed in at the provider: prompt=none is then
// answered with login_required, and the next login authenticates afresh.
// A new Server has nobody signed in; its first login signs the user in.
func (s *Server) SetAuthTime(t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.authTime = t
}

// hasPrompt reports whether the authorization request q carries value in
// its prompt parameter.
func hasPrompt(q url.Values, value string) bool {
	return slices.Contains(strings.Fields(q.Get("prompt")), value)
}

// mustReauthenticate reports whether q makes a user who authenticated at
// at authenticate again now: prompt=login, or max_age elapsed (OpenID
// Connect Core §3.1.2.1; max_age=0 is prompt=login).
func mustReauthenticate(q url.Values, at, now time.Time) bool {
	if at.IsZero() || hasPrompt(q, "login") {
		return true
	}
	if v := q.Get("max_age"); v != "" {
		age, err := strconv.ParseInt(v, 10, 64)
		if err == nil && (age == 0 || now.Sub(at) > time.Duration(age)*time.Second) {
			return true
		}
	}
	return false
}

// promptNoneError is the error the authorization request q gets when it
// asks for prompt=none and the provider cannot approve it without the
// user (OpenID Connect Core §3.1.2.6): Behavior.PromptNoneError when set,
// login_required when nobody is signed in or q asks for a new
// authentication, else "".
func (s *Server) promptNoneError(q url.Values, b Behavior) string {
	if !hasPrompt(q, "none") {
		return ""
	}
	if b.PromptNoneError != "" {
		return b.PromptNoneError
	}
	s.mu.Lock()
	at := s.authTime
	s.mu.Unlock()
	if mustReauthenticate(q, at, time.Now()) {
		return "login_required"
	}
	return ""
}

// authenticateLocked returns the auth_time and acr of a login for q by u
// approved now, renewing the provider's session where the request or an
// interactive login (fresh) asks for it. acr is Behavior.ACR when set,
// else the first of q's acr_values (the honest provider steps up to what
// is asked, authenticating the user again), else u.ACR. s.mu must be held.
func (s *Server) authenticateLocked(q url.Values, u User, b Behavior, now time.Time, fresh bool) (time.Time, string) {
	acr := u.ACR
	if values := strings.Fields(q.Get("acr_values")); len(values) > 0 && b.ACR == "" {
		acr = values[0]
		fresh = true
	}
	if b.ACR != "" {
		acr = b.ACR
	}
	if hasPrompt(q, "none") && !s.authTime.IsZero() {
		return s.authTime, acr
	}
	if fresh || mustReauthenticate(q, s.authTime, now) {
		s.authTime = now
	}
	return s.authTime, acr
}
