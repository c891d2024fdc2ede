package oauthlogintest

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// providerSession is the provider's own session of one browser login: what
// the sid claim names and the end-session endpoint ends.
type providerSession struct {
	subject string
	ended   bool
}

// startProviderSessionLocked opens a provider session for subject and
// returns its sid. s.mu must be held.
func (s *Server) startProviderSessionLocked(subject string) string {
	sid := randomString()
	s.providerSessions[sid] = &providerSession{subject: subject}
	return sid
}

// SetPostLogoutRedirectURIs registers the client's
// post_logout_redirect_uris (OpenID Connect RP-Initiated Logout 1.0
// §3.1): the end-session endpoint redirects only to one of them, compared
// exactly. None are registered at first.
func (s *Server) SetPostLogoutRedirectURIs(uris ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.postLogoutURIs = slices.Clone(uris)
}

// LoggedOut reports whether the end-session endpoint ended the provider
// session sid (the sid claim of the ID tokens of one browser login).
func (s *Server) LoggedOut(sid string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	ps := s.providerSessions[sid]
	return ps != nil && ps.ended
}

// SetBackChannelLogoutURI registers the client's backchannel_logout_uri
// (OpenID Connect Back-Channel Logout 1.0 §2.2). While one is set, every
// provider session that ends (at the end-session endpoint, or by
// EndProviderSession) is announced there with a logout token naming its
// sid and sub, before the ending returns. "" stops it.
func (s *Server) SetBackChannelLogoutURI(uri string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.backChannelURI = uri
}

// EndProviderSession ends provider session sid as a sign-out at the
// provider itself would (the user signing out of another app, an
// administrator ending the session), and, with a back-channel logout URI
// set, posts the logout token there. It returns an error when sid names
// no session, or when the relying party did not answer the logout token
// with 200.
func (s *Server) EndProviderSession(ctx context.Context, sid string) error {
	s.mu.Lock()
	ps := s.providerSessions[sid]
	if ps != nil {
		ps.ended = true
	}
	uri := s.backChannelURI
	s.mu.Unlock()
	if ps == nil {
		return fmt.Errorf("oauthlogintest: no provider session %q", sid)
	}
	if uri == "" {
		return nil
	}
	resp, err := s.SendBackChannelLogout(ctx, uri, s.LogoutToken(LogoutClaims{Subject: ps.subject, SID: sid}))
	if err != nil {
		return fmt.Errorf("oauthlogintest: back-channel logout: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("oauthlogintest: back-channel logout answered %s", resp.Status)
	}
	return nil
}

// serveLogout is the end-session endpoint (OpenID Connect RP-Initiated
// Logout 1.0 §2, GET or POST). It needs an id_token_hint that the token
// endpoint issued to the client; client_id, when sent, must be the
// client's, and post_logout_redirect_uri, when sent, one registered with
// SetPostLogoutRedirectURIs. It ends the provider session the hint names,
// then redirects to post_logout_redirect_uri with state, or answers 200
// without one. Refusals are 400 with a text body, and end nothing.
func (s *Server) serveLogout(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "oauthlogintest: malformed request", http.StatusBadRequest)
		return
	}
	q := r.Form
	back := q.Get("post_logout_redirect_uri")
	s.mu.Lock()
	sid, issued := s.issuedIDs[q.Get("id_token_hint")]
	registered := slices.Contains(s.postLogoutURIs, back)
	switch {
	case !issued:
		s.mu.Unlock()
		http.Error(w, "oauthlogintest: id_token_hint is not an ID token this provider issued to a browser login", http.StatusBadRequest)
		return
	case q.Has("client_id") && q.Get("client_id") != s.clientID:
		s.mu.Unlock()
		http.Error(w, "oauthlogintest: client_id is not the client the ID token was issued to", http.StatusBadRequest)
		return
	case back != "" && !registered:
		s.mu.Unlock()
		http.Error(w, "oauthlogintest: post_logout_redirect_uri is not registered", http.StatusBadRequest)
		return
	}
	s.mu.Unlock()
	// A relying party that fails the back-channel logout does not stop
	// this one: a real provider would retry later.
	_ = s.EndProviderSession(r.Context(), sid)
	w.Header().Set("Cache-Control", "no-store")
	if back == "" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "oauthlogintest: signed out")
		return
	}
	to, err := url.Parse(back)
	if err != nil {
		http.Error(w, "oauthlogintest: malformed post_logout_redirect_uri", http.StatusBadRequest)
		return
	}
	if state := q.Get("state"); state != "" {
		v := to.Query()
		v.Set("state", state)
		to.RawQuery = v.Encode()
	}
	w.Header().Set("Location", to.String())
	status := http.StatusFound
	if r.Method == http.MethodPost {
		status = http.StatusSeeOther
	}
	w.WriteHeader(status)
}

