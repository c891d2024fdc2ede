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
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
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
	unreadableTokens sync.Once // logs that stored provider tokens cannot be opened
	services         serviceCache

	mu        sync.RWMutex
	providers map[string]*registered
}

// registered is a provider with everything a login needs computed once.
type registered struct {
	name          string
	issuer        string // the identity key's issuer
	p             Provider
	oidc          OpenIDProvider // nil for plain OAuth 2.0 providers
	oauth         oauth2.Config
	defaultScopes []string
	defaultScope  string
	allowedScopes map[string]bool
	// authPrefix is the authorization URL with the parameters that never
	// change (client_id, redirect_uri, response_type, the provider's
	// own), built once: a begin appends scope, state, PKCE and nonce.
	authPrefix string
	// formPost: the provider answers with response_mode=form_post, a
	// cross-site POST that carries only SameSite=None cookies.
	formPost bool
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

func (m *Manager) lookup(name string) (*registered, bool) {
	m.mu.RLock()
	rp, ok := m.providers[name]
	m.mu.RUnlock()
	return rp, ok
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

// begin serves GET {prefix}{provider}: it checks the success and failure
// URLs and the scopes, seals a new flow in a cookie and redirects to the
// provider. Bad input is a 400 (404 for an unknown provider) with a JSON
// error; it never redirects anywhere unchecked.
//
// POST {prefix}{provider} with link=1 (in the form or the query) starts a
// flow that links the provider account to the signed-in user instead. It
// must be a same-origin request (http.CrossOriginProtection) from a browser
// with a session, and answers 303; link=1 on a GET is refused, so that no
// cross-site link or image can start a link.
//
// A begin that arrives at another loopback name for BaseURL's host
// (127.0.0.1 for localhost) is sent there first, with the same path and
// query, since the flow cookie must be set where the callback arrives; a
// link's POST, which cannot be redirected, is refused with 400.
func (m *Manager) begin(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if m.loopbackAlias(r) {
		if r.Method == http.MethodPost {
			m.writeErrorStatus(w, r, http.StatusBadRequest, &hostError{got: r.Host, base: origin(m.base)})
			return
		}
		m.log.DebugContext(r.Context(), "oauthlogin: begin sent to BaseURL's host", "host", truncate(r.Host, 256), "baseHost", m.base.Host)
		redirect(w, r, m.atBaseHost(r))
		return
	}
	rp, ok := m.lookup(r.PathValue("provider"))
	if !ok {
		m.writeError(w, r, fmt.Errorf("%w: %q", ErrUnknownProvider, r.PathValue("provider")))
		return
	}
	q := r.URL.Query()
	if r.Method == http.MethodPost {
		if !m.sameOrigin(w, r) {
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			m.writeError(w, r, fmt.Errorf("%w: unreadable form", errBadRequest))
			return
		}
		q = r.Form
	}
	if rt := q.Get("response_type"); rt != "" && rt != "code" {
		m.writeError(w, r, ErrImplicitFlow)
		return
	}
	mode := q.Get("mode")
	if mode != "" && mode != "session" && mode != modeToken {
		m.writeError(w, r, fmt.Errorf("%w: %q", ErrUnsupportedMode, truncate(mode, 32)))
		return
	}
	success, err := m.target(mode, q.Get("success"))
	if err != nil {
		m.writeError(w, r, fmt.Errorf("success: %w", err))
		return
	}
	failure, err := m.target(mode, q.Get("failure"))
	if err != nil {
		m.writeError(w, r, fmt.Errorf("failure: %w", err))
		return
	}
	scope, err := rp.scope(append(q["scopes"], q["scopes[]"]...))
	if err != nil {
		m.writeError(w, r, err)
		return
	}
	challenge, err := m.appChallenge(mode, q)
	if err != nil {
		m.writeError(w, r, err)
		return
	}
	f := &flow{
		Provider:  rp.name,
		State:     randomToken(32),
		Verifier:  oauth2.GenerateVerifier(),
		Success:   success,
		Failure:   failure,
		Expires:   m.now().Add(m.flowTTL).Unix(),
		Mode:      mode,
		Challenge: challenge,
	}
	if q.Get("link") != "" {
		if mode == modeToken {
			m.writeError(w, r, fmt.Errorf("%w: link with mode=token", ErrUnsupportedMode))
			return
		}
		if r.Method != http.MethodPost {
			m.writeError(w, r, ErrLinkRequiresPost)
			return
		}
		s, err := m.requestSession(r)
		if err != nil {
			m.writeError(w, r, err)
			return
		}
		f.LinkUser, f.LinkSession = s.UserID, s.ID
	}
	f.Nonce = f.nonce(rp)
	m.endExcessFlows(w, r)
	if err := m.setFlowCookie(w, f, rp.formPost); err != nil {
		m.writeError(w, r, err)
		return
	}
	redirect(w, r, rp.authURL(f, scope))
}

// authURL is the authorization request of a flow: the fixed prefix, then
// the scope, the state, the S256 PKCE challenge (RFC 7636) and, for OpenID
// providers, the nonce. State, challenge and nonce are base64url: nothing
// to escape.
func (rp *registered) authURL(f *flow, scope string) string {
	var b strings.Builder
	b.Grow(len(rp.authPrefix) + len(scope) + 200)
	b.WriteString(rp.authPrefix)
	b.WriteString("&scope=")
	b.WriteString(url.QueryEscape(scope))
	b.WriteString("&state=")
	b.WriteString(f.State)
	b.WriteString("&code_challenge=")
	b.WriteString(oauth2.S256ChallengeFromVerifier(f.Verifier))
	b.WriteString("&code_challenge_method=S256")
	if f.Nonce != "" {
		b.WriteString("&nonce=")
		b.WriteString(f.Nonce)
	}
	return b.String()
}

// callback serves GET and POST {prefix}{provider}/callback. It ends the flow
// the state names: on success with a new session and a redirect to the
// success URL; on any failure with a redirect to the failure URL carrying
// error=<code>, and no session. A callback that does not name a flow of
// this browser by its state (none, a wrong one, a malformed or oversized
// response) ends no flow: its failure goes to the URL of another live flow
// for the provider, whose login goes on, or, when there is none, there is
// no failure URL to trust and it answers 400.
func (m *Manager) callback(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer") // the URL holds the code
	provider := r.PathValue("provider")
	rp, ok := m.lookup(provider)
	if !ok {
		m.writeError(w, r, fmt.Errorf("%w: %q", ErrUnknownProvider, provider))
		return
	}
	// An oversized response, or a state no flow of ours could have, is
	// refused before any work for it; it names no flow, so it ends none
	// (findFlow), and its failure goes to another flow's URL if any.
	params, malformed := callbackParams(w, r)
	state := params.Get("state")
	if malformed == nil {
		malformed = checkValue("state", state, maxState)
	}
	if malformed != nil {
		params, state = url.Values{}, ""
	}
	f, cookie, err := m.findFlow(r, provider, state)
	if malformed != nil {
		err = malformed
	}
	if cookie != "" {
		// The flow this callback names ends here, whatever happens next.
		m.clearCookie(w, cookie, m.flowCookiePath)
	} else if errors.Is(err, ErrStateMismatch) && m.otherHost(r) {
		// Its flow cookie, if any, is at BaseURL's host, or the begin was
		// served at this one: say so, rather than a bare mismatch.
		m.log.DebugContext(r.Context(), "oauthlogin: a callback at another host than BaseURL's finds no flow",
			"host", truncate(r.Host, 256), "baseHost", m.base.Host)
		err = &hostError{got: r.Host, base: origin(m.base), callback: true}
	}
	if f == nil {
		m.writeError(w, r, err)
		return
	}
	// The redirects were checked at begin; check them again, in case the
	// allowlist changed since (or a cookie key leaked), and send the
	// browser to what was checked (a path resolved, as at begin).
	for _, to := range []*string{&f.Success, &f.Failure} {
		checked, rerr := m.target(f.Mode, *to)
		if rerr != nil {
			m.writeError(w, r, rerr)
			return
		}
		*to = checked
	}
	if err == nil {
		err = m.store.Consume(r.Context(), "state:"+hashID(f.State), m.now().Add(m.flowTTL))
		if errors.Is(err, ErrAlreadyUsed) {
			err = ErrStateReplayed
		}
	}
	to := f.Success
	if err == nil {
		to, err = m.finish(w, r, rp, f, params)
	}
	if err != nil {
		// What a hostile provider sends back may echo the values it was
		// given; none of them reaches the log.
		msg := logDetail(err, f.State, f.Verifier, f.nonce(rp), params.Get("code"), rp.oauth.ClientSecret)
		m.log.InfoContext(r.Context(), "oauthlogin: login failed", "provider", provider, "code", Code(err), "err", msg)
		to = withQuery(f.Failure, "error", Code(err))
	}
	redirect(w, r, to)
}

// logSafe returns err for a log record, without what a hostile provider
// may have put in it: a token endpoint's error body can echo the code or
// the client's credentials back.
func logSafe(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		code := re.ErrorCode
		if !slices.Contains(tokenErrors, code) {
			code = "(other)"
		}
		return fmt.Sprintf("%s: token endpoint answered %d %s", Code(err), status, code)
	}
	return err.Error()
}

// tokenErrors are the error codes of RFC 6749 §5.2 and RFC 8628 §3.5.
var tokenErrors = []string{"", "invalid_request", "invalid_client", "invalid_grant", "unauthorized_client",
	"unsupported_grant_type", "invalid_scope", "authorization_pending", "slow_down", "access_denied", "expired_token"}

// redact replaces each non-empty secret in msg, as it is and
// form-encoded (as client_secret_basic and form bodies send it, which an
// error quoting the request can echo).
func redact(msg string, secrets ...string) string {
	for _, s := range secrets {
		if s == "" {
			continue
		}
		msg = strings.ReplaceAll(msg, s, "[redacted]")
		if e := url.QueryEscape(s); e != s {
			msg = strings.ReplaceAll(msg, e, "[redacted]")
		}
	}
	return msg
}

// finish checks the authorization response, redeems the code, identifies
// the user and starts the session. It returns where to send the browser.
func (m *Manager) finish(w http.ResponseWriter, r *http.Request, rp *registered, f *flow, params url.Values) (string, error) {
	if err := m.checkResponse(r, rp, f, params); err != nil {
		return "", err
	}
	ctx := m.clientContext(r.Context())
	tok, err := rp.exchange(ctx, params.Get("code"), oauth2.VerifierOption(f.Verifier))
	if err != nil {
		return "", wrap(ErrTokenExchange, err)
	}
	tok.Expiry = m.clampExpiry(tok.Expiry)
	profile, err := rp.identify(ctx, tok, f.nonce(rp), params)
	if err != nil {
		return "", err
	}
	id, event, err := m.signIn(r.Context(), rp, profile, tok, f.LinkUser)
	if err != nil {
		return "", err
	}
	to, s := f.Success, (*Session)(nil)
	if f.Mode == modeToken {
		to, s, err = m.startTokenSession(r, f, id)
	} else {
		s, err = m.startSession(w, r, id, tok)
	}
	if err != nil {
		return "", err
	}
	m.emit(r, Event{Type: event, UserID: id.UserID, Provider: rp.name, IdentityID: id.ID, SessionID: s.ID})
	return to, nil
}

// checkResponse checks the authorization response before any token
// request: parameters, issuer (RFC 9207), error, code, link session.
func (m *Manager) checkResponse(r *http.Request, rp *registered, f *flow, params url.Values) error {
	for _, k := range []string{"code", "iss", "error", "state"} {
		if len(params[k]) > 1 {
			// RFC 6749 §3.1: a parameter must not be sent more than once.
			return fmt.Errorf("%w: repeated %s", ErrInvalidResponse, k)
		}
	}
	if rp.oidc != nil {
		// RFC 9207: an authorization response names its issuer; a mix-up
		// attack sends one provider's response to another's callback.
		iss, sent := params.Get("iss"), params.Has("iss")
		if (sent && !matchIssuer(rp.oidc, iss)) || (!sent && rp.oidc.IssuerInResponse()) {
			return ErrIssuerMismatch
		}
	}
	if e := params.Get("error"); e != "" {
		if e == "access_denied" {
			return ErrProviderDenied
		}
		return fmt.Errorf("%w: %q", ErrProviderError, truncate(e, 64))
	}
	code := params.Get("code")
	if code == "" {
		return ErrCodeMissing
	}
	if err := checkValue("code", code, maxCode); err != nil {
		return err
	}
	if f.LinkUser != "" {
		// Link only into the session that asked for it, still signed in.
		s, err := m.requestSession(r)
		if err != nil || s.ID != f.LinkSession || s.UserID != f.LinkUser {
			return ErrLinkSession
		}
	}
	return nil
}

// matchIssuer reports whether an authorization response's iss names p: its
// Issuer exactly, or one its IssuerMatcher accepts.
func matchIssuer(p OpenIDProvider, iss string) bool {
	if iss == p.Issuer() {
		return true
	}
	im, ok := p.(IssuerMatcher)
	return ok && im.MatchIssuer(iss)
}

// identify turns a token into a verified Profile with a subject, through
// the provider's CallbackIdentifier when there is an authorization
// response to read. Errors wrap ErrIDToken or ErrProfile.
func (rp *registered) identify(ctx context.Context, tok *oauth2.Token, nonce string, response url.Values) (*Profile, error) {
	var profile *Profile
	var err error
	if ci, ok := rp.p.(CallbackIdentifier); ok && response != nil {
		profile, err = ci.IdentifyCallback(ctx, tok, nonce, response)
	} else {
		profile, err = rp.p.Identify(ctx, tok, nonce)
	}
	switch {
	case errors.Is(err, ErrIDToken), errors.Is(err, ErrProfile):
		return nil, err
	case err != nil:
		return nil, wrap(ErrProfile, err)
	case profile == nil || profile.Subject == "":
		return nil, fmt.Errorf("%w: provider %s returned no subject", ErrProfile, rp.name)
	}
	return profile, nil
}

// exchange redeems an authorization code, through the provider's
// Exchanger when it has one.
// The token_type must be Bearer (checkTokenType).
func (rp *registered) exchange(ctx context.Context, code string, opts ...oauth2.AuthCodeOption) (*oauth2.Token, error) {
	var (
		tok *oauth2.Token
		err error
	)
	if ex, ok := rp.p.(Exchanger); ok {
		cfg := rp.oauth
		tok, err = ex.Exchange(ctx, &cfg, code, opts...)
	} else {
		tok, err = rp.oauth.Exchange(ctx, code, opts...)
	}
	if err != nil {
		return nil, err
	}
	if err := checkTokenType(tok); err != nil {
		return nil, err
	}
	return tok, nil
}

// refresh redeems a refresh token, through the provider's Exchanger when it
// has one. An empty access token makes x/oauth2 refresh at once.
// A token_type other than Bearer is ErrRefresh (checkTokenType).
func (rp *registered) refresh(ctx context.Context, refreshToken string) (*oauth2.Token, error) {
	var (
		tok *oauth2.Token
		err error
	)
	if ex, ok := rp.p.(Exchanger); ok {
		cfg := rp.oauth
		tok, err = ex.Refresh(ctx, &cfg, refreshToken)
	} else {
		tok, err = rp.oauth.TokenSource(ctx, &oauth2.Token{RefreshToken: refreshToken}).Token()
	}
	if err != nil {
		return nil, err
	}
	if err := checkTokenType(tok); err != nil {
		return nil, wrap(ErrRefresh, err)
	}
	return tok, nil
}

// startSession creates a new session (a new id every login: no fixation),
// ends the one the browser had, and sets the cookie.
func (m *Manager) startSession(w http.ResponseWriter, r *http.Request, id *Identity, tok *oauth2.Token) (*Session, error) {
	s, token, err := m.saveNewSession(r, id, tok)
	if err != nil {
		return nil, err
	}
	switch old, dup := m.cookieToken(r); {
	case dup:
		m.endTossed(w, r) // the Set-Cookie below then replaces the expired one at "/"
	case old != "":
		if err := m.codec.endToken(r.Context(), old); err != nil {
			m.log.WarnContext(r.Context(), "oauthlogin: could not delete the previous session", "err", err)
		}
	}
	m.setSessionCookie(w, r, token, s.Expires)
	return s, nil
}

// saveNewSession stores a new session of an identity, with tok (which may
// be nil) sealed to it, and returns it with its secret token.
func (m *Manager) saveNewSession(r *http.Request, id *Identity, tok *oauth2.Token) (*Session, string, error) {
	now := m.now()
	token := randomToken(32)
	s := &Session{
		ID:          hashID(token), // with sessions in the client, just a random id
		UserID:      id.UserID,
		IdentityID:  id.ID,
		Provider:    id.Provider,
		ProviderUID: id.ProviderUID,
		Created:     now,
		LastSeen:    now,
		Expires:     now.Add(m.cfg.Sessions.Lifetime),
		IP:          clientIP(r),
		UserAgent:   truncate(r.UserAgent(), 256),
	}
	if tok != nil {
		sealed, err := m.keys.seal(tok, "session:"+s.ID)
		if err != nil {
			return nil, "", err
		}
		s.ProviderTokens, s.ProviderAccessTokenExpiry = sealed, tok.Expiry
	}
	token, err := m.codec.issue(r.Context(), s, token)
	if err != nil {
		return nil, "", err
	}
	// An unlink that deleted the identity after this login read it swept
	// the identity's sessions before this one existed: look again, now
	// that a later sweep would find it.
	if err := m.identityStands(r.Context(), id); err != nil {
		if derr := m.codec.end(r.Context(), s.ID); derr != nil {
			return nil, "", derr
		}
		return nil, "", err
	}
	return s, token, nil
}

// identityStands checks that id is still the stored identity of its
// provider account, with the same user (see sameIdentity).
func (m *Manager) identityStands(ctx context.Context, id *Identity) error {
	_, err := m.sameIdentity(ctx, id.Issuer, id.ProviderUID, id.ID, id.UserID)
	return err
}

// sameIdentity returns the stored identity of a provider account when it
// is still record identityID of user userID, as a session or pending
// record saw it: ErrNotFound when it was unlinked since (and maybe linked
// again as another record, perhaps another user's), whose tokens are not
// that session's.
func (m *Manager) sameIdentity(ctx context.Context, issuer, subject, identityID, userID string) (*Identity, error) {
	id, err := m.store.Identity(ctx, issuer, subject)
	if err != nil {
		return nil, err
	}
	if id.ID != identityID || id.UserID != userID {
		return nil, fmt.Errorf("%w: the identity was unlinked since", ErrNotFound)
	}
	return id, nil
}

// ProviderToken opens a session's sealed provider tokens. The result is nil
// when the session holds none. Expiry is the session's
// ProviderAccessTokenExpiry.
func (m *Manager) ProviderToken(s *Session) (*oauth2.Token, error) {
	tok, err := m.openTokens(context.Background(), s.ProviderTokens, "session:"+s.ID)
	if tok != nil {
		tok.Expiry = s.ProviderAccessTokenExpiry
	}
	return tok, err
}

// openTokens opens sealed provider tokens (keyring.open). Tokens sealed
// under a key the Manager no longer has are errUnseal, and the first such
// is logged as a warning: a key that changed at a restart, or was dropped
// too soon, leaves every stored token unreadable, which should not pass
// unnoticed. One record per Manager, without the tokens or the record.
func (m *Manager) openTokens(ctx context.Context, sealed []byte, aad string) (*oauth2.Token, error) {
	tok, _, err := m.openRefreshed(ctx, sealed, aad)
	return tok, err
}

// openRefreshed is openTokens that also gives when a refresh obtained the
// tokens (keyring.openRefreshed).
func (m *Manager) openRefreshed(ctx context.Context, sealed []byte, aad string) (*oauth2.Token, time.Time, error) {
	tok, refreshed, err := m.keys.openRefreshed(sealed, aad)
	if err != nil && errors.Is(err, errUnseal) {
		m.unreadableTokens.Do(func() {
			m.log.WarnContext(ctx, "oauthlogin: stored provider tokens cannot be opened with the current keys: "+
				"the cookie or token keys changed (a new key at a restart, or an old one dropped too soon); "+
				"sessions and identities stand without provider tokens until their users sign in again. "+
				"Keep keys across restarts, and rotate by putting a new key first. Logged once.")
		})
	}
	return tok, refreshed, err
}

// clientContext carries the Manager's HTTP client to x/oauth2.
func (m *Manager) clientContext(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, m.client)
}

