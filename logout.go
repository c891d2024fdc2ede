package oauthlogin

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// Logout that reaches the provider: OpenID Connect RP-Initiated Logout
// 1.0 (the browser goes to the provider's end_session_endpoint and comes
// back to {prefix}logout/callback) and Back-Channel Logout 1.0 (the
// provider posts a logout token to {prefix}{provider}/backchannel-logout).

// withIDToken returns tok with raw as its id_token ("" for none), and its
// DPoP key if it has one.
func withIDToken(tok *oauth2.Token, raw string) *oauth2.Token {
	return withSealedExtras(tok, raw, tokenDPoPKey(tok))
}

// sessionTokens returns tok as a new session of rp keeps it: with the
// login's ID token only when rp has an end-session endpoint, the one use
// of it, so that other sessions (cookies, perhaps) do not carry its
// weight.
func (rp *registered) sessionTokens(tok *oauth2.Token) *oauth2.Token {
	if tok == nil || rp.endSessionEndpoint() != "" {
		return tok
	}
	if raw, _ := tok.Extra("id_token").(string); raw == "" {
		return tok
	}
	return withIDToken(tok, "")
}

// endSessionEndpoint is rp's end_session_endpoint, or "".
func (rp *registered) endSessionEndpoint() string {
	if lp, ok := rp.p.(LogoutProvider); ok {
		return lp.EndSessionEndpoint()
	}
	return ""
}

// logoutState is the sealed content of the logout-state cookie: what
// {prefix}logout/callback checks when the browser returns from the
// provider's logout.
type logoutState struct {
	State   string `json:"s"`
	Return  string `json:"r"`
	Expires int64  `json:"e"`
}

// logoutCookieName is the logout-state cookie: one per browser (a new
// logout replaces it), __Host- over HTTPS like the flow cookies.
func (m *Manager) logoutCookieName() string {
	if m.secure {
		return "__Host-oauthlogin_logout"
	}
	return "oauthlogin_logout"
}

// logoutCallbackURL is the post_logout_redirect_uri: one fixed URL to
// register at each provider, {BaseURL origin}{prefix}logout/callback.
func (m *Manager) logoutCallbackURL() string {
	return m.base.Scheme + "://" + m.base.Host + m.prefix + "logout/callback"
}

// signOut ends the request's session as DELETE {prefix}session always
// did: the session goes from the store, the cookie is cleared, the
// provider tokens are revoked with Config.Sessions.RevokeOnLogout, and an
// EventLogout is emitted. It returns the ended session (whose sealed
// tokens still hold its login's ID token, the provider logout's hint), or
// the request's error (then nothing ended, and the caller answers it).
func (m *Manager) signOut(w http.ResponseWriter, r *http.Request) (*Session, error) {
	s, err := m.requestSession(r)
	if err != nil {
		if !errors.Is(err, errDuplicateCookie) { // writeError ends those
			m.clearSessionCookie(w, r)
		}
		return nil, err
	}
	if err := m.codec.end(r.Context(), s.ID); err != nil {
		return nil, err
	}
	m.clearSessionCookie(w, r)
	if m.cfg.Sessions.RevokeOnLogout {
		m.revoke(r.Context(), s)
	}
	m.emit(r, Event{Type: EventLogout, UserID: s.UserID, Provider: s.Provider, IdentityID: s.IdentityID, SessionID: s.ID})
	return s, nil
}

// idTokenHint returns the ID token of session s's login, which it keeps
// sealed (see sessionAAD), or "" when there is none (a plain OAuth
// provider, a token-mode session, tokens sealed under a dropped key).
func (m *Manager) idTokenHint(ctx context.Context, s *Session) string {
	tok, err := m.openTokens(ctx, s.ProviderTokens, sessionAAD+s.ID)
	if err != nil || tok == nil {
		return ""
	}
	raw, _ := tok.Extra("id_token").(string)
	return raw
}

