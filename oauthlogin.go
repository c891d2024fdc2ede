// Package oauthlogin gives a Go web app OAuth 2.0 and OpenID Connect login
// with any number of providers, the way hosted auth platforms do, as a
// library: create a [Manager] with [New] from a [Config], [Manager.Register]
// providers (package providers), and mount [Manager.Handler].
//
// # Quick start
//
//	keys, err := oauthlogin.CookieKeysFromEnv("COOKIE_KEYS") // see Keys below
//	if err != nil {
//		return err
//	}
//	m, err := oauthlogin.New(oauthlogin.Config{
//		BaseURL: "http://localhost:8080",
//		Keys:    oauthlogin.Keys{Cookie: keys},
//	})
//	if err != nil {
//		return err
//	}
//	if err := m.Check(ctx); err != nil { // reaches the store once
//		return err
//	}
//	p, err := providers.OIDC(ctx, "oidc", issuer, providers.Config{ClientID: id, ClientSecret: secret})
//	if err != nil {
//		return err
//	}
//	if err := m.Register(p); err != nil { // redirect URI: BaseURL + /auth/oidc/callback
//		return err
//	}
//	mux := http.NewServeMux()
//	mux.Handle("/auth/", m.Handler())
//	mux.Handle("GET /me", m.RequireSession(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
//		s, _ := oauthlogin.SessionFromContext(r.Context())
//		fmt.Fprintf(w, "hello %s (%s user %s)", s.UserID, s.Provider, s.ProviderUID)
//	})))
//
// A sign-in link is /auth/oidc?success=/me&failure=/. [Manager.LoadSession]
// is the middleware that goes on without a session. The whole program is
// examples/quickstart; [Config] lists every setting, each with a safe
// default.
//
// # Routes
//
// [Manager.Handler] serves these under [Config.Prefix] (default "/auth/");
// the route table, not the handlers, is the API:
//
//	GET         {prefix}{provider}            begin a login (success, failure, scopes, mode=token,
//	                                          prompt, login_hint, max_age, acr_values, ui_locales)
//	POST        {prefix}{provider}            with link=1: link to the signed-in user
//	GET, POST   {prefix}{provider}/callback   the provider's answer
//	GET         {prefix}session               the current session
//	DELETE      {prefix}session               logout; ?provider=1: the provider's too
//	POST        {prefix}session               token mode: userId + secret for a session
//	POST        {prefix}refresh               renew the provider token now; ?ifExpiring=1: only near expiry
//	GET         {prefix}identities            the user's identities
//	DELETE      {prefix}identities/{id}       unlink one
//	POST        {prefix}{provider}/device     start a device login (RFC 8628)
//	POST        {prefix}device/token          poll it
//	GET         {prefix}sessions              the user's sessions
//	DELETE      {prefix}sessions              sign out everywhere
//	DELETE      {prefix}sessions/{id}         sign out one session
//	GET         {prefix}logout                logout as a link, the provider's too (return)
//	GET         {prefix}logout/callback       back from the provider's logout
//	POST        {prefix}{provider}/backchannel-logout   the provider's logout token
//
// A login goes: begin redirects to the provider with state, PKCE (S256)
// and, for OpenID providers, a nonce, all sealed in a short-lived cookie;
// the callback checks the state, exchanges the code, verifies the ID
// token, finds or creates the user's [Identity], starts a new [Session]
// and redirects to success. Every failure redirects to failure with a
// short error code and leaves no session. DELETE and POST routes refuse
// cross-origin browser requests.
//
// # Stores
//
// [Config.Store] keeps sessions, identities, single-use marks and the
// refresh lock; its contract is [Store]. The default, [NewMemoryStore],
// serves one process. For several instances swap it in one line:
//
//	Store: redisstore.New(rdb),              // module .../store/redisstore
//	Store: pgstore.New(pool),                // module .../store/pgstore (Migrate at start)
//	Store: sqlitestore.New(db),              // module .../store/sqlitestore (Migrate at start)
//	Store: cookiestore.New(shared, keys...), // sessions in the client, the rest in shared
//
// The server stores are modules of their own
// (github.com/oauthlogin/oauthlogin/store/redisstore, ...), so an app
// builds only the driver it uses; [Manager.Check] reaches the store once
// at start.
// store/storetest checks a store of your own against the contract.
//
// # Errors
//
// Every error the Manager reports wraps a value of [*Error], one per code
// (listed under [Error]): test them with [errors.Is], or get the code and
// HTTP status with [errors.As]; [Code] gives the code of any error. The
// failure redirect's error parameter and JSON error bodies ({"error":
// code, "message": fixed text}) carry the same codes; those that only
// HTTP clients see (state_mismatch, invalid_secret, ...) have no Go name
// and are listed in the README.
//
// # Provider tokens
//
// A session carries the provider's tokens, sealed; the refresh token never
// leaves the server. [Manager.ProviderToken] opens them;
// [Manager.TokenSource] and [Manager.Client] call the provider's API and
// refresh the token when it expires within
// [SessionOptions.RefreshMargin]; [Manager.Refresh] (and POST
// {prefix}refresh) refreshes it now, say after the provider answered 401.
// Refreshes of one identity are coalesced across goroutines and
// instances, and one finished within the last few seconds is reused.
//
// # Native apps
//
// Token mode (begin with mode=token) ends at a custom scheme listed in
// [NativeApps.Schemes] or a loopback URL, with a userId and a one-time
// secret that the app exchanges at POST {prefix}session for a bearer
// session token, proven with its own PKCE code_verifier. A bearer token
// (Authorization: Bearer) works wherever the cookie does.
//
// # Devices
//
// For the providers named in [Config.DeviceProviders], the device routes
// run the device authorization grant (RFC 8628) for TVs and CLIs, and
// [Manager.DeviceLogin] runs it in Go. [Manager.ServiceClient] is the
// client credentials grant.
//
// # Enterprise OpenID Connect
//
// Logout can end the provider's session too (RP-Initiated Logout 1.0):
// the browser goes to the provider's end_session_endpoint with the
// session's own login's ID token as id_token_hint and comes back through
// {prefix}logout/callback, one URL to register at each provider. A
// provider that supports Back-Channel Logout 1.0 posts logout tokens to
// {prefix}{provider}/backchannel-logout, which ends the sessions of that
// provider session (sid) or account (sub) in any server store
// ([ProviderSessionDeleter]; the cookie store cannot). A begin with
// max_age or acr_values is a step-up (it may only tighten the provider's
// own, set in its AuthParams, which every login checks): the callback
// refuses an ID token whose auth_time is older, or whose acr is none of
// those asked, and the session records both ([Session.AuthTime],
// [Session.ACR]). Per provider
// (package providers' Config): client authentication with a signed JWT
// instead of a secret ([ClientAsserter]: private_key_jwt,
// client_secret_jwt), pushed authorization requests
// ([AuthorizationPusher], RFC 9126), and DPoP ([DPoPProvider], RFC 9449),
// which binds the provider's tokens to a key made at each login and
// sealed in the store with them, so that a refresh token copied out of the store is useless.
//
// # Keys
//
// [Keys.Cookie] seals the login cookies and, unless [Keys.Token] is set,
// the stored provider tokens. [GenerateCookieKey] makes a key, and
// [CookieKey.Encode] writes it in hex (fmt and slog print keys redacted);
// [CookieKeysFromEnv] reads a comma-separated list of them, newest first,
// from an environment variable. Keep the keys across restarts and share
// them between instances: a new key on a persistent store makes every
// stored provider token unreadable. To rotate, put a new key first and
// drop the old one a session lifetime later.
package oauthlogin

