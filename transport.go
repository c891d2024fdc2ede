package oauthlogin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

type sessionKey struct{}

// SessionFromContext returns the session that LoadSession or RequireSession
// put in ctx.
func SessionFromContext(ctx context.Context) (*Session, bool) {
	s, ok := ctx.Value(sessionKey{}).(*Session)
	return s, ok
}

// LoadSession is middleware that puts the request's session, if any, in the
// request context for SessionFromContext. Requests without a valid session go
// on without one; a store failure is answered with 500.
func (m *Manager) LoadSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := m.requestSession(r)
		if errors.Is(err, errDuplicateCookie) {
			m.endTossed(w, r)
		}
		switch {
		case err == nil:
			r = r.WithContext(context.WithValue(r.Context(), sessionKey{}, s))
		case !errors.Is(err, ErrNoSession):
			m.writeError(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// RequireSession is middleware that answers 401 with a JSON error to requests
// without a valid session, and otherwise serves next with the session in the
// context.
func (m *Manager) RequireSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := m.requestSession(r)
		if err != nil {
			m.writeError(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, s)))
	})
}

// answerSession returns the request's session, or answers the request's
// error (401 no_session without one) and returns nil: how the JSON routes
// that need a session begin.
func (m *Manager) answerSession(w http.ResponseWriter, r *http.Request) *Session {
	s, err := m.requestSession(r)
	if err != nil {
		m.writeError(w, r, err)
		return nil
	}
	return s
}

// requestSession returns the session of r: from the context when middleware
// already loaded it, otherwise from an "Authorization: Bearer" session
// token or else the session cookie, with one hash and one store lookup. No
// valid session is ErrNoSession.
func (m *Manager) requestSession(r *http.Request) (*Session, error) {
	if s, ok := SessionFromContext(r.Context()); ok {
		return s, nil
	}
	token, ok := bearer(r)
	if !ok {
		var dup bool
		if token, dup = m.cookieToken(r); dup {
			return nil, errDuplicateCookie
		}
	}
	if token == "" {
		return nil, ErrNoSession
	}
	s, err := m.codec.load(r.Context(), token)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrNoSession
	}
	if err != nil {
		return nil, err
	}
	now := m.now()
	if !now.Before(s.Expires) {
		return nil, ErrNoSession
	}
	if idle := m.cfg.Sessions.IdleTimeout; idle > 0 {
		if now.Sub(s.LastSeen) >= idle {
			if err := m.codec.end(r.Context(), s.ID); err != nil {
				return nil, err
			}
			return nil, ErrNoSession
		}
		// Record use at most every minute (or tenth of the timeout): one
		// small write now and then, not one per request.
		if now.Sub(s.LastSeen) >= min(time.Minute, idle/10) {
			if err := m.toucher.TouchSession(r.Context(), s.ID, now); err != nil && !errors.Is(err, ErrNotFound) {
				return nil, err
			}
			s.LastSeen = now
		}
	}
	return s, nil
}

// bearer returns the token of an "Authorization: Bearer" header. A request
// that has one is authenticated by it alone, never by a cookie.
func bearer(r *http.Request) (string, bool) {
	auth := r.Header.Get("Authorization")
	if len(auth) < 7 || !strings.EqualFold(auth[:7], "bearer ") {
		return "", false
	}
	return strings.TrimSpace(auth[7:]), true
}

// maxAge is a cookie's Max-Age for a session with d left: whole seconds,
// rounded up, so that a session in its last second never gets MaxAge 0,
// which net/http writes as no Max-Age at all (a cookie until the browser
// closes); an ended session's cookie is deleted (-1).
func maxAge(d time.Duration) int {
	if d <= 0 {
		return -1
	}
	return int((d + time.Second - 1) / time.Second)
}

func (m *Manager) setSessionCookie(w http.ResponseWriter, r *http.Request, token string, expires time.Time) {
	set := func(name, value string) {
		http.SetCookie(w, &http.Cookie{
			Name:  name,
			Value: value,
			Path:  "/",
			// Max-Age alone: every browser in use reads it (RFC 6265
			// §5.3 gives it precedence over Expires), and an Expires
			// date beside it adds 39 bytes to every session cookie.
			MaxAge:   maxAge(expires.Sub(m.now())),
			Secure:   m.secure,
			HttpOnly: true,
			SameSite: http.SameSiteLaxMode,
		})
	}
	chunks := 0
	if len(token) <= chunkSize {
		set(m.sessionCookie, token)
	} else {
		m.clearCookie(w, m.sessionCookie, "/")
		for ; len(token) > 0; chunks++ {
			n := min(chunkSize, len(token))
			set(m.sessionCookie+"."+strconv.Itoa(chunks), token[:n])
			token = token[n:]
		}
	}
	// Chunks of an earlier, longer token that this one does not replace
	// would be read with it (or, beside a single cookie, make it
	// ambiguous): end them.
	for i := chunks; i < maxChunks; i++ {
		name := m.sessionCookie + "." + strconv.Itoa(i)
		if _, n := cookieValue(r, name); n == 0 {
			break
		}
		m.clearCookie(w, name, "/")
	}
}

