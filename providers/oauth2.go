package providers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/oauth2"

	"github.com/oauthlogin/oauthlogin"
)

// Spec describes a plain OAuth 2.0 provider as data.
type Spec struct {
	// Endpoint holds the authorization and token URLs and, when the
	// provider needs one, the AuthStyle (default HTTP Basic).
	Endpoint oauth2.Endpoint
	// UserInfoURL returns the signed-in user's JSON document for a Bearer
	// access token.
	UserInfoURL string
	// RevocationURL is the RFC 7009 endpoint, if any.
	RevocationURL string
	// Scopes are the default scopes.
	Scopes []string
	// Profile maps the user document; default StandardClaims().
	Profile ProfileMapper

	// AuthParams are authorization request parameters the provider always
	// needs (Notion's owner=user). Config.AuthParams add to and override
	// them.
	AuthParams url.Values
	// OfflineScopes and OfflineParams are what Config.OfflineAccess adds
	// to the scopes and the authorization request to get a refresh token.
	OfflineScopes []string
	OfflineParams url.Values

	// UserInfoMethod is the user info request's method: GET (the default)
	// or POST, sent without a body (Dropbox's RPC-style API).
	UserInfoMethod string
	// UserInfoHeader holds extra headers for the user info and Emails
	// requests (GitHub's API version).
	UserInfoHeader http.Header
	// TokenScheme is the Authorization scheme the access token is sent
	// with: default "Bearer" (Yandex: "OAuth", Podio: "OAuth2").
	TokenScheme string
	// Emails, when not nil, reads the user's e-mail addresses with their
	// verification state, for providers whose user document does not say
	// whether its address is verified (GitHub, Bitbucket).
	Emails *EmailList
	// TokenUserField names a member of the token response that holds the
	// user document, for providers that send the user with the token and
	// have no user info endpoint (Notion's "owner"). UserInfoURL is then
	// not used and may be empty.
	TokenUserField string
}

// OAuth2Provider is a plain OAuth 2.0 provider: no ID token, the profile
// comes from the user info endpoint. Create one with OAuth2, or with one
// of the constructors of the catalogue.
//
// It implements oauthlogin.Exchanger: for most providers its code exchange
// and refresh are x/oauth2's standard ones; providers whose token endpoint
// answers in a shape x/oauth2 cannot read, or refreshes at another URL,
// are handled there.
type OAuth2Provider struct {
	base
	userInfoURL string
	method      string
	header      http.Header
	scheme      string
	emails      *EmailList
	tokenUser   string
	profile     ProfileMapper

	// Quirks, set only by this package's constructors.

	// sign adds what the provider wants on every API request besides the
	// access token (Facebook's appsecret_proof, Etsy's x-api-key).
	sign func(req *http.Request, accessToken string)
	// identify replaces the user info request and mapping (Etsy reads two
	// documents).
	identify func(ctx context.Context, p *OAuth2Provider, tok *oauth2.Token) (*oauthlogin.Profile, error)
	// fixToken rewrites a token endpoint's JSON body into RFC 6749's shape
	// before x/oauth2 reads it (Yammer nests the token in an object).
	fixToken func(body []byte) ([]byte, error)
	// refreshURL is where refresh tokens are redeemed, when that is not the
	// token endpoint (Figma).
	refreshURL string
	// tokenJSON, when not nil, makes token requests carry their parameters
	// as a JSON object instead of a form, keeping only the members it names
	// (Notion).
	tokenJSON []string
	// tokenHeader holds extra headers for token requests (Notion-Version).
	tokenHeader http.Header
	// untypedToken: the provider documents token responses without
	// token_type (Bitly, Dailymotion); a missing one is taken as Bearer,
	// any other value is still refused.
	untypedToken bool
}

