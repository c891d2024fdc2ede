package oauthlogin

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Config configures a Manager. BaseURL and Keys.Cookie are required; every
// other field has a safe default, so the zero value of each is fine.
type Config struct {
	// BaseURL is the app's external URL, e.g. "https://app.example.com".
	// Redirect URIs are BaseURL + Prefix + provider + "/callback". Over
	// https, cookies are Secure and take the __Host- prefix. Required.
	BaseURL string
	// Prefix is where Handler is mounted; default "/auth/".
	Prefix string
	// Keys are the keys that seal cookies and provider tokens; Keys.Cookie
	// is required.
	Keys Keys
	// Store keeps sessions, identities, single-use marks and the refresh
	// lock (see Store); default NewMemoryStore(), which serves one
	// instance only. Swap it in one line: redisstore.New(client),
	// pgstore.New(pool), sqlitestore.New(db), or cookiestore.New(inner,
	// keys...) to keep the sessions in the client. A store without
	// SessionLister answers GET {prefix}sessions 501 unsupported, and an
	// unlink then ends all of the user's sessions (it cannot find the
	// identity's own); one without SessionToucher cannot have
	// Sessions.IdleTimeout.
	Store Store
	// StoreTimeout bounds each call the Manager makes to Store: the call
	// runs under the request's context with a deadline that much later
	// (or the request's own, if sooner), even a call that goes on after
	// its request ended (a refresh that other requests share, an
	// unlock). A store that has not answered by then fails the request
	// with ErrStoreUnavailable (503 store_unavailable, Retry-After); a
	// request whose own context ended keeps that context's error. Lock,
	// which may wait for the lock's holder, gets the lock's ttl on top.
	// Default (zero) 5 seconds; New refuses one under a millisecond (a
	// unit slip) or over 10 seconds (a call must fit several times in an
	// identity's 30-second refresh lock); negative: no bound but the
	// request's context. The memory store needs none and gets none: its calls never
	// wait on I/O. The bound holds only if the store's driver honours
	// context deadlines (go-redis: ContextTimeoutEnabled; see the store
	// packages).
	StoreTimeout time.Duration
	// Sessions sets how long sessions and logins last and what a session
	// shows; the zero value gives the defaults written on each field.
	Sessions SessionOptions
	// RedirectOrigins are the origins ("https://app.example.com",
	// "http://localhost:3000") that success and failure URLs may point to,
	// matched exactly on scheme, host and port; default none. BaseURL's
	// origin is always allowed.
	RedirectOrigins []string
	// NativeApps configures token mode (mode=token), the login of native
	// apps; default off (no scheme allowed, challenge optional).
	NativeApps NativeApps
	// DeviceProviders names the providers whose device authorization
	// routes (RFC 8628: POST {prefix}{provider}/device and the polling of
	// its handles) are served, and which DeviceLogin may use; default none.
	// For the others those routes answer 404, as if not mounted.
	DeviceProviders []string
	// EmailLinkProviders turns on linking by email, off by default (nil):
	// it names the providers trusted to verify email addresses. A provider
	// account seen for the first time, from one of them and with an email
	// it asserts verified, joins the user who already has an identity with
	// the same (normalized) verified email from one of them. An email alone
	// never moves an identity that exists.
	EmailLinkProviders []string
	// Hooks are the app's callbacks; each nil one has its default.
	Hooks Hooks
	// HTTPClient makes the token requests; default a client with a 10-second
	// timeout. Providers have their own client for discovery and user info.
	// Redirects are never followed: the Manager uses a copy of the client
	// whose CheckRedirect refuses them, so that a token, refresh, device or
	// client credentials request answered 3xx fails and no code, verifier,
	// secret or refresh token is sent to another URL.
	HTTPClient *http.Client
	// Logger receives diagnostics; default none. Tokens and secrets are never
	// logged.
	Logger *slog.Logger
}