// cookieToken returns the session token from the request's cookies,
// putting a chunked one back together; "" when there is none. dup reports
// a session cookie name (or chunk name) that the request carries more than
// once, and then the token is "": cookie tossing (a sibling host's Domain
// cookie, or one with a narrower Path, over http where __Host- does not
// apply) adds a cookie of the same name, the browser sends both, and
// neither can be told to be ours, so neither is used, first or last.
func (m *Manager) cookieToken(r *http.Request) (token string, dup bool) {
	v, n := cookieValue(r, m.sessionCookie)
	switch {
	case n > 1:
		return "", true
	case n == 1:
		// A single cookie beside chunks is as ambiguous as two cookies of
		// one name (a tossed single cookie must not win over a chunked
		// session, nor tossed chunks over a single one): the Manager never
		// sends both, it ends the ones a new token does not use.
		if _, chunk := cookieValue(r, m.sessionCookie+".0"); chunk > 0 {
			return "", true
		}
		return v, false
	}
	var b strings.Builder
	for i := range maxChunks {
		v, n := cookieValue(r, m.sessionCookie+"."+strconv.Itoa(i))
		if n > 1 {
			return "", true
		}
		if n == 0 {
			break
		}
		b.WriteString(v)
	}
	return b.String(), false
}

// cookieValue finds a cookie by scanning the Cookie headers, without
// parsing every cookie into a struct as r.Cookie does (the authenticated
// path's hot spot). Quotes around the value are dropped. n is how many
// cookies of that name the request carries, counted up to 2; v is the
// first one's value.
func cookieValue(r *http.Request, name string) (v string, n int) {
	eachCookie(r, func(k, val string) bool {
		if k != name {
			return true
		}
		if n++; n == 1 {
			v = val
		}
		return n < 2
	})
	return v, n
}

// eachCookie calls f with the name and value (quotes dropped) of each
// cookie in the request's Cookie headers, in order, until f returns false.
// cookieValue, cookieValues and eachFlowCookie all read cookies through
// it, so that they agree on what the request carries.
func eachCookie(r *http.Request, f func(name, value string) bool) {
	for _, line := range r.Header["Cookie"] {
		for len(line) > 0 {
			var part string
			part, line, _ = strings.Cut(line, ";")
			name, v, ok := strings.Cut(strings.TrimSpace(part), "=")
			if !ok {
				continue // no cookie-pair (RFC 6265 §4.2.1)
			}
			if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			if !f(name, v) {
				return
			}
		}
	}
}

// cookieValues returns the value of every cookie named name, in the
// order the request sends them.
func cookieValues(r *http.Request, name string) []string {
	var vs []string
	eachCookie(r, func(k, v string) bool {
		if k == name {
			vs = append(vs, v)
		}
		return true
	})
	return vs
}

// errDuplicateCookie is requestSession's answer to a request that carries
// the session cookie (or one of its chunks) more than once: no session.
var errDuplicateCookie = fmt.Errorf("%w: the session cookie is sent more than once", ErrNoSession)

// clearSessionCookie ends the browser's session cookie, chunks included.
// When the request carries the session cookie ambiguously (a name twice,
// or a single cookie beside chunks), a tossed copy may have come with a
// narrower Path: then every name is also ended at every path that the
// request's path falls under (RFC 6265 §5.1.4), which reaches any cookie
// the browser sent with it. A cookie tossed with a Domain attribute cannot
// be ended from here: the Set-Cookie would have to name that domain, which
// the request does not tell.
func (m *Manager) clearSessionCookie(w http.ResponseWriter, r *http.Request) {
	_, dup := m.cookieToken(r)
	m.clearCookie(w, m.sessionCookie, "/")
	if dup {
		m.clearNarrower(w, r, m.sessionCookie)
	}
	for i := range maxChunks {
		name := m.sessionCookie + "." + strconv.Itoa(i)
		if _, n := cookieValue(r, name); n == 0 {
			continue
		}
		m.clearCookie(w, name, "/")
		if dup {
			m.clearNarrower(w, r, name)
		}
	}
}

