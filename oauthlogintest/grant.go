package oauthlogintest

import (
	"slices"
	"strings"
	"time"
)

// grant is one approval by the user: what an authorization code stands
// for, and what the tokens issued from it belong to.
type grant struct {
	clientID    string
	redirectURI string
	challenge   string // S256 code_challenge; empty without PKCE
	nonce       string
	scope       string
	user        User // snapshot taken at approval
	authTime    time.Time
	acr         string    // the acr claim of its ID tokens; "" for none
	expires     time.Time // of the code
	used        bool      // the code has been redeemed (or tried)

	// sid is the provider session of the browser login that approved the
	// grant (the ID token's sid); "" for device and client grants.
	sid string
}

// openID reports whether the client asked for an OpenID Connect login.
func (g *grant) openID() bool {
	return slices.Contains(strings.Fields(g.scope), "openid")
}

// accessToken is an issued access token.
type accessToken struct {
	grant   *grant
	expires time.Time
	jkt     string // the DPoP key it is bound to; "" for a Bearer token
}

// refreshToken is an issued refresh token.
type refreshToken struct {
	grant *grant
	jkt   string // the DPoP key it is bound to (dpop.go)
}

// forgetGrantLocked invalidates every access and refresh token issued from
// g. s.mu must be held.
func (s *Server) forgetGrantLocked(g *grant) {
	for tok, t := range s.access {
		if t.grant == g {
			delete(s.access, tok)
		}
	}
	for tok, t := range s.refresh {
		if t.grant == g {
			delete(s.refresh, tok)
		}
	}
}

// issueAccessLocked creates an access token for g valid from now, padded
// to size characters, and returns the token response that carries it.
// s.mu must be held.
func (s *Server) issueAccessLocked(g *grant, now time.Time, size int) *tokenResponse {
	tok := randomString()
	if size > len(tok) {
		tok += strings.Repeat("A", size-len(tok))
	}
	s.access[tok] = &accessToken{grant: g, expires: now.Add(s.accessTTL)}
	return &tokenResponse{
		AccessToken: tok,
		TokenType:   "Bearer",
		ExpiresIn:   expiresIn(s.accessTTL),
		Scope:       g.scope,
	}
}

// expiresIn converts a lifetime to expires_in seconds. A lifetime that is
// not positive gives a negative number, so that clients such as
// golang.org/x/oauth2 see a token that has already expired.
func expiresIn(d time.Duration) int64 {
	if d <= 0 {
		return min(int64(d/time.Second), -1)
	}
	return int64((d + time.Second - 1) / time.Second)
}
