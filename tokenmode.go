package oauthlogin

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// secretLifetime is how long a token-mode secret can be exchanged.
const secretLifetime = 5 * time.Minute

const modeToken = "token"

// appChallenge checks the code_challenge a native app may send at a
// token-mode begin (RFC 8252 §8.1, RFC 7636 §4.2 applied between the app
// and this server): S256 only (plain would put the verifier in the URL),
// exactly 43 base64url characters (a SHA-256). It returns "" when none was
// sent, which Config.NativeApps.RequireChallenge refuses, as it refuses a challenge
// outside token mode.
func (m *Manager) appChallenge(mode string, q url.Values) (string, error) {
	if mode != modeToken {
		// A browser login has no app to prove itself: ignored, as are
		// state and nonce in a begin request (ours are random).
		return "", nil
	}
	c, method := q.Get("code_challenge"), q.Get("code_challenge_method")
	switch {
	case len(q["code_challenge"]) > 1 || len(q["code_challenge_method"]) > 1:
		return "", fmt.Errorf("%w: repeated", errInvalidChallenge)
	case c == "" && method == "":
		if m.cfg.NativeApps.RequireChallenge {
			return "", fmt.Errorf("%w: token mode requires code_challenge with code_challenge_method=S256", errInvalidChallenge)
		}
		return "", nil
	case method != "S256":
		// RFC 7636 §4.3: an absent method means plain, refused too.
		return "", fmt.Errorf("%w: code_challenge_method must be S256", errInvalidChallenge)
	case !sha256Text(c):
		return "", fmt.Errorf("%w: not a base64url SHA-256", errInvalidChallenge)
	}
	return c, nil
}

