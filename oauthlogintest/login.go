package oauthlogintest

import (
	"net/http"
	"net/url"
	"strings"
	"time"
)

// loginLifetime is how long a login request waits for Approve or Deny.
const loginLifetime = 10 * time.Minute

// LoginRequest is an authorization request waiting for the user, in the
// interactive mode that [Server.SetLoginPage] turns on. The server has
// checked it (client id, redirect URI syntax, response type, PKCE
// parameters) before a login page sees it; the redirect URI is not
// checked against a registration, which a login page may do.
type LoginRequest struct {
	// ID names the request for [Server.Approve] and [Server.Deny]: 32
	// random bytes, base64url. It is spent by the first of them.
	ID string
	// ClientID and RedirectURI are the client's, as it sent them.
	ClientID    string
	RedirectURI string
	// Scopes are the requested scopes, in the order the client sent them.
	Scopes []string
	// Expires is when the request is forgotten if nobody answers it.
	Expires time.Time
}

// pendingLogin is a held authorization request.
type pendingLogin struct {
	query     url.Values // the authorization request's parameters
	back      *url.URL   // its parsed redirect_uri
	challenge string
	expires   time.Time
}

// request describes p as the LoginRequest id.
func (p *pendingLogin) request(id string) LoginRequest {
	return LoginRequest{
		ID:          id,
		ClientID:    p.query.Get("client_id"),
		RedirectURI: p.query.Get("redirect_uri"),
		Scopes:      strings.Fields(p.query.Get("scope")),
		Expires:     p.expires,
	}
}

// SetLoginPage makes the server interactive: the authorization endpoint
// checks each request as before but, instead of approving the current user
// at once, keeps it for ten minutes under a random ID and calls page to
// answer the browser. page typically shows a form; the handler that
// receives the form finishes the request with [Server.Approve] or
// [Server.Deny]. Mount such handlers with [Server.Handle], so that the
// login page is served from the provider's own origin. The response that
// page writes already carries Cache-Control: no-store.
//
// Requests the server refuses, and errors scripted with
// Behavior.AuthorizeError, never reach page. SetLoginPage(nil) makes the
// server approve at once again; requests already held stay answerable.
func (s *Server) SetLoginPage(page func(w http.ResponseWriter, r *http.Request, req LoginRequest)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loginPage = page
}

// Approve finishes the held login request id for user u: it issues an
// authorization code for u and redirects w back to the client with code,
// state and iss (as the current Behavior allows). The redirect is a 303
// when r is a POST, so the browser follows it with GET (RFC 9700 §4.12),
// and a 302 otherwise. An unknown, expired or already answered id gets
// 400 and no redirect.
func (s *Server) Approve(w http.ResponseWriter, r *http.Request, id string, u User) {
	p, ok := s.takeLogin(id)
	if !ok {
		unknownLogin(w)
		return
	}
	s.redirectBack(w, r, p.query, p.back, url.Values{"code": {s.approve(p.query, p.challenge, u, true)}})
}

// Deny finishes the held login request id as refused by the user: it
// redirects w back to the client with error=access_denied, state and iss,
// with the same status codes as [Server.Approve]. An unknown, expired or
// already answered id gets 400 and no redirect.
func (s *Server) Deny(w http.ResponseWriter, r *http.Request, id string) {
	p, ok := s.takeLogin(id)
	if !ok {
		unknownLogin(w)
		return
	}
	s.redirectBack(w, r, p.query, p.back, url.Values{
		"error":             {"access_denied"},
		"error_description": {"the user denied the request"},
	})
}

// PendingLogin returns the held login request id, if it is still waiting:
// for a login page that shows the request again, say after a form error.
func (s *Server) PendingLogin(id string) (LoginRequest, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.logins[id]
	if !ok || !time.Now().Before(p.expires) {
		return LoginRequest{}, false
	}
	return p.request(id), true
}

// Handle registers h for pattern (an http.ServeMux pattern) on the
// server, beside its endpoints: for a login page's own routes, such as
// the handler its form posts to. Like http.ServeMux.Handle, it panics if
// pattern is invalid or conflicts with a registered one. Requests to h are
// not counted by [Server.Hits].
func (s *Server) Handle(pattern string, h http.Handler) {
	s.mux.Handle(pattern, h)
}

// holdLogin keeps an authorization request for the login page and
// returns it with its new ID. Expired requests are dropped on the way.
func (s *Server) holdLogin(q url.Values, back *url.URL, challenge string) LoginRequest {
	now := time.Now()
	id := randomString()
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, p := range s.logins {
		if !now.Before(p.expires) {
			delete(s.logins, k)
		}
	}
	p := &pendingLogin{query: q, back: back, challenge: challenge, expires: now.Add(s.loginTTL)}
	s.logins[id] = p
	return p.request(id)
}

// takeLogin removes the login request id and returns it if it had not
// expired.
func (s *Server) takeLogin(id string) (*pendingLogin, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.logins[id]
	if !ok {
		return nil, false
	}
	delete(s.logins, id)
	return p, time.Now().Before(p.expires)
}

// currentLoginPage returns the login page in force, nil for none.
func (s *Server) currentLoginPage() func(http.ResponseWriter, *http.Request, LoginRequest) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loginPage
}

// unknownLogin answers an Approve or Deny whose request is gone.
func unknownLogin(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, "oauthlogintest: unknown, expired or already answered login request", http.StatusBadRequest)
}
