package oauthlogintest

import (
	"net/http"
	"strings"
	"time"
)

// serveUserInfo is the userinfo endpoint (OpenID Connect Core §5.3). It
// needs a valid, unexpired access token as a Bearer credential in the
// Authorization header (RFC 6750 §2.1), refuses one sent in the query or
// form body with 400, and returns the claims of the user the token was
// issued for. A DPoP-bound token must come as "Authorization: DPoP" with
// a proof by its key instead (RFC 9449 §7, dpop.go).
func (s *Server) serveUserInfo(w http.ResponseWriter, r *http.Request) {
	b := s.currentBehavior()
	w.Header().Set("Cache-Control", "no-store")
	if b.UserInfoStatus != 0 {
		if b.UserInfoStatus == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer realm="oauthlogintest", error="invalid_token"`)
			writeError(w, b.UserInfoStatus, "invalid_token", "scripted by oauthlogintest.Behavior.UserInfoStatus")
			return
		}
		writeError(w, b.UserInfoStatus, errorCodeFor(b.UserInfoStatus), "scripted by oauthlogintest.Behavior.UserInfoStatus")
		return
	}
	if r.URL.Query().Has("access_token") || r.Header.Get("Content-Type") == "application/x-www-form-urlencoded" && r.PostFormValue("access_token") != "" {
		// RFC 6750 §2: one way per request, and this server takes only the
		// header (§2.3's query form leaks tokens to logs and Referer).
		writeError(w, http.StatusBadRequest, "invalid_request", "access token in the query or body; send it in the Authorization header only")
		return
	}
	token, ok := bearerToken(r)
	var jkt string // the proof's key, for a DPoP-bound token (dpop.go)
	if !ok {
		var de *dpopError
		if token, jkt, de = s.dpopToken(w, r, b); de != nil {
			de.writeResource(w)
			return
		}
		ok = token != ""
	}
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="oauthlogintest"`)
		writeError(w, http.StatusUnauthorized, "invalid_request", "missing Bearer access token")
		return
	}
	s.mu.Lock()
	t := s.access[token]
	valid := t != nil && time.Now().Before(t.expires) && t.jkt == jkt
	var user User
	if valid {
		user = t.grant.user
	}
	s.mu.Unlock()
	if !valid {
		w.Header().Set("WWW-Authenticate", `Bearer realm="oauthlogintest", error="invalid_token"`)
		writeError(w, http.StatusUnauthorized, "invalid_token", "unknown, revoked or expired access token")
		return
	}
	claims := user.claims()
	if b.UserInfoSubject != "" {
		claims["sub"] = b.UserInfoSubject
	}
	writeJSON(w, http.StatusOK, claims)
}

// bearerToken returns the token of an "Authorization: Bearer" header; the
// scheme is case-insensitive.
func bearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}
