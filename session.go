package oauthlogin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// Session is a signed-in browser or app. Its secret token lives only in the
// client (the session cookie); stores see ID, the token's SHA-256.
type Session struct {
	// ID is the base64url SHA-256 of the session token: safe to show, and
	// useless for signing in.
	ID     string
	UserID string
	// IdentityID is the identity this session signed in with.
	IdentityID string
	// Provider and ProviderUID name the provider account (Appwrite's
	// provider and providerUid).
	Provider    string
	ProviderUID string
	// ProviderAccessTokenExpiry is when the provider access token expires;
	// zero when the provider did not say.
	ProviderAccessTokenExpiry time.Time
	// ProviderTokens holds the provider access and refresh tokens sealed with
	// AES-GCM; open them with Manager.ProviderToken. Stores keep it as opaque
	// bytes.
	ProviderTokens []byte
	Created        time.Time
	// LastSeen is when the session was last used, to a minute or so; with
	// Config.Sessions.IdleTimeout, a session unused for that long has ended.
	LastSeen time.Time
	// Expires is when the session ends; stores treat it as gone after that.
	Expires   time.Time
	IP        string
	UserAgent string
}

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

// setSessionCookie sends the session token to the browser.
// A sealed session longer than chunkSize travels in numbered cookies
// (name.0, name.1, ...), so that no Set-Cookie header passes 4096 bytes.
const (
	chunkSize = 3800
	maxChunks = 8
)

func (m *Manager) setSessionCookie(w http.ResponseWriter, r *http.Request, token string, expires time.Time) {
	set := func(name, value string) {
		http.SetCookie(w, &http.Cookie{
			Name:     name,
			Value:    value,
			Path:     "/",
			Expires:  expires,
			MaxAge:   int(expires.Sub(m.now()) / time.Second),
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

// sessionJSON is the browser-facing form of a Session, named as Appwrite's
// session model. It never holds the refresh token.
type sessionJSON struct {
	ID                        string    `json:"id"`
	CreatedAt                 time.Time `json:"createdAt"`
	UserID                    string    `json:"userId"`
	Expire                    time.Time `json:"expire"`
	Provider                  string    `json:"provider"`
	ProviderUID               string    `json:"providerUid"`
	ProviderAccessToken       string    `json:"providerAccessToken,omitempty"`
	ProviderAccessTokenExpiry string    `json:"providerAccessTokenExpiry"`
	HasRefreshToken           bool      `json:"hasProviderRefreshToken"`
	// Secret is the session token, only in the answer that creates a
	// bearer session.
	Secret    string `json:"secret,omitempty"`
	IP        string `json:"ip"`
	UserAgent string `json:"userAgent"`
	Current   bool   `json:"current"`
}

// writeSession answers 200 with the session JSON.
func (m *Manager) writeSession(w http.ResponseWriter, r *http.Request, s *Session) {
	m.writeSessionToken(w, r, s, "", http.StatusOK)
}

// writeSessionToken answers with the session JSON and, when token is not
// empty, the session token as its secret.
func (m *Manager) writeSessionToken(w http.ResponseWriter, r *http.Request, s *Session, token string, status int) {
	tok, err := m.ProviderToken(s)
	if errors.Is(err, errUnseal) {
		// Sealed under a key since dropped (logged once, openTokens): the
		// session stands, without provider tokens (signing in again gets
		// new ones).
		tok, err = nil, nil
	}
	if err != nil {
		m.writeError(w, r, err)
		return
	}
	v := &sessionJSON{
		ID:                        s.ID,
		CreatedAt:                 s.Created.UTC().Truncate(time.Second),
		UserID:                    s.UserID,
		Expire:                    s.Expires.UTC().Truncate(time.Second),
		Provider:                  s.Provider,
		ProviderUID:               s.ProviderUID,
		ProviderAccessTokenExpiry: rfc3339(s.ProviderAccessTokenExpiry),
		HasRefreshToken:           tok != nil && tok.RefreshToken != "",
		IP:                        s.IP,
		UserAgent:                 s.UserAgent,
		Current:                   true,
		Secret:                    token,
	}
	if tok != nil && m.cfg.Sessions.ExposeProviderAccessToken {
		v.ProviderAccessToken = tok.AccessToken
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, v)
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// getSession serves GET {prefix}session: 200 with the current session as
// JSON, or 401 {"error":"no_session"}.
func (m *Manager) getSession(w http.ResponseWriter, r *http.Request) {
	s, err := m.requestSession(r)
	if err != nil {
		m.writeError(w, r, err)
		return
	}
	m.writeSession(w, r, s)
}

// logout serves DELETE {prefix}session: it deletes the current session from
// the store, clears the cookie and answers 204. With Config.Sessions.RevokeOnLogout it
// also revokes the provider tokens (RFC 7009) where the provider can.
// Cross-origin requests are refused (http.CrossOriginProtection).
func (m *Manager) logout(w http.ResponseWriter, r *http.Request) {
	if !m.sameOrigin(w, r) {
		return
	}
	s, err := m.requestSession(r)
	if err != nil {
		if !errors.Is(err, errDuplicateCookie) { // writeError ends those
			m.clearSessionCookie(w, r)
		}
		m.writeError(w, r, err)
		return
	}
	if err := m.codec.end(r.Context(), s.ID); err != nil {
		m.writeError(w, r, err)
		return
	}
	m.clearSessionCookie(w, r)
	if m.cfg.Sessions.RevokeOnLogout {
		m.revoke(r.Context(), s)
	}
	m.emit(r, Event{Type: EventLogout, UserID: s.UserID, Provider: s.Provider, IdentityID: s.IdentityID, SessionID: s.ID})
	w.WriteHeader(http.StatusNoContent)
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
		m.writeError(w, r, wrap(ErrCrossOrigin, err))
		return false
	}
	return true
}

// revoke asks the provider to revoke a session's tokens.
func (m *Manager) revoke(ctx context.Context, s *Session) {
	if tok, err := m.ProviderToken(s); err == nil && tok != nil {
		m.revokeToken(ctx, s.Provider, tok)
	}
}

// revokeToken revokes provider tokens (RFC 7009): the refresh token first
// (which ends its access tokens too, §2.1), then the access token, for
// providers that revoke only what they are given. Failures are logged,
// never shown: the local record is gone either way.
func (m *Manager) revokeToken(ctx context.Context, provider string, tok *oauth2.Token) {
	rp, ok := m.lookup(provider)
	if !ok {
		return
	}
	rv, ok := rp.p.(Revoker)
	if !ok {
		return
	}
	for _, t := range []struct{ token, hint string }{{tok.RefreshToken, "refresh_token"}, {tok.AccessToken, "access_token"}} {
		if t.token == "" {
			continue
		}
		if err := rv.Revoke(m.clientContext(ctx), t.token, t.hint); err != nil {
			if !errors.Is(err, errors.ErrUnsupported) {
				m.log.WarnContext(ctx, "oauthlogin: token revocation failed", "provider", provider, "hint", t.hint, "err", logDetail(err, t.token, rp.oauth.ClientSecret))
			}
			return
		}
	}
}