// Keys are the Manager's secret keys. Keep them across restarts and share
// them between instances. Each must be random: New refuses a key (a
// cookie key's Hash or Block, a Token key) of fewer than 16 distinct byte
// values (half its length, for one shorter than 32 bytes), as
// CookieKeysFromEnv does; all zeros or a typed placeholder is no key.
// Keys prints redacted (fmt, log/slog, JSON): a logged Config shows none.
type Keys struct {
	// Cookie seal the per-login flow cookies; required. The first key
	// seals; all open, so a new key is put first and an old one dropped a
	// flow lifetime later (but see Token). See GenerateCookieKey.
	Cookie []CookieKey
	// Token are 32-byte AES-256 keys that seal provider tokens at rest
	// (first seals, all open). Default: derived from Cookie with HKDF;
	// then keep an old cookie key for Sessions.Lifetime after rotating, or
	// the provider tokens sealed under it become unreadable (the sessions
	// stand, without provider tokens, until their users sign in again). Set
	// Token to rotate the two independently.
	Token [][]byte
}

// SessionOptions sets the lifetimes of sessions and logins, and what a
// session shows and does at logout.
type SessionOptions struct {
	// Lifetime is how long a session lasts; default 30 days.
	Lifetime time.Duration
	// IdleTimeout ends a session unused for that long; default zero:
	// sessions end only at Lifetime. It needs a store that is a
	// SessionToucher; New refuses it otherwise.
	IdleTimeout time.Duration
	// FlowLifetime bounds a login from begin to callback; default 10
	// minutes.
	FlowLifetime time.Duration
	// RefreshMargin is how long before its expiry a provider access token
	// is refreshed; default 5 minutes. A token that lives less than the
	// margin (or that the provider announces already expired) is due from
	// the moment it is issued: the lazy refresh (TokenSource, Client, POST
	// {prefix}refresh?ifExpiring=1) then renews it at most once every 10
	// seconds per identity, handing out the token of the last refresh in
	// between, even though it expires within the margin.
	RefreshMargin time.Duration
	// ExposeProviderAccessToken puts the provider access token in the
	// session JSON (providerAccessToken), for a client that calls the
	// provider itself; default false: the token stays on the server
	// (Manager.Client, TokenSource).
	ExposeProviderAccessToken bool
	// RevokeOnLogout revokes the session's provider token (RFC 7009) on
	// logout, for providers that support it; default false. When the
	// provider revoked them and they are the identity's current tokens
	// (the grant the identity refreshes with), they are dropped from the
	// identity and from its other sessions too, as when a refresh finds
	// the grant revoked.
	RevokeOnLogout bool
}

// NativeApps configures token mode: a login begun with mode=token, for a
// native app, ends with a one-time secret that the app exchanges for a
// bearer session at POST {prefix}session.
type NativeApps struct {
	// Schemes are the custom URL schemes that a token-mode login may
	// redirect to; default none, which leaves only loopback http
	// redirects, allowed to any port (RFC 8252 §7.3). Use reverse-DNS names
	// of a domain you control ("com.example.app", RFC 8252 §7.1), which no
	// other app is likely to claim. New refuses a name that is not RFC 3986
	// scheme syntax (a letter, then letters, digits, "+", "-" or "."), and
	// http, https and the schemes browsers run or read locally (javascript,
	// data, file, vbscript, blob, about). Schemes compare
	// case-insensitively.
	Schemes []string
	// RequireChallenge makes token mode require proof of possession:
	// begin with mode=token then needs the app's own code_challenge (S256,
	// RFC 7636), and POST {prefix}session the matching code_verifier;
	// default false: a challenge is optional, and checked when sent.
	RequireChallenge bool
}

// Hooks are the app's callbacks. Each runs on the request's goroutine, so
// it should be quick.
type Hooks struct {
	// ResolveUser chooses the user a provider account signs in as, the
	// first time that account is seen (and not linked by the signed-in user
	// or by email). It returns the host app's user id, creating the user in
	// the host's own records if it needs to. Default: a new random id.
	ResolveUser func(ctx context.Context, provider string, p *Profile) (userID string, err error)
	// AllowLogin vets every login and link before anything is written. A
	// non-nil error refuses it (login_denied); the error is logged, never
	// shown. Decide on signed claims (Google's hd, Microsoft's tid in
	// p.Raw), not on an email suffix. Default: all allowed.
	AllowLogin func(ctx context.Context, provider string, p *Profile) error
	// OnEvent receives sign-ups, logins, links, unlinks, logouts and
	// refresh failures; it must not block on the request. Default: none.
	OnEvent func(ctx context.Context, e Event)
}

