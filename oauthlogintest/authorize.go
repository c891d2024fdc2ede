package oauthlogintest

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"time"
)

// codeLifetime is how long an authorization code can be redeemed.
const codeLifetime = time.Minute

// serveAuthorize is the authorization endpoint (RFC 6749 §4.1.1). It
// approves the current user without asking and redirects back with a
// code, or with the error the request or the Behavior calls for. With a
// login page set (SetLoginPage) it holds a valid request for the page
// instead of approving it. A request that names a pushed one by
// request_uri (RFC 9126 §4) is the pushed one; with Behavior.RequirePAR,
// any other is refused. prompt=none is never shown the login page: it is
// approved at once or answered with an error (promptNoneError).
func (s *Server) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	b := s.currentBehavior()
	if q.Has("request_uri") {
		pushed, ok := s.takePushed(q)
		if !ok {
			http.Error(w, "oauthlogintest: unknown, used, expired or another client's request_uri", http.StatusBadRequest)
			return
		}
		q = pushed
	} else if b.RequirePAR {
		http.Error(w, "oauthlogintest: this server requires pushed authorization requests (Behavior.RequirePAR)", http.StatusBadRequest)
		return
	}
	back, ok := parseRedirectURI(q.Get("redirect_uri"))
	if !ok {
		http.Error(w, "oauthlogintest: redirect_uri must be an absolute URL without a fragment", http.StatusBadRequest)
		return
	}
	if q.Get("client_id") != s.clientID {
		http.Error(w, "oauthlogintest: unknown client_id", http.StatusBadRequest)
		return
	}
	fail := func(code, description string) {
		s.redirectBack(w, r, q, back, url.Values{"error": {code}, "error_description": {description}})
	}

	challenge, method := q.Get("code_challenge"), q.Get("code_challenge_method")
	noneErr := s.promptNoneError(q, b)
	switch {
	case q.Get("response_type") != "code":
		fail("unsupported_response_type", "only response_type=code is supported")
	case challenge == "" && method != "":
		fail("invalid_request", "code_challenge_method without code_challenge")
	case challenge != "" && method != "S256":
		fail("invalid_request", "code_challenge_method must be S256")
	case challenge != "" && !validS256Challenge(challenge):
		fail("invalid_request", "code_challenge is not a base64url SHA-256")
	case b.AuthorizeError != "":
		fail(b.AuthorizeError, "scripted by oauthlogintest.Behavior.AuthorizeError")
	case noneErr != "":
		fail(noneErr, "prompt=none, and the user cannot be signed in without interaction")
	default:
		if page := s.currentLoginPage(); page != nil && !hasPrompt(q, "none") {
			req := s.holdLogin(q, back, challenge)
			w.Header().Set("Cache-Control", "no-store")
			page(w, r, req)
			return
		}
		s.mu.Lock()
		u := s.user
		s.mu.Unlock()
		s.redirectBack(w, r, q, back, url.Values{"code": {s.approve(q, challenge, u, false)}})
	}
}

// redirectBack answers the authorization request q by redirecting to its
// redirect URI back with params added, and with state and iss as the
// current Behavior allows. A POST (a login form) is answered with 303, so
// the browser follows with GET; anything else with 302.
func (s *Server) redirectBack(w http.ResponseWriter, r *http.Request, q url.Values, back *url.URL, params url.Values) {
	b := s.currentBehavior()
	if state := q.Get("state"); state != "" && !b.OmitState {
		params.Set("state", state)
	}
	if !b.OmitAuthorizeIssuer {
		iss := s.issuer
		if b.AuthorizeIssuer != "" {
			iss = b.AuthorizeIssuer
		}
		params.Set("iss", iss)
	}
	to := *back
	merged := to.Query()
	for k, vs := range params {
		merged[k] = vs
	}
	to.RawQuery = merged.Encode()
	w.Header().Set("Location", to.String())
	w.Header().Set("Cache-Control", "no-store")
	status := http.StatusFound
	if r.Method == http.MethodPost {
		status = http.StatusSeeOther
	}
	w.WriteHeader(status)
}

// approve records a grant for user u and returns its code. fresh means
// the user has just authenticated (a login page approved the request).
func (s *Server) approve(q url.Values, challenge string, u User, fresh bool) string {
	now := time.Now()
	code := randomString()
	b := s.currentBehavior()
	s.mu.Lock()
	defer s.mu.Unlock()
	authTime, acr := s.authenticateLocked(q, u, b, now, fresh)
	s.codes[code] = &grant{
		clientID:    q.Get("client_id"),
		redirectURI: q.Get("redirect_uri"),
		challenge:   challenge,
		nonce:       q.Get("nonce"),
		scope:       q.Get("scope"),
		user:        u,
		authTime:    authTime,
		acr:         acr,
		sid:         s.startProviderSessionLocked(u.Subject),
		expires:     now.Add(codeLifetime),
	}
	return code
}

// parseRedirectURI accepts an absolute URL without a fragment (RFC 6749
// §3.1.2); http and https URLs also need a host. Custom schemes, as native
// apps use, are allowed.
func parseRedirectURI(raw string) (*url.URL, bool) {
	u, err := url.Parse(raw)
	if raw == "" || err != nil || !u.IsAbs() || u.Fragment != "" {
		return nil, false
	}
	if (u.Scheme == "http" || u.Scheme == "https") && u.Host == "" {
		return nil, false
	}
	return u, true
}

// validS256Challenge reports whether c can be an S256 code_challenge: the
// unpadded base64url encoding of 32 bytes.
func validS256Challenge(c string) bool {
	b, err := base64.RawURLEncoding.DecodeString(c)
	return err == nil && len(b) == 32
}
