package oauthlogin

import (
	"container/list"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// ServiceTokenSource returns a token source for the client credentials
// grant (RFC 6749 §4.4: machine to machine, no user) at a registered
// provider, with the given scopes and extra token request parameters (an
// audience or resource, say). Sources are cached per provider, scopes and
// parameters (the 64 most recently used: keys that come from request input
// cannot grow memory without bound): a token is reused until shortly before
// it expires, concurrent callers share one token request, and after a
// failure (invalid_client, a provider down) further calls fail fast for a
// backoff of 1 s doubling to a minute instead of hammering the provider.
func (m *Manager) ServiceTokenSource(ctx context.Context, provider string, params url.Values, scopes ...string) (oauth2.TokenSource, error) {
	rp, ok := m.lookup(provider)
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownProvider, provider)
	}
	scopes = slices.Sorted(slices.Values(scopes))
	key := provider + "\x00" + strings.Join(scopes, " ") + "\x00" + params.Encode()
	return m.services.get(key, func() *serviceSource {
		cc := clientcredentials.Config{
			ClientID:       rp.oauth.ClientID,
			ClientSecret:   rp.oauth.ClientSecret,
			TokenURL:       rp.oauth.Endpoint.TokenURL,
			Scopes:         scopes,
			EndpointParams: params,
			AuthStyle:      rp.oauth.Endpoint.AuthStyle,
		}
		// The source outlives the caller's request: keep its values (the
		// client), not its cancellation.
		return &serviceSource{base: cc.TokenSource(rp.clientContext(context.WithoutCancel(ctx))), now: m.now}
	}), nil
}

// maxServiceSources bounds the cache of client credentials sources: its
// keys come from the caller's scopes and parameters, which may come from
// request input.
const maxServiceSources = 64

// serviceCache holds the most recently used client credentials sources,
// at most maxServiceSources of them; the least recently used goes first.
type serviceCache struct {
	mu    sync.Mutex
	byKey map[string]*list.Element // of *serviceEntry
	lru   list.List                // front: most recently used
}

type serviceEntry struct {
	key string
	src *serviceSource
}

// get returns the source cached under key, or caches the one build makes.
func (c *serviceCache) get(key string, build func() *serviceSource) *serviceSource {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byKey[key]; ok {
		c.lru.MoveToFront(e)
		return e.Value.(*serviceEntry).src
	}
	if c.byKey == nil {
		c.byKey = make(map[string]*list.Element, maxServiceSources)
	}
	if c.lru.Len() >= maxServiceSources {
		oldest := c.lru.Back()
		c.lru.Remove(oldest)
		delete(c.byKey, oldest.Value.(*serviceEntry).key)
	}
	src := build()
	c.byKey[key] = c.lru.PushFront(&serviceEntry{key, src})
	return src
}

// len reports how many sources are cached.
func (c *serviceCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.byKey)
}

// ServiceClient returns an HTTP client that authenticates with a client
// credentials token from ServiceTokenSource.
func (m *Manager) ServiceClient(ctx context.Context, provider string, scopes ...string) (*http.Client, error) {
	ts, err := m.ServiceTokenSource(ctx, provider, nil, scopes...)
	if err != nil {
		return nil, err
	}
	return oauth2.NewClient(m.resourceContext(ctx), ts), nil
}

// serviceSource adds failure backoff to a cached client credentials source
// (x/oauth2's, which already reuses a token until 10 s before expiry and
// serializes refreshes).
type serviceSource struct {
	base oauth2.TokenSource
	now  func() time.Time

	mu       sync.Mutex
	failures int
	until    time.Time
	lastErr  error
}

// Token implements oauth2.TokenSource.
func (s *serviceSource) Token() (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if now := s.now(); now.Before(s.until) {
		return nil, fmt.Errorf("%w: backing off for %v after: %w", ErrProviderUnavailable, s.until.Sub(now).Round(time.Millisecond), s.lastErr)
	}
	tok, err := s.base.Token()
	if err == nil {
		err = checkTokenType(tok)
		if err != nil {
			err = wrap(ErrTokenExchange, err)
		}
	}
	if err != nil {
		s.failures++
		s.until = s.now().Add(backoffDelay(s.failures))
		s.lastErr = err
		return nil, err
	}
	s.failures, s.lastErr = 0, nil
	return tok, nil
}
