package oauthlogintest

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// tokenResponse is a successful token endpoint answer (RFC 6749 §5.1).
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
}

// serveToken is the token endpoint (RFC 6749 §3.2) for the
// authorization_code and refresh_token grants.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	b := s.currentBehavior()
	// Read the body first: only then does net/http watch the connection
	// and cancel r.Context() when the client hangs up during the delay.
	formErr := parsePostForm(r)
	if b.TokenDelay > 0 && !wait(r.Context(), b.TokenDelay) {
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	switch {
	case b.TokenStatus != 0:
		(&oauthError{b.TokenStatus, errorCodeFor(b.TokenStatus), "scripted by oauthlogintest.Behavior.TokenStatus"}).write(w)
		return
	case b.TokenError != "":
		writeError(w, http.StatusBadRequest, b.TokenError, "scripted by oauthlogintest.Behavior.TokenError")
		return
	}
	if formErr != nil {
		formErr.write(w)
		return
	}
	if e := s.authenticateClient(r); e != nil {
		e.write(w)
		return
	}
	var jkt string
	if !b.IgnoreDPoP {
		var de *dpopError
		if jkt, de = s.checkDPoP(w, r, "", b); de == nil && r.PostForm.Get("grant_type") == "refresh_token" {
			de = s.checkRefreshBinding(r.PostForm.Get("refresh_token"), jkt)
		}
		if de != nil {
			de.writeToken(w)
			return
		}
	}

	now := time.Now()
	var (
		resp      *tokenResponse
		g         *grant
		e         *oauthError
		refreshed bool
	)
	switch gt := r.PostForm.Get("grant_type"); gt {
	case "authorization_code":
		resp, g, e = s.redeemCode(r.PostForm, b, now)
	case "refresh_token":
		resp, g, e = s.redeemRefreshToken(r.PostForm, b, now)
		refreshed = true
	case "urn:ietf:params:oauth:grant-type:device_code":
		resp, g, e = s.redeemDeviceCode(r.PostForm, b, now)
	case "client_credentials":
		resp, g, e = s.issueClientCredentials(r.PostForm, b, now)
	case "":
		e = &oauthError{http.StatusBadRequest, "invalid_request", "missing grant_type"}
	default:
		e = &oauthError{http.StatusBadRequest, "unsupported_grant_type", "grant_type " + gt + " is not supported"}
	}
	if e != nil {
		e.write(w)
		return
	}
	s.bindDPoP(resp, jkt, b)
	if g.openID() && !b.OmitIDToken && (!refreshed || b.IDTokenOnRefresh) {
		tok := b.IDToken
		if tok == "" {
			var err error
			tok, err = s.idToken(g, b, resp.AccessToken, now, refreshed)
			if err != nil {
				writeError(w, http.StatusInternalServerError, "server_error", err.Error())
				return
			}
		}
		resp.IDToken = tok
		s.mu.Lock()
		s.lastID = tok
		if g.sid != "" {
			s.issuedIDs[tok] = g.sid
		}
		s.mu.Unlock()
	}
	writeJSON(w, http.StatusOK, resp)
}

// redeemCode runs the authorization_code grant (RFC 6749 §4.1.3, RFC 7636
// §4.6). A code is spent by its first redemption, even a failed one; a
// second one invalidates the tokens the first one gave (RFC 6749 §4.1.2).
func (s *Server) redeemCode(form url.Values, b Behavior, now time.Time) (*tokenResponse, *grant, *oauthError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.codes[form.Get("code")]
	switch {
	case g == nil:
		return nil, nil, invalidGrant("unknown authorization code")
	case g.used:
		s.forgetGrantLocked(g)
		return nil, nil, invalidGrant("authorization code already used")
	}
	g.used = true
	verifier := form.Get("code_verifier")
	switch {
	case now.After(g.expires):
		return nil, nil, invalidGrant("authorization code expired")
	case g.clientID != s.clientID:
		return nil, nil, invalidGrant("authorization code was issued to another client")
	case form.Get("redirect_uri") != g.redirectURI:
		return nil, nil, invalidGrant("redirect_uri differs from the authorization request")
	case g.challenge == "" && verifier != "":
		return nil, nil, invalidGrant("code_verifier without a code_challenge in the authorization request")
	case g.challenge != "" && !verifierMatches(verifier, g.challenge):
		return nil, nil, invalidGrant("code_verifier does not match the code_challenge")
	}
	resp := s.issueAccessLocked(g, now, b.AccessTokenSize)
	if !b.OmitRefreshToken {
		resp.RefreshToken = randomString()
		s.refresh[resp.RefreshToken] = &refreshToken{grant: g}
	}
	return resp, g, nil
}

// redeemRefreshToken runs the refresh_token grant (RFC 6749 §6). With
// rotation, the old refresh token is spent; presenting it again
// invalidates every token of its grant (RFC 9700 §4.14.2).
func (s *Server) redeemRefreshToken(form url.Values, b Behavior, now time.Time) (*tokenResponse, *grant, *oauthError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := form.Get("refresh_token")
	t := s.refresh[old]
	if t == nil {
		if g := s.rotated[old]; g != nil {
			s.forgetGrantLocked(g)
			return nil, nil, invalidGrant("refresh token already rotated; its grant is revoked")
		}
		return nil, nil, invalidGrant("unknown, revoked or rotated refresh token")
	}
	if t.grant.clientID != s.clientID {
		return nil, nil, invalidGrant("refresh token was issued to another client")
	}
	scope := form.Get("scope")
	if scope != "" && !subset(scope, t.grant.scope) {
		return nil, nil, &oauthError{http.StatusBadRequest, "invalid_scope", "scope exceeds the original grant"}
	}
	resp := s.issueAccessLocked(t.grant, now, b.AccessTokenSize)
	if scope != "" {
		resp.Scope = scope
	}
	switch {
	case b.RotateRefreshTokens:
		delete(s.refresh, old)
		s.rotated[old] = t.grant
		resp.RefreshToken = randomString()
		s.refresh[resp.RefreshToken] = &refreshToken{grant: t.grant}
	case !b.OmitRefreshToken:
		resp.RefreshToken = old
	}
	return resp, t.grant, nil
}

// verifierMatches reports whether the PKCE verifier hashes to challenge
// under S256: base64url(sha256(verifier)).
func verifierMatches(verifier, challenge string) bool {
	if len(verifier) < 43 || len(verifier) > 128 {
		return false
	}
	sum := sha256.Sum256([]byte(verifier))
	got := base64.RawURLEncoding.EncodeToString(sum[:])
	return subtle.ConstantTimeCompare([]byte(got), []byte(challenge)) == 1
}

// subset reports whether every scope in requested is in granted.
func subset(requested, granted string) bool {
	have := strings.Fields(granted)
	for _, sc := range strings.Fields(requested) {
		if !slices.Contains(have, sc) {
			return false
		}
	}
	return true
}

// wait blocks for d or until ctx is done, and reports whether d passed.
func wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