// redirect answers with a redirect to an absolute URL the Manager built or
// checked, without http.Redirect's HTML body: 302 to a GET, 303 to a POST
// (a link's begin, a form_post callback), so that the browser GETs the
// target and never re-POSTs to it (RFC 9700 §4.12).
func redirect(w http.ResponseWriter, r *http.Request, to string) {
	w.Header().Set("Location", to)
	if r.Method == http.MethodPost {
		w.WriteHeader(http.StatusSeeOther)
		return
	}
	w.WriteHeader(http.StatusFound)
}

// withQuery returns raw (a URL checked by redirectTarget) with the
// key, value pairs set in its query.
func withQuery(raw string, kv ...string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	q := u.Query()
	for i := 0; i+1 < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// writeError answers with {"error": code, "message": text} and the status
// of err's *Error (asError; 500 for an unexpected error), where text is the
// error's one fixed message (errors.go): never the error's own text,
// which may quote a provider's answer and what it echoed of the request.
// The details go to the log only, redacted (logDetail): unexpected errors
// as errors (shown as server_error), failures of the provider at info
// level, the other refusals at debug level.
func (m *Manager) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusInternalServerError
	if e := asError(err); e != nil {
		status = e.status
	}
	m.writeErrorStatus(w, r, status, err)
}