import (
	"context"
	"errors"
	"fmt"
	"github.com/oauthlogin/oauthlogin/internal/recall"
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
	store            Store          // Config.Store, each call bounded by Config.StoreTimeout (storeCalls)
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
	lockTTL          time.Duration // refreshLockTTL, shorter in tests
	lockMargin       time.Duration // defaultLockMargin, shorter in tests
	releases         chan struct{} // lock releases retrying in the background (holdLock)
	checkTimeout     time.Duration // checkTimeout, shorter in tests
	after            func(time.Duration) <-chan time.Time
	flight           singleflight.Group
	checks           singleflight.Group // Check's one read in flight
	baseOrigin       string             // origin(base)
	baseOriginListed bool               // Config.RedirectOrigins names BaseURL's origin: all its paths allowed
	backoff          backoff
	refreshes        refreshTimes // when this process last refreshed each identity
	knownIDs         recall.Map   // the identity each account signed in with last (signIn)
	unreadableTokens sync.Once    // logs that stored provider tokens cannot be opened
	services         serviceCache

	// sids ends sessions by the provider's sid (back-channel logout); nil
	// when the store cannot.
	sids ProviderSessionDeleter

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
		baseOrigin:     origin(base),
		prefix:         strings.TrimSuffix(base.Path, "/") + cfg.Prefix,
		keys:           keys,
		allowedOrigins: origins,
		client:         noRedirects(cfg.HTTPClient),
		log:            cfg.Logger,
		cop:            http.NewCrossOriginProtection(),
		secure:         base.Scheme == "https",
		flowTTL:        cfg.Sessions.FlowLifetime,
		now:            time.Now,
		refreshBudget:  refreshBudget,
		lockTTL:        refreshLockTTL,
		lockMargin:     defaultLockMargin,
		releases:       make(chan struct{}, maxReleases),
		checkTimeout:   checkTimeout,
		after:          time.After,
		providers:      make(map[string]*registered),
	}
	for _, o := range cfg.RedirectOrigins {
		if u, err := url.Parse(o); err == nil && origin(u) == m.baseOrigin {
			m.baseOriginListed = true
		}
	}
	calls := newStoreCalls(cfg.Store, cfg.StoreTimeout)
	m.store, m.sids = calls.store, calls.sids
	if m.codec, m.toucher, err = newSessionCodec(calls, cfg.Sessions.Lifetime, m.now()); err != nil {
		return nil, err
	}
	if cfg.Sessions.IdleTimeout > 0 && m.toucher == nil {
		return nil, fmt.Errorf("%w: Sessions.IdleTimeout needs a store that records when a session was last used (a SessionToucher), and %T does not: it keeps sessions in the client or cannot touch them", ErrConfig, cfg.Store)
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
// token, device, logout); the providers constructors check the same rule.
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
	rp.authFixed, rp.authBase = fixed, oc.Endpoint.AuthURL+sep
	if err := rp.setPush(); err != nil {
		return err
	}
	rp.setAuthEndpoints()
	if err := rp.setStepUp(fixed); err != nil {
		return err
	}
	rp.client = providerClient(m.client, rp)
	if dp, ok := p.(DPoPProvider); ok && dp.DPoP() {
		rp.dpop = newDPoPState(func() time.Time { return m.now() })
	}
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
//	DELETE      {prefix}session               logout; ?provider=1: the provider's too
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
//	GET         {prefix}logout                logout as a link, the provider's too (return)
//	GET         {prefix}logout/callback       back from the provider's logout
//	POST        {prefix}{provider}/backchannel-logout   the provider's logout token
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
	mux.HandleFunc("GET "+p+"logout", m.logoutLink)
	mux.HandleFunc("GET "+p+"logout/callback", m.logoutCallback)
	mux.HandleFunc("POST "+p+"{provider}/backchannel-logout", m.backChannelLogout)
	return mux
}