// withDefaults checks cfg, fills in the defaults of what is unset, and
// returns it with BaseURL parsed. It does no I/O.
func (cfg Config) withDefaults() (Config, *url.URL, error) {
	base, err := url.Parse(cfg.BaseURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return cfg, nil, fmt.Errorf("%w: BaseURL %q must be an absolute http(s) URL", ErrConfig, cfg.BaseURL)
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "/auth/"
	}
	if !strings.HasPrefix(cfg.Prefix, "/") || !strings.HasSuffix(cfg.Prefix, "/") {
		return cfg, nil, fmt.Errorf("%w: Prefix %q must start and end with /", ErrConfig, cfg.Prefix)
	}
	if !plainPath(base.EscapedPath()) {
		return cfg, nil, fmt.Errorf("%w: BaseURL %q: its path must be plain segments of letters, digits, \"-\", \".\", \"_\" and \"~\" "+
			"(no empty, \".\" or \"..\" segment, no percent-escape, no ServeMux pattern such as {name})", ErrConfig, cfg.BaseURL)
	}
	if !plainPath(cfg.Prefix) {
		return cfg, nil, fmt.Errorf("%w: Prefix %q must be plain segments of letters, digits, \"-\", \".\", \"_\" and \"~\" "+
			"(no empty, \".\" or \"..\" segment, no percent-escape, no ServeMux pattern such as {name})", ErrConfig, cfg.Prefix)
	}
	if cfg.Store == nil {
		cfg.Store = NewMemoryStore()
	}
	switch t := cfg.StoreTimeout; {
	case t == 0:
		cfg.StoreTimeout = defaultStoreTimeout
	case t > 0 && t < minStoreTimeout, t > maxStoreTimeout:
		return cfg, nil, fmt.Errorf("%w: StoreTimeout %v is outside %v to %v (negative turns it off): "+
			"shorter fails calls that a store answers normally; longer lets one call eat the %v that an identity's refresh lock lasts",
			ErrConfig, t, minStoreTimeout, maxStoreTimeout, refreshLockTTL)
	}
	s := &cfg.Sessions
	if s.Lifetime <= 0 {
		s.Lifetime = 30 * 24 * time.Hour
	}
	if s.FlowLifetime <= 0 {
		s.FlowLifetime = 10 * time.Minute
	}
	if s.RefreshMargin <= 0 {
		s.RefreshMargin = 5 * time.Minute
	}
	if cfg.NativeApps.Schemes, err = appSchemes(cfg.NativeApps.Schemes); err != nil {
		return cfg, nil, err
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg, base, nil
}

// plainPath reports whether p, an escaped URL path, is empty or "/" and
// segments of RFC 3986 unreserved characters, with at most one trailing
// "/": a path that routes, cookies and the redirect URI all read the same
// way, and that ServeMux takes literally ("{name}", "{$}" are patterns;
// "//", "." and ".." are cleaned; escapes are decoded).
func plainPath(p string) bool {
	if p == "" || p == "/" {
		return true
	}
	if p[0] != '/' {
		return false
	}
	for seg := range strings.SplitSeq(strings.TrimSuffix(p[1:], "/"), "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
		for i := 0; i < len(seg); i++ {
			if c := seg[i]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
				return false
			}
		}
	}
	return true
}

// redirectOrigins returns the origins that success and failure URLs may
// point to: BaseURL's and RedirectOrigins.
func (cfg Config) redirectOrigins(base *url.URL) (map[string]bool, error) {
	origins := map[string]bool{origin(base): true}
	for _, o := range cfg.RedirectOrigins {
		u, err := parseRedirect(o)
		if err != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("%w: RedirectOrigins entry %q is not an origin like https://app.example.com", ErrConfig, o)
		}
		origins[origin(u)] = true
	}
	return origins, nil
}
