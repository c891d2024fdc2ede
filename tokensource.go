package oauthlogin

import (
	"context"
	"net/http"
	"sync"

	"golang.org/x/oauth2"
)

// TokenSource returns the provider token of s as an oauth2.TokenSource
// that refreshes itself when the token expires within Config.Sessions.RefreshMargin
// (and only then), persisting new tokens. Like Refresh, it reuses a
// refresh of the identity finished within the last 10 seconds: tokens
// that live shorter than the margin are renewed at most that often, and
// in between the source returns the last refresh's token although it is
// within the margin. A DPoP-bound token (token_type DPoP) works only with
// a proof by its key: send requests through Client.
func (m *Manager) TokenSource(ctx context.Context, s *Session) oauth2.TokenSource {
	return &sessionTokenSource{m: m, ctx: ctx, s: s}
}

// Client returns an HTTP client for the provider's API that sends the
// session's access token and refreshes it when it expires. A DPoP-bound
// token goes as "Authorization: DPoP" with a proof by its key (RFC 9449
// §7: ath, htm, htu, the server's nonce, retried once on use_dpop_nonce).
func (m *Manager) Client(ctx context.Context, s *Session) *http.Client {
	if c := m.dpopClient(ctx, s); c != nil {
		return c
	}
	return oauth2.NewClient(m.resourceContext(ctx), m.TokenSource(ctx, s))
}

type sessionTokenSource struct {
	m   *Manager
	ctx context.Context
	mu  sync.Mutex
	s   *Session
}

// Token implements oauth2.TokenSource.
func (t *sessionTokenSource) Token() (*oauth2.Token, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	tok, err := t.m.ProviderToken(t.s)
	if err != nil {
		return nil, err
	}
	if tok != nil && tok.AccessToken != "" && !t.m.expiring(tok.Expiry, t.m.now()) {
		return tok, nil
	}
	s, err := t.m.refreshSession(t.ctx, t.s, true)
	if err != nil {
		return nil, err
	}
	t.s = s
	tok, err = t.m.ProviderToken(s)
	if err == nil && tok == nil {
		err = ErrNoRefreshToken
	}
	return tok, err
}