// LogoutClaims describes a back-channel logout token (OpenID Connect
// Back-Channel Logout 1.0 §2.4) for [Server.LogoutToken]. The zero value
// of every field but Subject and SID is the honest one: iss the issuer,
// aud the client id, iat now, exp two minutes later, a fresh jti, the
// back-channel-logout event, typ logout+jwt, signed with RS256 by the
// current key. The other fields make it misbehave, one thing each.
type LogoutClaims struct {
	// Subject (sub) and SID (sid) say whose session ended; set one or
	// both ("" leaves the claim out).
	Subject string
	SID     string

	// Issuer overrides iss; Audience overrides aud (a string or a
	// []string).
	Issuer   string
	Audience any
	// IssuedAt and Expires override iat and exp; OmitExpires leaves exp
	// out.
	IssuedAt    time.Time
	Expires     time.Time
	OmitExpires bool
	// JTI overrides the fresh jti; "-" leaves it out.
	JTI string
	// OmitEvents leaves the events claim out; Events, when not nil,
	// replaces its value.
	OmitEvents bool
	Events     any
	// Nonce adds a nonce claim, which §2.4 forbids.
	Nonce string
	// Typ overrides the header's typ; "-" leaves it out.
	Typ string
	// Claims are merged last; a nil value deletes a claim.
	Claims map[string]any
	// Signing bends the signature as Behavior does for ID tokens: its
	// TokenAlg, HMACKey, AlgNone, UnknownKID, OmitKID, BadSignature and
	// TokenHeader apply.
	Signing Behavior
}

// LogoutToken returns a signed back-channel logout token as c describes
// it, to send with [Server.SendBackChannelLogout]. Like NewServer it
// panics when it cannot sign (a key cannot be made).
func (s *Server) LogoutToken(c LogoutClaims) string {
	now := time.Now()
	claims := map[string]any{
		"iss":    s.issuer,
		"aud":    s.clientID,
		"iat":    now.Unix(),
		"exp":    now.Add(2 * time.Minute).Unix(),
		"jti":    randomString(),
		"events": map[string]any{"http://schemas.openid.net/event/backchannel-logout": map[string]any{}},
	}
	set := func(name, v string) {
		if v != "" {
			claims[name] = v
		}
	}
	set("sub", c.Subject)
	set("sid", c.SID)
	set("iss", c.Issuer)
	set("nonce", c.Nonce)
	set("jti", c.JTI)
	if c.JTI == "-" {
		delete(claims, "jti")
	}
	if c.Audience != nil {
		claims["aud"] = c.Audience
	}
	if !c.IssuedAt.IsZero() {
		claims["iat"] = c.IssuedAt.Unix()
	}
	if !c.Expires.IsZero() {
		claims["exp"] = c.Expires.Unix()
	}
	if c.OmitExpires {
		delete(claims, "exp")
	}
	if c.Events != nil {
		claims["events"] = c.Events
	}
	if c.OmitEvents {
		delete(claims, "events")
	}
	for k, v := range c.Claims {
		if v == nil {
			delete(claims, k)
		} else {
			claims[k] = v
		}
	}
	b := c.Signing
	header := map[string]any{"typ": "logout+jwt"}
	switch c.Typ {
	case "":
	case "-":
		header["typ"] = nil
	default:
		header["typ"] = c.Typ
	}
	maps.Copy(header, b.TokenHeader)
	b.TokenHeader = header
	tok, err := s.signJWT(claims, b)
	if err != nil {
		panic(err)
	}
	return tok
}

// SendBackChannelLogout posts a logout token to a relying party's
// back-channel logout URI as the provider does (Back-Channel Logout 1.0
// §2.5): a form with logout_token, redirects not followed. The caller
// closes the response's body.
func (s *Server) SendBackChannelLogout(ctx context.Context, uri, logoutToken string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, uri, strings.NewReader(url.Values{"logout_token": {logoutToken}}.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	client := &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return client.Do(req)
}