// sha256Text reports whether s is a SHA-256 in unpadded base64url, in its
// one canonical spelling.
func sha256Text(s string) bool {
	if len(s) != 43 || !base64URLText(s) {
		return false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	return err == nil && len(b) == sha256.Size
}

// base64URLText reports whether s holds only base64url's 64 characters:
// no padding, no whitespace (which Go's base64 decoders skip).
func base64URLText(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// verifierSyntax reports whether v is an RFC 7636 §4.1 code_verifier:
// 43 to 128 characters of [A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~".
func verifierSyntax(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}

// A token-mode secret is bound to the app's challenge through its pending
// record's key, so that Session needs no field for it: the binding is
// nonce "." tag, where tag = SHA-256("oauthlogin app challenge", nonce,
// challenge) in base64url, or the nonce alone without a challenge. With a
// server-side store the binding is the secret, and the pending record's id
// "p." and its hash; with a SessionSealer the pending record's id is "p."
// and the binding, sealed with it into the secret. Either way neither can
// be changed, and only a verifier whose S256 challenge gives the tag
// redeems it. The "p." namespace keeps pending records apart from
// sessions (see pendingPrefix).
func challengeTag(nonce, challenge string) string {
	sum := sha256.Sum256([]byte("oauthlogin app challenge\x00" + nonce + "\x00" + challenge))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// binding returns the nonce, the binding of a new pending record to
// challenge ("" for none).
func binding(challenge string) string {
	nonce := randomToken(32)
	if challenge == "" {
		return nonce
	}
	return nonce + "." + challengeTag(nonce, challenge)
}

// canonicalBinding reports whether b is a binding as binding makes them,
// spelled the one way it does: 43 base64url characters (32 bytes, unused
// bits zero), then optionally "." and 43 more.
func canonicalBinding(b string) bool {
	nonce, tag, bound := strings.Cut(b, ".")
	return sha256Text(nonce) && (!bound || sha256Text(tag))
}

// checkBinding checks verifier against a pending record's binding: a
// bound record needs the verifier of its challenge; an unbound one takes
// none, since a verifier there means a challenge was stripped on the way
// (a PKCE downgrade, RFC 9700 §4.8.2). The comparison is constant-time.
func checkBinding(b, verifier string) bool {
	nonce, tag, bound := strings.Cut(b, ".")
	if !bound {
		return verifier == ""
	}
	if !verifierSyntax(verifier) {
		return false
	}
	got := challengeTag(nonce, oauth2.S256ChallengeFromVerifier(verifier))
	return subtle.ConstantTimeCompare([]byte(got), []byte(tag)) == 1
}

// maxSealedSecret bounds a SessionSealer's secret (a sealed pending
// session, a few hundred bytes).
const maxSealedSecret = 4 << 10

// canonicalSealed reports whether a SessionSealer's secret is spelled in
// base64url with at most two "=" of padding at its end: no whitespace or
// other byte a decoder might skip, so that one pending session has one
// spelling. (Single use does not rest on it: the mark is on the sealed
// session's own id.)
func canonicalSealed(s string) bool {
	if s == "" || len(s) > maxSealedSecret {
		return false
	}
	body := strings.TrimRight(s, "=")
	return len(s)-len(body) <= 2 && base64URLText(body)
}

// startTokenSession ends a token-mode login: instead of a session, a
// pending record named by a one-time secret (sessionCodec.savePending),
// which the app
// exchanges for a session at POST {prefix}session. It returns the success
// URL with userId and secret.
func (m *Manager) startTokenSession(r *http.Request, f *flow, id *Identity, p *Profile) (string, *Session, error) {
	now := m.now()
	bind := binding(f.Challenge)
	pending := &Session{
		UserID:      id.UserID,
		IdentityID:  id.ID,
		Provider:    id.Provider,
		ProviderUID: id.ProviderUID,
		Created:     now,
		LastSeen:    now,
		Expires:     now.Add(secretLifetime),
		IP:          clientIP(r),
		UserAgent:   truncate(r.UserAgent(), 256),
	}
	pending.setLoginFacts(p)
	secret, err := m.codec.savePending(r.Context(), pending, bind)
	if err != nil {
		return "", nil, err
	}
	return withQuery(f.Success, "userId", id.UserID, "secret", secret), pending, nil
}

// exchangeSecret serves POST {prefix}session, Appwrite's createSession: a
// native app exchanges the userId and one-time secret from a token-mode
// login (JSON or form) for a session, with the code_verifier of the
// code_challenge it sent at begin, if it sent one. It answers 201 with the
// session JSON, whose "secret" is the session token to send as
// "Authorization: Bearer".
//
// A wrong, reused, expired or non-canonically spelled secret is a 401
// (invalid_secret) and consumes nothing else. A secret is used once: the
// mark is on its pending record's id, whatever spelling opened it. A
// wrong or missing verifier for a bound secret (or a verifier for an
// unbound one) is a 401 too, and burns the secret: only the app that began
// the login knows its verifier, so such an attempt comes from whoever
// intercepted the redirect, and that login must not complete for anyone.
// The app begins a new one. With Config.NativeApps.RequireChallenge a secret
// without a challenge (from a login begun before it was set) is refused
// the same way. No cookie is set: that would let any site that
// holds a secret of its own sign a browser in (login CSRF).
func (m *Manager) exchangeSecret(w http.ResponseWriter, r *http.Request) {
	var in struct {
		UserID   string `json:"userId"`
		Secret   string `json:"secret"`
		Verifier string `json:"code_verifier"`
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/json" {
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			m.writeError(w, r, fmt.Errorf("%w: unreadable JSON body", errBadRequest))
			return
		}
	} else {
		if err := r.ParseForm(); err != nil {
			m.writeError(w, r, fmt.Errorf("%w: unreadable form", errBadRequest))
			return
		}
		in.UserID, in.Secret, in.Verifier = r.PostForm.Get("userId"), r.PostForm.Get("secret"), r.PostForm.Get("code_verifier")
	}
	if in.UserID == "" || in.Secret == "" {
		m.writeError(w, r, errInvalidSecret)
		return
	}
	pending, bind, err := m.codec.loadPending(r.Context(), in.Secret)
	if errors.Is(err, ErrNotFound) || err == nil && (pending.UserID != in.UserID || !canonicalBinding(bind) || !m.now().Before(pending.Expires)) {
		m.writeError(w, r, errInvalidSecret)
		return
	}
	if err != nil {
		m.writeError(w, r, err)
		return
	}
	// The mark outlives the secret by a lifetime more, for the clock skew
	// between the instances and the store.
	if err := m.store.Consume(r.Context(), "secret:"+pending.ID, pending.Expires.Add(secretLifetime)); err != nil {
		if errors.Is(err, ErrAlreadyUsed) {
			err = errInvalidSecret
		}
		m.writeError(w, r, err)
		return
	}
	if !checkBinding(bind, in.Verifier) || m.cfg.NativeApps.RequireChallenge && !strings.Contains(bind, ".") {
		// Burnt: consumed above, and deleted.
		if err := m.codec.end(r.Context(), pending.ID); err != nil {
			m.writeError(w, r, err)
			return
		}
		m.log.WarnContext(r.Context(), "oauthlogin: token-mode secret redeemed without its code_verifier; the secret is burnt", "provider", pending.Provider)
		m.writeError(w, r, errInvalidSecret)
		return
	}
	s, token, err := m.newSessionFor(r, pending)
	if err == nil {
		err = m.codec.settle(r.Context(), pending.ID, s.ID)
	}
	if err != nil {
		m.writeError(w, r, err)
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
	id, err := m.sameIdentity(r.Context(), rp.issuer, pending.ProviderUID, pending.IdentityID, pending.UserID)
	var s *Session
	var token string
	if err == nil {
		var tok *oauth2.Token
		if tok, err = m.openTokens(r.Context(), id.ProviderTokens, "identity:"+id.ID); err != nil {
			return nil, "", err
		}
		if tok != nil {
			tok.Expiry = id.ProviderAccessTokenExpiry
		}
		s, token, err = m.saveNewSession(r, id, tok, &Profile{SID: pending.ProviderSID, AuthTime: pending.AuthTime, ACR: pending.ACR})
	}
	if errors.Is(err, ErrNotFound) {
		// Unlinked since the login, or during the exchange (a
		// client-held pending record outlives the unlink's sweep): the
		// secret signs in no one.
		err = fmt.Errorf("%w: the identity was unlinked", errInvalidSecret)
	}
	return s, token, err
}
