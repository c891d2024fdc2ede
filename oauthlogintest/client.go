package oauthlogintest

import (
	"crypto/subtle"
	"mime"
	"net/http"
	"net/url"
)

// parsePostForm parses a form-urlencoded request body into r.PostForm.
func parsePostForm(r *http.Request) *oauthError {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return &oauthError{http.StatusBadRequest, "invalid_request", "body must be application/x-www-form-urlencoded"}
	}
	if err := r.ParseForm(); err != nil {
		return &oauthError{http.StatusBadRequest, "invalid_request", "malformed form body"}
	}
	return nil
}

// authenticateClient checks the client's credentials, sent either with
// client_secret_basic or client_secret_post, never both (RFC 6749 §2.3.1).
// With Basic, the id and secret are form-urlencoded before base64 encoding.
// r.PostForm must be parsed. A client registered for a JWT method
// (SetClientAuthMethod), or a request with a client assertion, is
// checked by authenticateAssertion instead.
func (s *Server) authenticateClient(r *http.Request) *oauthError {
	if s.jwtClientAuth() || r.PostForm.Has("client_assertion") || r.PostForm.Has("client_assertion_type") {
		return s.authenticateAssertion(r)
	}
	id, secret, basic := r.BasicAuth()
	switch {
	case basic:
		if r.PostForm.Has("client_secret") {
			return &oauthError{http.StatusBadRequest, "invalid_request", "more than one client authentication method"}
		}
		var errID, errSecret error
		id, errID = url.QueryUnescape(id)
		secret, errSecret = url.QueryUnescape(secret)
		if errID != nil || errSecret != nil {
			return &oauthError{http.StatusUnauthorized, "invalid_client", "malformed Basic credentials"}
		}
		if formID := r.PostForm.Get("client_id"); formID != "" && formID != id {
			return &oauthError{http.StatusUnauthorized, "invalid_client", "client_id does not match the Basic credentials"}
		}
	case r.Header.Get("Authorization") != "":
		return &oauthError{http.StatusUnauthorized, "invalid_client", "unsupported Authorization scheme"}
	default:
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	s.mu.Lock()
	want := s.secret
	s.mu.Unlock()
	idOK := subtle.ConstantTimeCompare([]byte(id), []byte(s.clientID))
	secretOK := subtle.ConstantTimeCompare([]byte(secret), []byte(want))
	if idOK&secretOK != 1 {
		return &oauthError{http.StatusUnauthorized, "invalid_client", "unknown client or wrong secret"}
	}
	return nil
}