// endSessionURL returns the provider's end-session request for session
// s (RP-Initiated Logout 1.0 §2: id_token_hint, client_id,
// post_logout_redirect_uri, state) and sets the logout-state cookie that
// the callback checks; "" when the provider has no end_session_endpoint
// (then the logout was local only).
func (m *Manager) endSessionURL(ctx context.Context, w http.ResponseWriter, s *Session, ret string) (string, error) {
	rp, ok := m.lookup(s.Provider)
	if !ok {
		return "", nil
	}
	ep := rp.endSessionEndpoint()
	if ep == "" {
		return "", nil
	}
	ls := logoutState{State: randomToken(32), Return: ret, Expires: m.now().Add(m.flowTTL).Unix()}
	name := m.logoutCookieName()
	value, err := m.keys.encodeCookie(name, &ls)
	if err != nil {
		return "", err
	}
	http.SetCookie(w, &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     m.flowCookiePath,
		MaxAge:   max(1, int(m.flowTTL/time.Second)),
		Secure:   m.secure,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	})
	v := url.Values{"client_id": {rp.oauth.ClientID}, "post_logout_redirect_uri": {m.logoutCallbackURL()}, "state": {ls.State}}
	if idToken := m.idTokenHint(ctx, s); idToken != "" {
		v.Set("id_token_hint", idToken)
	}
	sep := "?"
	if strings.Contains(ep, "?") {
		sep = "&"
	}
	return ep + sep + v.Encode(), nil
}

// providerLogoutJSON is the answer of DELETE {prefix}session?provider=1.
type providerLogoutJSON struct {
	// ProviderLogout tells whether the provider's session ends too: then
	// the app sends the browser to Redirect. False means the logout was
	// local only (the provider has no end_session_endpoint).
	ProviderLogout bool   `json:"providerLogout"`
	Redirect       string `json:"redirect,omitempty"`
}

// logoutEverywhere serves DELETE {prefix}session?provider=1 (logout's
// option): the session ends as without it, then the answer says where to
// send the browser to end the provider's session too.
func (m *Manager) logoutEverywhere(w http.ResponseWriter, r *http.Request) {
	ret, err := m.redirectTarget(r.URL.Query().Get("return"))
	if err != nil {
		m.writeError(w, r, err)
		return
	}
	s, err := m.signOut(w, r)
	if err != nil {
		m.writeError(w, r, err)
		return
	}
	to, err := m.endSessionURL(r.Context(), w, s, ret)
	if err != nil {
		m.writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, providerLogoutJSON{ProviderLogout: to != "", Redirect: to})
}

// logoutLink serves GET {prefix}logout?return=…, logout as a plain link:
// the session ends, and the browser goes (303) to the provider's
// end-session endpoint, or, when the provider has none or the browser had
// no session, straight to return with logout=local. A request a browser
// marks as coming from another site (Sec-Fetch-Site cross-site or
// same-site; without Sec-Fetch-Site, a Referer of another origin) is
// refused with 403 cross_origin and ends nothing: a GET passes
// http.CrossOriginProtection, so the check is here.
func (m *Manager) logoutLink(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if site := r.Header.Get("Sec-Fetch-Site"); site == "cross-site" || site == "same-site" {
		m.writeError(w, r, fmt.Errorf("%w: a logout link followed from another site (Sec-Fetch-Site: %s)", errCrossOrigin, site))
		return
	} else if site == "" && r.Referer() != "" && !m.sameOriginReferer(r.Referer()) {
		// A browser without fetch metadata: its Referer, when sent, must
		// be BaseURL's origin.
		m.writeError(w, r, fmt.Errorf("%w: a logout link followed from another origin (Referer)", errCrossOrigin))
		return
	}
	ret, err := m.redirectTarget(r.URL.Query().Get("return"))
	if err != nil {
		m.writeError(w, r, err)
		return
	}
	s, err := m.signOut(w, r)
	switch {
	case errors.Is(err, ErrNoSession) && !errors.Is(err, errDuplicateCookie):
		seeOther(w, withQuery(ret, "logout", "local"))
		return
	case err != nil:
		m.writeError(w, r, err)
		return
	}
	to, err := m.endSessionURL(r.Context(), w, s, ret)
	if err != nil {
		m.writeError(w, r, err)
		return
	}
	if to == "" {
		to = withQuery(ret, "logout", "local")
	}
	seeOther(w, to)
}

// seeOther redirects with 303: the browser GETs to.
func seeOther(w http.ResponseWriter, to string) {
	w.Header().Set("Location", to)
	w.WriteHeader(http.StatusSeeOther)
}