// endTossed answers a request that carries the session cookie ambiguously
// (errDuplicateCookie): it ends the session that each copy names, since
// neither is used and a copy stolen earlier must not outlive the logout or
// the next login that the ambiguity blocks, and it expires every copy.
func (m *Manager) endTossed(w http.ResponseWriter, r *http.Request) {
	for _, v := range cookieValues(r, m.sessionCookie) {
		if err := m.codec.endToken(r.Context(), v); err != nil {
			m.log.WarnContext(r.Context(), "oauthlogin: could not end a session named by a duplicate cookie", "err", err)
		}
	}
	m.clearSessionCookie(w, r)
}

// maxClearedPaths bounds how many narrower paths clearNarrower ends a
// cookie at.
const maxClearedPaths = 32

// clearNarrower ends the cookie name at the paths under "/" that the
// request's path falls under, deepest first: the path itself, then each of
// its directories with and without the trailing slash. The path is taken
// as the browser sent it (escaped), which is what cookie paths match. A
// __Host- cookie has Path=/ only, so it has no narrower twin.
func (m *Manager) clearNarrower(w http.ResponseWriter, r *http.Request, name string) {
	if strings.HasPrefix(name, "__Host-") {
		return
	}
	p := r.URL.EscapedPath()
	if strings.ContainsFunc(p, func(c rune) bool { return c < 0x21 || c > 0x7e || c == ';' }) {
		return // not a Path attribute a browser would have stored
	}
	cleared := 0
	if p != "/" && !strings.HasSuffix(p, "/") {
		m.clearCookie(w, name, p)
		cleared++
	}
	for i := len(p) - 1; i > 0 && cleared < maxClearedPaths; i-- {
		if p[i] != '/' {
			continue
		}
		m.clearCookie(w, name, p[:i+1])
		if i+1 != len(p) || p[:i] != "" {
			m.clearCookie(w, name, p[:i])
		}
		cleared += 2
	}
}

func (m *Manager) clearCookie(w http.ResponseWriter, name, path string) {
	http.SetCookie(w, &http.Cookie{
		Name:     name,
		Value:    "",
		Path:     path,
		MaxAge:   -1,
		Secure:   m.secure,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	})
}

// sameOrigin refuses, with 403, a cross-origin browser request that would
// change state (http.CrossOriginProtection: Sec-Fetch-Site, then Origin).
// A bearer request needs no such check: no browser attaches its
// Authorization header to another site's request.
func (m *Manager) sameOrigin(w http.ResponseWriter, r *http.Request) bool {
	if _, ok := bearer(r); ok {
		return true
	}
	if err := m.cop.Check(r); err != nil {
		m.writeError(w, r, wrap(errCrossOrigin, err))
		return false
	}
	return true
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// setSessionCookie sends the session token to the browser.
// A sealed session longer than chunkSize travels in numbered cookies
// (name.0, name.1, ...), so that no Set-Cookie header passes 4096 bytes.
const (
	chunkSize = 3800
	maxChunks = 8
)

// writeError answers with {"error": code, "message": text} and the status
// of err's *Error (asError; 500 for an unexpected error), where text is the
// error's one fixed message (errors.go): never the error's own text,
// which may quote a provider's answer and what it echoed of the request.
// The details go to the log only, redacted (logDetail): unexpected errors
// as errors (shown as server_error), failures of the provider at info
// level, the other refusals at debug level.
func (m *Manager) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusInternalServerError
	if e := asError(err); e != nil {
		status = e.status
	}
	m.writeErrorStatus(w, r, status, err)
}

// writeErrorStatus is writeError with another status than err's own; an
// unexpected error answered with a status under 500 is a bad_request.
// ErrStoreUnavailable is always a 503 with Retry-After.
func (m *Manager) writeErrorStatus(w http.ResponseWriter, r *http.Request, status int, err error) {
	if errors.Is(err, errDuplicateCookie) {
		// Whatever the route, an ambiguous session cookie ends here.
		m.endTossed(w, r)
	}
	e := asError(err)
	level, event := slog.LevelDebug, "oauthlogin: request refused"
	switch {
	case errors.Is(err, ErrStoreUnavailable):
		status = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", "1")
		level, event = slog.LevelError, "oauthlogin: store unavailable"
	case e == nil && status < 500:
		e = errBadRequest
	case e == nil || e.status == http.StatusInternalServerError:
		level, event = slog.LevelError, "oauthlogin: request failed"
	case providerFailure(e):
		level = slog.LevelInfo
	}
	if e == nil {
		e = errServerError
	}
	msg := e.public
	if he := (*hostError)(nil); errors.As(err, &he) {
		msg = he.message() // names BaseURL's origin only
	}
	if m.log.Enabled(r.Context(), level) {
		m.log.Log(r.Context(), level, event, "path", r.URL.Path, "code", e.code, "err", logDetail(err, m.requestSecrets(r)...))
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}{e.code, msg})
}