// OAuth2 returns a provider described by spec with the app's cfg.
func OAuth2(name string, spec Spec, cfg Config) (*OAuth2Provider, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	if spec.Endpoint.AuthURL == "" || spec.Endpoint.TokenURL == "" || (spec.UserInfoURL == "" && spec.TokenUserField == "") {
		return nil, fmt.Errorf("providers: %s: %w: Spec needs AuthURL, TokenURL and UserInfoURL", name, oauthlogin.ErrConfig)
	}
	if cfg.PushAuthorizationRequests {
		return nil, fmt.Errorf("providers: %s: %w: PushAuthorizationRequests needs an OpenID provider whose discovery names a pushed authorization request endpoint", name, oauthlogin.ErrConfig)
	}
	switch spec.UserInfoMethod {
	case "", http.MethodGet, http.MethodPost:
	default:
		return nil, fmt.Errorf("providers: %s: %w: UserInfoMethod must be GET or POST", name, oauthlogin.ErrConfig)
	}
	if cfg.DPoP {
		return nil, fmt.Errorf("providers: %s: %w: DPoP needs an OpenID provider", name, oauthlogin.ErrConfig)
	}
	cfg, scopes := withDefaults(cfg, spec.Scopes, spec.AuthParams, spec.OfflineScopes, spec.OfflineParams)
	b, err := newBase(name, cfg, spec.Endpoint, scopes, spec.RevocationURL, "", AudienceDefault)
	if err != nil {
		return nil, err
	}
	mapper := spec.Profile
	if mapper == nil {
		mapper = StandardClaims()
	}
	method := spec.UserInfoMethod
	if method == "" {
		method = http.MethodGet
	}
	scheme := spec.TokenScheme
	if scheme == "" {
		scheme = "Bearer"
	}
	var emails *EmailList
	if spec.Emails != nil {
		e := *spec.Emails
		emails = &e
	}
	return &OAuth2Provider{
		base:        b,
		userInfoURL: spec.UserInfoURL,
		method:      method,
		header:      spec.UserInfoHeader.Clone(),
		scheme:      scheme,
		emails:      emails,
		tokenUser:   spec.TokenUserField,
		profile:     mapper,
	}, nil
}

// Identify implements oauthlogin.Provider: it reads the user info endpoint
// with the access token. nonce is unused: plain OAuth 2.0 has no ID token.
func (p *OAuth2Provider) Identify(ctx context.Context, tok *oauth2.Token, nonce string) (*oauthlogin.Profile, error) {
	var profile *oauthlogin.Profile
	var err error
	if p.identify != nil {
		profile, err = p.identify(ctx, p, tok)
	} else {
		profile, err = p.identifyDefault(ctx, tok)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", oauthlogin.ErrProfileUnavailable, p.name, err)
	}
	return profile, nil
}

func (p *OAuth2Provider) identifyDefault(ctx context.Context, tok *oauth2.Token) (*oauthlogin.Profile, error) {
	var body []byte
	if p.tokenUser != "" {
		doc := tok.Extra(p.tokenUser)
		if doc == nil {
			return nil, fmt.Errorf("the token response has no %q", p.tokenUser)
		}
		var err error
		if body, err = json.Marshal(doc); err != nil {
			return nil, err
		}
	} else {
		var err error
		if body, err = p.fetch(ctx, p.method, p.userInfoURL, tok.AccessToken); err != nil {
			return nil, err
		}
	}
	profile, err := p.profile.Profile(body)
	if err != nil {
		return nil, err
	}
	if p.emails != nil {
		if err := p.readEmails(ctx, profile, body, tok.AccessToken); err != nil {
			return nil, err
		}
	}
	return profile, nil
}

// statusError is a provider API answer other than 200.
type statusError struct{ code int }

func (e *statusError) Error() string { return fmt.Sprintf("user info: status %d", e.code) }

// fetch sends an API request with the access token and returns the body of
// a 200 answer, reading at most 1 MiB.
func (p *OAuth2Provider) fetch(ctx context.Context, method, endpoint, accessToken string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, endpoint, nil)
	if err != nil {
		return nil, err
	}
	for k, vs := range p.header {
		req.Header[k] = append([]string(nil), vs...)
	}
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "application/json")
	}
	req.Header.Set("Authorization", p.scheme+" "+accessToken)
	if p.sign != nil {
		p.sign(req, accessToken)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &statusError{resp.StatusCode}
	}
	return body, nil
}