// logoutCallback serves GET {prefix}logout/callback, where the provider
// sends the browser back after its logout (the post_logout_redirect_uri).
// The state must be the one sealed in this browser's logout-state cookie
// (compared in constant time) and is accepted once, across instances; the
// cookie is cleared either way. Then it redirects to the logout's return
// URL, checked again; a state that does not match redirects there with
// error=logout_state_mismatch. Without a readable cookie there is no URL
// to trust: 400 logout_state_mismatch.
func (m *Manager) logoutCallback(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	name := m.logoutCookieName()
	v, n := cookieValue(r, name)
	if n > 0 {
		m.clearCookie(w, name, m.flowCookiePath)
	}
	var ls logoutState
	if n != 1 || m.keys.decodeCookie(name, v, &ls) != nil || ls.State == "" {
		m.writeError(w, r, fmt.Errorf("%w: no readable logout-state cookie", errLogoutState))
		return
	}
	ret, err := m.redirectTarget(ls.Return)
	if err != nil {
		m.writeError(w, r, err)
		return
	}
	state := r.URL.Query().Get("state")
	if subtle.ConstantTimeCompare([]byte(state), []byte(ls.State)) != 1 || m.now().Unix() >= ls.Expires {
		seeOther(w, withQuery(ret, "error", errLogoutState.code))
		return
	}
	err = m.store.Consume(r.Context(), "logout:"+hashID(state), time.Unix(ls.Expires, 0))
	switch {
	case errors.Is(err, ErrAlreadyUsed):
		seeOther(w, withQuery(ret, "error", errLogoutState.code))
		return
	case err != nil:
		m.writeError(w, r, err)
		return
	}
	seeOther(w, ret)
}

// maxLogoutRequest bounds a back-channel logout request's body: a form
// with one logout token, which is at most 32 KiB like an ID token.
const maxLogoutRequest = 64 << 10

// maxLogoutJTI bounds a logout token's jti, which becomes a key of the
// store's single-use marks (an index entry, in a SQL store).
const maxLogoutJTI = 256

// logoutJTIMargin is how long past a logout token's exp (or its iat plus
// what the providers package accepts as recent, whichever is later) its
// jti stays marked used: longer than any clock skew the token's checks
// allow, so that no replay outlives the mark.
const logoutJTIMargin = 5 * time.Minute

// backChannelLogout serves POST {prefix}{provider}/backchannel-logout
// (OpenID Connect Back-Channel Logout 1.0 §2.5–§2.8): a server-to-server
// request, so without a cross-origin check, answered with Cache-Control:
// no-store, and 200 with an empty body or 400 {"error":
// "invalid_request", "error_description": code}. The logout token is
// verified by the provider (LogoutProvider.VerifyLogoutToken) and its jti
// accepted once across instances (Store.Consume). A token with a sid ends
// the sessions of that provider session (ProviderSessionDeleter); one
// with only a sub (or a sid the store cannot find sessions by) ends the
// sessions of that account's identity, as an unlink does. A store that
// keeps sessions in the client (SessionSealer) cannot end them: 400
// unsupported. It emits EventProviderLogout.
func (m *Manager) backChannelLogout(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	rp, ok := m.lookup(r.PathValue("provider"))
	if !ok {
		m.logoutRefused(w, r, ErrUnknownProvider)
		return
	}
	lp, ok := rp.p.(LogoutProvider)
	if !ok {
		m.logoutRefused(w, r, fmt.Errorf("%w: provider %s takes no part in logout", errors.ErrUnsupported, rp.name))
		return
	}
	if _, client := m.codec.(sealedSessions); client {
		m.logoutRefused(w, r, fmt.Errorf("%w: back-channel logout cannot end sessions that live in the client", errClientSessions))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxLogoutRequest)
	if err := r.ParseForm(); err != nil {
		m.logoutRefused(w, r, fmt.Errorf("%w: %w", ErrInvalidLogoutToken, err))
		return
	}
	raw := r.PostForm.Get("logout_token")
	if raw == "" {
		m.logoutRefused(w, r, fmt.Errorf("%w: no logout_token", ErrInvalidLogoutToken))
		return
	}
	lt, err := lp.VerifyLogoutToken(r.Context(), raw)
	if err != nil {
		m.logoutRefused(w, r, wrap(ErrInvalidLogoutToken, err))
		return
	}
	if lt.ID == "" || len(lt.ID) > maxLogoutJTI || len(lt.SID) > maxLoginFact || (lt.SID == "" && lt.Subject == "") {
		m.logoutRefused(w, r, fmt.Errorf("%w: no jti, a jti over %d bytes, or neither sid nor sub", ErrInvalidLogoutToken, maxLogoutJTI))
		return
	}
	if lt.SID != "" && lt.Subject == "" && m.sids == nil {
		m.logoutRefused(w, r, fmt.Errorf("%w: store %T cannot end sessions by the provider's sid", errors.ErrUnsupported, m.cfg.Store))
		return
	}
	until := lt.IssuedAt.Add(logoutJTIMargin)
	if lt.Expires.After(until) {
		until = lt.Expires
	}
	until = until.Add(logoutJTIMargin)
	if err := m.store.Consume(r.Context(), "bcl:"+rp.issuer+":"+lt.ID, until); err != nil {
		if errors.Is(err, ErrAlreadyUsed) {
			err = fmt.Errorf("%w: the jti was used before", ErrInvalidLogoutToken)
			m.logoutRefused(w, r, err)
			return
		}
		m.writeError(w, r, err)
		return
	}
	e := Event{Type: EventProviderLogout, Provider: rp.name}
	if e.UserID, e.IdentityID, err = m.endLoggedOutSoon(r.Context(), rp, lt); err != nil {
		m.writeError(w, r, err)
		return
	}
	m.emit(r, e)
	w.WriteHeader(http.StatusOK)
}