// checkTimeout bounds Check within the caller's context.
const checkTimeout = 5 * time.Second

// checkKey is an issuer and subject no identity has.
const checkKey = "oauthlogin.check"

// Check reaches the Manager's store once, with a cheap read, and returns
// an error that names the store (its Go type) and wraps the store's own
// error, or ErrStoreUnavailable when the store did not answer within 5
// seconds (or Config.StoreTimeout, or ctx's deadline, if sooner). A ctx the caller cancels is not
// the store's fault: Check then returns an error wrapping ctx's. New does
// no I/O, so call Check when the app starts, to find a store that cannot
// be reached then rather than at the first login.
//
// Concurrent calls share one read of the store: a health endpoint that
// calls Check per probe leaves at most one read in flight, even on a
// store that ignores its context.
func (m *Manager) Check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, m.checkTimeout)
	defer cancel()
	// The shared read runs on a context of its own (ctx's values, the
	// Manager's timeout): one caller giving up does not end it for the
	// others. The goroutine DoChan starts is the only one, whoever waits.
	ch := m.checks.DoChan("check", func() (any, error) {
		pctx, pcancel := context.WithTimeout(context.WithoutCancel(ctx), m.checkTimeout)
		defer pcancel()
		_, err := m.store.Identity(pctx, checkKey, checkKey)
		if errors.Is(err, ErrNotFound) {
			return nil, nil
		}
		if err != nil && pctx.Err() != nil {
			// Failed once the deadline had passed: a timeout, whatever
			// the driver calls it (ctx's error, an i/o timeout).
			return nil, m.checkTimedOut(pctx.Err())
		}
		return nil, err
	})
	var err error
	select {
	case res := <-ch:
		err = res.Err
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.Canceled) {
			return fmt.Errorf("oauthlogin: check: store %T: the caller gave up before it answered: %w", m.cfg.Store, ctx.Err())
		}
		err = m.checkTimedOut(ctx.Err())
	}
	var timedOut *checkTimeoutError
	if errors.As(err, &timedOut) {
		return err
	}
	if err != nil {
		return fmt.Errorf("oauthlogin: check: store %T: %w", m.cfg.Store, err)
	}
	return nil
}

// checkTimeoutError is a Check whose store did not answer in time.
type checkTimeoutError struct{ err error }

func (e *checkTimeoutError) Error() string { return e.err.Error() }
func (e *checkTimeoutError) Unwrap() error { return e.err }

// checkTimedOut is the error of a store that did not answer before ctxErr
// (a deadline: Check's own, or the caller's).
func (m *Manager) checkTimedOut(ctxErr error) error {
	return &checkTimeoutError{fmt.Errorf("oauthlogin: check: store %T did not answer in time: %w: %w", m.cfg.Store, ErrStoreUnavailable, ctxErr)}
}
