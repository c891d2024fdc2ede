package oauthlogintest

import (
	"net/http"
	"net/url"
	"time"
)

// pushedLifetime is how long a pushed authorization request's request_uri
// can be used (RFC 9126 §2.2 suggests 5 to 600 seconds).
const pushedLifetime = time.Minute

// requestURIPrefix starts every request_uri (RFC 9126 §2.2).
const requestURIPrefix = "urn:ietf:params:oauth:request_uri:"

// pushedRequest is a pushed authorization request waiting for its
// authorization request.
type pushedRequest struct {
	clientID string
	query    url.Values
	expires  time.Time
}

// servePAR is the pushed authorization request endpoint (RFC 9126 §2).
// The client authenticates as at the token endpoint; the request is kept
// for a minute under a random request_uri, bound to the client, and spent
// by its first use at the authorization endpoint.
func (s *Server) servePAR(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if e := parsePostForm(r); e != nil {
		e.write(w)
		return
	}
	if e := s.authenticateClient(r); e != nil {
		e.write(w)
		return
	}
	form := r.PostForm
	switch _, ok := parseRedirectURI(form.Get("redirect_uri")); {
	case form.Has("request_uri"):
		// §2.1: a pushed request must not itself refer to one.
		writeError(w, http.StatusBadRequest, "invalid_request", "request_uri is not allowed in a pushed request")
		return
	case !ok:
		writeError(w, http.StatusBadRequest, "invalid_request", "redirect_uri must be an absolute URL without a fragment")
		return
	}
	q := url.Values{}
	for k, vs := range form {
		switch k {
		case "client_secret", "client_assertion", "client_assertion_type":
		default:
			q[k] = vs
		}
	}
	q.Set("client_id", s.clientID)
	now := time.Now()
	uri := requestURIPrefix + randomString()
	s.mu.Lock()
	for k, p := range s.pushed {
		if !now.Before(p.expires) {
			delete(s.pushed, k)
		}
	}
	s.pushed[uri] = &pushedRequest{clientID: s.clientID, query: q, expires: now.Add(pushedLifetime)}
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, map[string]any{"request_uri": uri, "expires_in": int64(pushedLifetime / time.Second)})
}

// takePushed resolves an authorization request that names a pushed one
// by its request_uri (RFC 9126 §4): the pushed parameters replace the
// query's, once, for the client that pushed them, before they expire. ok
// is false for an unknown, used, expired or another client's request_uri.
func (s *Server) takePushed(q url.Values) (url.Values, bool) {
	uri := q.Get("request_uri")
	s.mu.Lock()
	p := s.pushed[uri]
	delete(s.pushed, uri)
	s.mu.Unlock()
	if p == nil || !time.Now().Before(p.expires) || p.clientID != q.Get("client_id") {
		return nil, false
	}
	return p.query, true
}
