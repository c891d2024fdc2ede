// Package oauthlogin gives a Go web app OAuth 2.0 and OpenID Connect login
// with any number of providers, the way hosted auth platforms do, as a
// library: a Manager with registered providers, a pluggable store, and
// net/http handlers to mount.
//
// A login goes: GET {prefix}{provider} (begin) redirects to the provider
// with state, PKCE (S256) and, for OpenID providers, a nonce, all sealed in
// a short-lived cookie; the provider redirects back to
// {prefix}{provider}/callback, which checks the state, exchanges the code,
// verifies the ID token, finds or creates the user's identity, starts a new
// session and redirects to the success URL. Every failure redirects to the
// failure URL with a short error code (see Code) and leaves no session.
package oauthlogin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/oauthlogin/oauthlogin/internal/providername"
)

// Manager runs logins for registered providers. It is safe for concurrent
// use; register providers before serving.
type Manager struct {
	cfg              Config
	base             *url.URL
	prefix           string
	keys             *keyring
	allowedOrigins   map[string]bool
	store            Store
	codec            sessionCodec   // where sessions live: the store, or the client
	toucher          SessionToucher // nil when the sessions cannot be touched
	client           *http.Client
	log              *slog.Logger
	cop              *http.CrossOriginProtection
	secure           bool
	sessionCookie    string
	flowCookiePrefix string
	flowCookiePath   string
	flowTTL          time.Duration
	now              func() time.Time
	refreshBudget    time.Duration // refreshBudget, shorter in tests
	checkTimeout     time.Duration // checkTimeout, shorter in tests
	after            func(time.Duration) <-chan time.Time
	flight           singleflight.Group
	backoff          backoff
	refreshes        refreshTimes // when this process last refreshed each identity
	unreadableTokens sync.Once    // logs that stored provider tokens cannot be opened
	services         serviceCache

	mu        sync.RWMutex
	providers map[string]*registered
}

// New returns a Manager for cfg. It checks cfg and fills in its defaults
// (see Config), and does no I/O.
func New(cfg Config) (*Manager, error) {
	cfg, base, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	keys, err := newKeyring(cfg.Keys.Cookie, cfg.Keys.Token, cfg.Sessions.FlowLifetime)
	if err != nil {
		return nil, err
	}
	origins, err := cfg.redirectOrigins(base)
	if err != nil {
		return nil, err
	}
	m := &Manager{
		cfg:            cfg,
		base:           base,
		prefix:         strings.TrimSuffix(base.Path, "/") + cfg.Prefix,
		keys:           keys,
		allowedOrigins: origins,
		store:          cfg.Store,
		client:         noRedirects(cfg.HTTPClient),
		log:            cfg.Logger,
		cop:            http.NewCrossOriginProtection(),
		secure:         base.Scheme == "https",
		flowTTL:        cfg.Sessions.FlowLifetime,
		now:            time.Now,
		refreshBudget:  refreshBudget,
		checkTimeout:   checkTimeout,
		after:          time.After,
		providers:      make(map[string]*registered),
	}
	m.codec, m.toucher = newSessionCodec(m.store)
	if cfg.Sessions.IdleTimeout > 0 && m.toucher == nil {
		return nil, fmt.Errorf("%w: Sessions.IdleTimeout needs a store that records when a session was last used (a SessionToucher), and %T does not: it keeps sessions in the client or cannot touch them", ErrConfig, m.store)
	}
	m.sessionCookie, m.flowCookiePrefix, m.flowCookiePath = "oauthlogin_session", "oauthlogin_flow_", m.prefix
	if m.secure {
		// __Host- cookies are Secure, host-only and must have Path=/.
		m.sessionCookie, m.flowCookiePrefix, m.flowCookiePath = "__Host-oauthlogin_session", "__Host-oauthlogin_flow_", "/"
	}
	return m, nil
}