// sameOriginReferer reports whether a Referer names BaseURL's origin.
func (m *Manager) sameOriginReferer(ref string) bool {
	u, err := url.Parse(ref)
	return err == nil && origin(u) == m.baseOrigin
}

// logoutRetryWindow is how long a back-channel logout keeps trying to end
// its sessions while the store is unavailable.
const logoutRetryWindow = 5 * time.Second

// endLoggedOutSoon is endLoggedOut, tried again after short jittered
// pauses while the store is unavailable, for up to logoutRetryWindow: the
// token's jti is marked used already (§2.6: a logout token is accepted
// once), so the provider's retry of the same token would be refused, and
// the sessions it names must end in this request or not at all.
func (m *Manager) endLoggedOutSoon(ctx context.Context, rp *registered, lt *LogoutToken) (userID, identityID string, err error) {
	until := time.Now().Add(logoutRetryWindow)
	for {
		userID, identityID, err = m.endLoggedOut(ctx, rp, lt)
		if err == nil || !errors.Is(err, ErrStoreUnavailable) || time.Now().After(until) {
			return userID, identityID, err
		}
		t := time.NewTimer(50*time.Millisecond + rand.N(100*time.Millisecond))
		select {
		case <-ctx.Done():
			t.Stop()
			return userID, identityID, err
		case <-t.C:
		}
	}
}

// endLoggedOut ends the sessions a verified logout token names
// (Back-Channel Logout 1.0 §2.7): with a sub, those of that account's
// identity, only the provider session sid's when there is one (a provider
// may keep several accounts in one browser session); with a sid alone,
// every session of that provider session. It returns the identity's user
// and id, when there is one.
func (m *Manager) endLoggedOut(ctx context.Context, rp *registered, lt *LogoutToken) (userID, identityID string, err error) {
	if lt.Subject == "" {
		return "", "", m.sids.DeleteProviderSessions(ctx, rp.name, lt.SID)
	}
	id, err := m.store.Identity(ctx, rp.issuer, lt.Subject)
	if errors.Is(err, ErrNotFound) {
		return "", "", nil // no identity: no session to end
	}
	if err != nil {
		return "", "", err
	}
	_, err = m.endIdentitySessions(ctx, id.UserID, id.ID, lt.SID)
	return id.UserID, id.ID, err
}

// logoutRefused answers a back-channel logout with 400 (Back-Channel
// Logout 1.0 §2.8): {"error": "invalid_request", "error_description":
// err's code}. The details go to the debug log only.
func (m *Manager) logoutRefused(w http.ResponseWriter, r *http.Request, err error) {
	code := Code(err)
	m.log.DebugContext(r.Context(), "oauthlogin: back-channel logout refused", "path", r.URL.Path, "code", code, "err", logDetail(err))
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusBadRequest, struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}{"invalid_request", code})
}