// writeErrorStatus is writeError with another status than err's own; an
// unexpected error answered with a status under 500 is a bad_request.
// ErrStoreUnavailable is always a 503 with Retry-After.
func (m *Manager) writeErrorStatus(w http.ResponseWriter, r *http.Request, status int, err error) {
	if errors.Is(err, errDuplicateCookie) {
		// Whatever the route, an ambiguous session cookie ends here.
		m.endTossed(w, r)
	}
	e := asError(err)
	level, event := slog.LevelDebug, "oauthlogin: request refused"
	switch {
	case errors.Is(err, ErrStoreUnavailable):
		status = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", "1")
		level, event = slog.LevelError, "oauthlogin: store unavailable"
	case e == nil && status < 500:
		e = errBadRequest
	case e == nil || e.status == http.StatusInternalServerError:
		level, event = slog.LevelError, "oauthlogin: request failed"
	case providerFailure(e):
		level = slog.LevelInfo
	}
	if e == nil {
		e = errServerError
	}
	msg := e.public
	if he := (*hostError)(nil); errors.As(err, &he) {
		msg = he.message() // names BaseURL's origin only
	}
	if m.log.Enabled(r.Context(), level) {
		m.log.Log(r.Context(), level, event, "path", r.URL.Path, "code", e.code, "err", logDetail(err, m.requestSecrets(r)...))
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}{e.code, msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