// Register adds a provider. Its name must be unique, 1 to 64 characters
// of a-z, 0-9, "_" and "-" starting with a letter or digit, and not one of
// the Manager's own route names (session, sessions, refresh, identities,
// token, device); the providers constructors check the same rule.
func (m *Manager) Register(p Provider) error {
	name := p.Name()
	if err := providername.Check(name); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	oc := p.OAuth2Config()
	if oc.ClientID == "" || oc.Endpoint.AuthURL == "" || oc.Endpoint.TokenURL == "" {
		return fmt.Errorf("%w: provider %s needs a client id, an auth URL and a token URL", ErrConfig, name)
	}
	oc.RedirectURL = m.base.Scheme + "://" + m.base.Host + m.prefix + name + "/callback"
	op, isOIDC := p.(OpenIDProvider)
	if isOIDC && !slices.Contains(oc.Scopes, "openid") {
		oc.Scopes = append([]string{"openid"}, oc.Scopes...)
	}
	rp := &registered{name: name, p: p, oidc: op, oauth: oc, allowedScopes: make(map[string]bool)}
	if isOIDC {
		rp.issuer = op.Issuer()
	} else if u, err := url.Parse(oc.Endpoint.AuthURL); err == nil && u.Host != "" {
		rp.issuer = u.Scheme + "://" + u.Host
	} else {
		return fmt.Errorf("%w: provider %s has no absolute auth URL", ErrConfig, name)
	}
	rp.defaultScopes = slices.Clone(oc.Scopes)
	rp.defaultScope = strings.Join(oc.Scopes, " ")
	for _, s := range oc.Scopes {
		rp.allowedScopes[s] = true
	}
	if sa, ok := p.(ScopeAllower); ok {
		for _, s := range sa.AllowedScopes() {
			rp.allowedScopes[s] = true
		}
	}
	fixed := url.Values{"client_id": {oc.ClientID}, "redirect_uri": {oc.RedirectURL}, "response_type": {"code"}}
	if ap, ok := p.(AuthParamser); ok {
		for k, vs := range ap.AuthParams() {
			switch k {
			case "state", "nonce", "code_challenge", "code_challenge_method", "redirect_uri", "client_id", "response_type", "scope":
				return fmt.Errorf("%w: provider %s may not set auth parameter %s", ErrConfig, name, k)
			}
			fixed[k] = append(fixed[k], vs...)
			if k == "response_mode" && slices.Contains(vs, "form_post") {
				rp.formPost = true
			}
		}
	}
	sep := "?"
	if strings.Contains(oc.Endpoint.AuthURL, "?") {
		sep = "&"
	}
	rp.authPrefix = oc.Endpoint.AuthURL + sep + fixed.Encode()
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, dup := m.providers[name]; dup {
		return fmt.Errorf("%w: provider %s registered twice", ErrConfig, name)
	}
	m.providers[name] = rp
	return nil
}

// Providers returns the registered provider names, sorted.
func (m *Manager) Providers() []string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	names := make([]string, 0, len(m.providers))
	for n := range m.providers {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Handler returns the Manager's routes, to mount at Config.Prefix. The
// route table is the public API; a host that serves only some routes
// mounts Handler on just those patterns of its own mux:
//
//	GET         {prefix}{provider}            begin a login
//	POST        {prefix}{provider}            with link=1: link to the signed-in user
//	GET, POST   {prefix}{provider}/callback   the provider's answer
//	GET         {prefix}session               the current session
//	DELETE      {prefix}session               logout
//	POST        {prefix}session               token mode's userId + secret for a session
//	POST        {prefix}refresh               renew the provider token now (Refresh);
//	                                          ?ifExpiring=1: only near expiry
//	GET         {prefix}identities            the user's identities
//	DELETE      {prefix}identities/{id}       unlink one
//	POST        {prefix}{provider}/device     start a device login (RFC 8628)
//	POST        {prefix}device/token          poll it
//	GET         {prefix}sessions              the user's sessions
//	DELETE      {prefix}sessions              sign out everywhere
//	DELETE      {prefix}sessions/{id}         sign out one session
func (m *Manager) Handler() http.Handler {
	mux := http.NewServeMux()
	p := m.prefix
	mux.HandleFunc("GET "+p+"session", m.getSession)
	mux.HandleFunc("DELETE "+p+"session", m.logout)
	mux.HandleFunc("POST "+p+"session", m.exchangeSecret)
	mux.HandleFunc("POST "+p+"refresh", m.serveRefresh)
	mux.HandleFunc("GET "+p+"identities", m.listIdentities)
	mux.HandleFunc("GET "+p+"sessions", m.listSessions)
	mux.HandleFunc("DELETE "+p+"sessions", m.endAllSessions)
	mux.HandleFunc("DELETE "+p+"sessions/{id}", m.endSession)
	mux.HandleFunc("DELETE "+p+"identities/{id}", m.unlink)
	mux.HandleFunc("GET "+p+"{provider}", m.begin)
	mux.HandleFunc("POST "+p+"{provider}", m.begin)
	mux.HandleFunc("POST "+p+"{provider}/device", m.deviceStart)
	mux.HandleFunc("POST "+p+"device/token", m.deviceToken)
	mux.HandleFunc("GET "+p+"{provider}/callback", m.callback)
	mux.HandleFunc("POST "+p+"{provider}/callback", m.callback)
	return mux
}

// checkTimeout bounds Check within the caller's context.
const checkTimeout = 5 * time.Second

// checkKey is an issuer and subject no identity has.
const checkKey = "oauthlogin.check"

// Check reaches the Manager's store once, with a cheap read, and returns
// an error that names the store (its Go type) and wraps the store's own
// error, or ErrStoreUnavailable when the store did not answer within 5
// seconds (or ctx's deadline, if sooner). New does no I/O, so call Check
// when the app starts, to find a store that cannot be reached then rather
// than at the first login.
func (m *Manager) Check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, m.checkTimeout)
	defer cancel()
	done := make(chan error, 1) // a store that ignores ctx must not hold Check past its timeout
	go func() {
		_, err := m.store.Identity(ctx, checkKey, checkKey)
		if errors.Is(err, ErrNotFound) {
			err = nil
		}
		done <- err
	}()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if ctxErr := ctx.Err(); err != nil && ctxErr != nil && errors.Is(err, ctxErr) {
		return fmt.Errorf("oauthlogin: check: store %T did not answer in time: %w: %w", m.store, ErrStoreUnavailable, ctxErr)
	}
	if err != nil {
		return fmt.Errorf("oauthlogin: check: store %T: %w", m.store, err)
	}
	return nil
}