// Exchange implements oauthlogin.Exchanger: x/oauth2's code exchange, with
// the provider's token response quirks handled.
func (p *OAuth2Provider) Exchange(ctx context.Context, cfg *oauth2.Config, code string, opts ...oauth2.AuthCodeOption) (*oauth2.Token, error) {
	return p.typed(cfg.Exchange(p.tokenContext(ctx), code, opts...))
}

// typed fills in the Bearer token_type of a provider that documents its
// absence.
func (p *OAuth2Provider) typed(tok *oauth2.Token, err error) (*oauth2.Token, error) {
	if err == nil && p.untypedToken && tok.TokenType == "" {
		tok.TokenType = "Bearer"
	}
	return tok, err
}

// Refresh implements oauthlogin.Exchanger: x/oauth2's refresh, at the
// provider's refresh endpoint when it has its own.
func (p *OAuth2Provider) Refresh(ctx context.Context, cfg *oauth2.Config, refreshToken string) (*oauth2.Token, error) {
	if p.refreshURL != "" {
		cfg.Endpoint.TokenURL = p.refreshURL
	}
	return p.typed(cfg.TokenSource(p.tokenContext(ctx), &oauth2.Token{RefreshToken: refreshToken}).Token())
}

// tokenContext returns ctx with an HTTP client for x/oauth2 that rewrites
// token responses, when the provider needs that.
func (p *OAuth2Provider) tokenContext(ctx context.Context) context.Context {
	if p.fixToken == nil && p.tokenJSON == nil && p.tokenHeader == nil {
		return ctx
	}
	c, _ := ctx.Value(oauth2.HTTPClient).(*http.Client)
	if c == nil {
		c = p.client
	}
	cp := *c
	cp.Transport = fixTransport{base: c.Transport, fix: p.fixToken, header: p.tokenHeader, jsonKeys: p.tokenJSON}
	return context.WithValue(ctx, oauth2.HTTPClient, &cp)
}

// fixTransport rewrites token requests and responses: it adds header,
// sends a form body as a JSON object of the jsonKeys members when jsonKeys
// is not nil, and rewrites successful JSON responses with fix when fix is
// not nil.
type fixTransport struct {
	base     http.RoundTripper
	fix      func([]byte) ([]byte, error)
	header   http.Header
	jsonKeys []string
}

// formToJSON turns a form body into a JSON object of the named members'
// first values; the others are dropped.
func formToJSON(form []byte, keys []string) ([]byte, error) {
	v, err := url.ParseQuery(string(form))
	if err != nil {
		return nil, err
	}
	obj := map[string]string{}
	for _, k := range keys {
		if v.Has(k) {
			obj[k] = v.Get(k)
		}
	}
	return json.Marshal(obj)
}

// RoundTrip implements http.RoundTripper.
func (t fixTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	if len(t.header) > 0 || t.jsonKeys != nil {
		r = r.Clone(r.Context())
		for k, vs := range t.header {
			r.Header[k] = append([]string(nil), vs...)
		}
	}
	if t.jsonKeys != nil && r.Body != nil {
		form, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
		r.Body.Close()
		if err != nil {
			return nil, err
		}
		body, err := formToJSON(form, t.jsonKeys)
		if err != nil {
			return nil, err
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		r.ContentLength = int64(len(body))
		r.Header.Set("Content-Type", "application/json")
	}
	resp, err := base.RoundTrip(r)
	if err != nil || resp.StatusCode != http.StatusOK || t.fix == nil {
		return resp, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	if body, err = t.fix(body); err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(strings.NewReader(string(body)))
	resp.ContentLength = int64(len(body))
	resp.Header.Del("Content-Length")
	resp.Header.Set("Content-Type", "application/json")
	return resp, nil
}
