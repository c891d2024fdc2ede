package oauthlogintest

import "net/http"

// serveRevoke is the revocation endpoint (RFC 7009). The client
// authenticates as at the token endpoint. The token is recorded for
// Server.Revoked and stops working; revoking a refresh token also ends the
// access tokens of its grant (RFC 7009 §2.1). Unknown tokens get 200 too.
func (s *Server) serveRevoke(w http.ResponseWriter, r *http.Request) {
	if e := parsePostForm(r); e != nil {
		e.write(w)
		return
	}
	if e := s.authenticateClient(r); e != nil {
		e.write(w)
		return
	}
	token := r.PostForm.Get("token")
	if token == "" {
		writeError(w, http.StatusBadRequest, "invalid_request", "missing token")
		return
	}
	s.mu.Lock()
	s.revoked[token] = true
	delete(s.access, token)
	if t := s.refresh[token]; t != nil {
		s.forgetGrantLocked(t.grant)
	}
	s.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}
