package oauthlogin

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// secretLifetime is how long a token-mode secret can be exchanged.
const secretLifetime = 5 * time.Minute

// refusedAppSchemes are schemes that name no native app: the web's own,
// which the allowlist of origins covers, and those a browser runs or reads
// locally.
var refusedAppSchemes = []string{"http", "https", "javascript", "data", "file", "vbscript", "blob", "about"}

// appSchemes checks Config.AppSchemes and returns them lower-cased: each
// must be RFC 3986 §3.1 scheme syntax, ALPHA *( ALPHA / DIGIT / "+" / "-"
// / "." ), and none of refusedAppSchemes.
func appSchemes(schemes []string) ([]string, error) {
	out := make([]string, 0, len(schemes))
	for _, s := range schemes {
		lower := strings.ToLower(s)
		if !schemeSyntax(lower) || slices.Contains(refusedAppSchemes, lower) {
			return nil, fmt.Errorf("%w: AppSchemes entry %q is not a native app's URL scheme (use a reverse-DNS name, RFC 8252 §7.1)", ErrConfig, s)
		}
		out = append(out, lower)
	}
	return out, nil
}

// schemeSyntax reports whether s is a lower-case RFC 3986 scheme.
func schemeSyntax(s string) bool {
	if s == "" || len(s) > 64 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// appRedirectTarget validates a success or failure URL of a token-mode
// (native app) login: what redirectTarget allows, plus a custom scheme
// listed in Config.AppSchemes ("myapp-callback://auth"), plus a loopback
// redirect to any port for desktop apps (RFC 8252 §7.3: http on 127.0.0.1
// or [::1], never the name localhost).
func (m *Manager) appRedirectTarget(raw string) (string, error) {
	if raw == "" {
		return "", fmt.Errorf("%w: a token-mode login needs success and failure URLs", ErrRedirectNotAllowed)
	}
	if len(raw) > maxRedirect {
		return "", fmt.Errorf("%w: URL longer than %d bytes", ErrRedirectNotAllowed, maxRedirect)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("%w: not a URL", ErrRedirectNotAllowed)
	}
	scheme := strings.ToLower(u.Scheme)
	switch {
	case u.User != nil:
		return "", fmt.Errorf("%w: %q has user info", ErrRedirectNotAllowed, raw)
	case slices.Contains(m.cfg.AppSchemes, scheme) && u.Opaque == "":
		return serialize(u)
	case scheme == "http" && u.Opaque == "" && (u.Hostname() == "127.0.0.1" || u.Hostname() == "::1"):
		return serialize(u)
	}
	return m.redirectTarget(raw)
}

// target validates a flow's redirect for its mode.
func (m *Manager) target(mode, raw string) (string, error) {
	if mode == modeToken {
		return m.appRedirectTarget(raw)
	}
	return m.redirectTarget(raw)
}

const modeToken = "token"

// startTokenSession ends a token-mode login: instead of a session, a
// pending record keyed by the hash of a one-time secret, which the app
// exchanges for a session at POST {prefix}session. It returns the success
// URL with userId and secret.
func (m *Manager) startTokenSession(r *http.Request, f *flow, id *Identity) (string, *Session, error) {
	now := m.now()
	secret := randomToken(32)
	pending := &Session{
		ID:          hashID(secret), // with a sealer, just a random id
		UserID:      id.UserID,
		IdentityID:  id.ID,
		Provider:    id.Provider,
		ProviderUID: id.ProviderUID,
		Pending:     true,
		Created:     now,
		LastSeen:    now,
		Expires:     now.Add(secretLifetime),
		IP:          clientIP(r),
		UserAgent:   truncate(r.UserAgent(), 256),
	}
	if m.sealer != nil {
		// Sessions live in the client: so does the pending one, sealed
		// into the secret; single use is checked on its hash.
		var err error
		if secret, err = m.sealer.SealSession(pending); err != nil {
			return "", nil, err
		}
	} else if err := m.sessions.SaveSession(r.Context(), pending); err != nil {
		return "", nil, err
	}
	return withQuery(f.Success, "userId", id.UserID, "secret", secret), pending, nil
}

// CreateSession serves POST {prefix}session, Appwrite's createSession: a
// native app exchanges the userId and one-time secret from a token-mode
// login (JSON or form) for a session. It answers 201 with the session JSON,
// whose "secret" is the session token to send as "Authorization: Bearer".
// A wrong, reused or expired secret is a 401 (invalid_secret) and consumes
// nothing else. No cookie is set: that would let any site that holds a
// secret of its own sign a browser in (login CSRF).
func (m *Manager) CreateSession(w http.ResponseWriter, r *http.Request) {
	var in struct {
		UserID string `json:"userId"`
		Secret string `json:"secret"`
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/json" {
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			m.writeError(w, r, http.StatusBadRequest, errors.New("oauthlogin: unreadable JSON body"))
			return
		}
	} else {
		if err := r.ParseForm(); err != nil {
			m.writeError(w, r, http.StatusBadRequest, errors.New("oauthlogin: unreadable form"))
			return
		}
		in.UserID, in.Secret = r.PostForm.Get("userId"), r.PostForm.Get("secret")
	}
	if in.UserID == "" || in.Secret == "" {
		m.writeError(w, r, http.StatusUnauthorized, ErrInvalidSecret)
		return
	}
	var pending *Session
	var err error
	if m.sealer != nil {
		pending, err = m.sealer.OpenSession(in.Secret)
	} else {
		pending, err = m.sessions.Session(r.Context(), hashID(in.Secret))
	}
	if errors.Is(err, ErrNotFound) || err == nil && (!pending.Pending || pending.UserID != in.UserID) {
		m.writeError(w, r, http.StatusUnauthorized, ErrInvalidSecret)
		return
	}
	if err != nil {
		m.writeError(w, r, http.StatusInternalServerError, err)
		return
	}
	if err := m.once.Consume(r.Context(), "secret:"+hashID(in.Secret), pending.Expires); err != nil {
		if errors.Is(err, ErrAlreadyUsed) {
			err = ErrInvalidSecret
		}
		m.writeError(w, r, statusFor(err), err)
		return
	}
	if err := m.sessions.DeleteSession(r.Context(), pending.ID); err != nil {
		m.writeError(w, r, http.StatusInternalServerError, err)
		return
	}
	s, token, err := m.newSessionFor(r, pending)
	if err != nil {
		m.writeError(w, r, http.StatusInternalServerError, err)
		return
	}
	m.emit(r, Event{Type: EventLogin, UserID: s.UserID, Provider: s.Provider, IdentityID: s.IdentityID, SessionID: s.ID})
	m.writeSessionToken(w, r, s, token, http.StatusCreated)
}

// newSessionFor makes a real session from a pending one, with the
// identity's current provider tokens.
func (m *Manager) newSessionFor(r *http.Request, pending *Session) (*Session, string, error) {
	rp, ok := m.lookup(pending.Provider)
	if !ok {
		return nil, "", fmt.Errorf("%w: %q", ErrUnknownProvider, pending.Provider)
	}
	id, err := m.identities.Identity(r.Context(), rp.issuer, pending.ProviderUID)
	if err != nil {
		return nil, "", err
	}
	tok, err := m.keys.open(id.ProviderTokens, "identity:"+id.ID)
	if err != nil {
		return nil, "", err
	}
	if tok != nil {
		tok.Expiry = id.ProviderAccessTokenExpiry
	}
	return m.saveNewSession(r, id, tok)
}
