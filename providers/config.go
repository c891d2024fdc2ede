// Package providers has ready-made oauthlogin providers: OIDC for any
// OpenID Connect issuer (discovery, full ID token validation), OAuth2 for
// plain OAuth 2.0 providers described as data (endpoints, scopes and a
// profile mapping), and a catalogue of declared providers built on them
// (GitHub, Google, Microsoft, Apple and about thirty more; see Catalog and
// README.md), each with its quirks handled.
//
// Constructors take their settings as arguments and never read the
// environment. Their HTTP client is Config.HTTPClient: tests point a
// provider at a fake by giving it a client whose transport sends the
// provider's real URLs to the fake.
package providers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/internal/providername"
)

// Config is what the host app knows about its client at a provider.
type Config struct {
	// ClientID and ClientSecret are the app's credentials at the provider.
	// With ClientAuth, ClientSecret is the HMAC key of client_secret_jwt,
	// never sent, and must be empty for private_key_jwt.
	ClientID     string
	ClientSecret string
	// Scopes replaces the provider's default scopes when not nil.
	Scopes []string
	// AllowedScopes are the extra scopes a begin request may ask for with
	// its scopes parameter.
	AllowedScopes []string
	// AuthParams are extra authorization request parameters
	// (access_type=offline, prompt=consent, ...).
	AuthParams url.Values
	// OfflineAccess asks the provider for a refresh token, the way that
	// provider wants to be asked: an offline_access scope, Google's
	// access_type=offline with prompt=consent, Dropbox's
	// token_access_type=offline, and so on. Providers that always issue
	// refresh tokens, or never do, ignore it.
	OfflineAccess bool
	// AuthStyle is how the client authenticates at the token endpoint; the
	// default is what the provider advertises, else HTTP Basic.
	AuthStyle oauth2.AuthStyle
	// TrustedAudiences are client ids besides ClientID that an ID token may
	// name in aud. By default any other audience is refused (OpenID Connect
	// Core §3.1.3.7, step 3).
	TrustedAudiences []string
	// IDTokenSigningAlgs are the JWS algorithms an OpenID provider's ID
	// tokens may be signed with, such as []string{"ES256"}. The default is
	// what the provider documents: RS256, the default of OpenID Connect's
	// id_token_signed_response_alg, for most of the catalogue. A token in
	// another algorithm is refused even when its signature is valid and
	// discovery lists the algorithm (OpenID Connect Core §3.1.3.7, step 7).
	// Only asymmetric algorithms are accepted: RS256, RS384, RS512, PS256,
	// PS384, PS512, ES256, ES384, ES512 and EdDSA.
	IDTokenSigningAlgs []string
	// HTTPClient makes discovery, key, user info and revocation requests;
	// default a client with a 10-second timeout. Response bodies over 1 MiB
	// are refused. Redirects are never followed: the provider uses a copy
	// of the client whose CheckRedirect refuses them, so that a 3xx answer
	// fails and no credential is sent to another URL.
	HTTPClient *http.Client

	// PushAuthorizationRequests makes begins push their authorization
	// requests to the provider's pushed authorization request endpoint
	// (RFC 9126) and send the browser there with a request_uri only.
	// Providers whose discovery sets require_pushed_authorization_requests
	// push without it. Construction fails when the provider has no such
	// endpoint.
	PushAuthorizationRequests bool

	// ClientAuth, when set, authenticates the client with a signed JWT
	// instead of sending its secret (RFC 7523 §2.2, OpenID Connect Core
	// §9): PrivateKeyJWT or ClientSecretJWT. Every request that
	// authenticates the client carries a fresh assertion: code exchange,
	// refresh, device authorization and token, client credentials, pushed
	// authorization and revocation. An OpenID provider whose discovery
	// lists token_endpoint_auth_methods_supported without the method, or
	// token_endpoint_auth_signing_alg_values_supported without the
	// algorithm, is refused. AuthStyle must then be left unset.
	ClientAuth *ClientAuth

	// DPoP turns on DPoP (RFC 9449) for an OpenID provider: the Manager
	// then binds the tokens of each login to a key of its own (ES256),
	// sends a proof with every token request and every resource request
	// through Manager.Client, and accepts only token_type DPoP. User info
	// requests with a DPoP-bound token go through the Manager's
	// back-channel client (in the context), which adds the proof. Refused
	// when discovery's dpop_signing_alg_values_supported lists algorithms
	// but not ES256, and for plain OAuth 2.0 providers.
	DPoP bool
}

// signingAlgs returns the ID token algorithms: the host's, else the
// provider's documented ones, else RS256.
func signingAlgs(name string, host, documented []string) ([]string, error) {
	algs := host
	if len(algs) == 0 {
		algs = documented
	}
	if len(algs) == 0 {
		return []string{"RS256"}, nil
	}
	for _, a := range algs {
		switch a {
		case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA":
		default:
			return nil, fmt.Errorf("providers: %s: %w: IDTokenSigningAlgs: %q is not an asymmetric JWS algorithm", name, oauthlogin.ErrConfig, a)
		}
	}
	return slices.Clone(algs), nil
}

// base holds what every provider shares, computed once at construction.
type base struct {
	name       string
	oauth      oauth2.Config
	allowed    []string
	authParams url.Values
	client     *http.Client
	revokeURL  string
	// assert makes client assertions (Config.ClientAuth); nil: the client
	// secret authenticates the client.
	assert *asserter
}

// newBase builds what every provider shares. issuer is an OpenID
// provider's ("" for plain OAuth 2.0) and defaultAud the audience of
// client assertions that the provider documents.
func newBase(name string, cfg Config, ep oauth2.Endpoint, defaultScopes []string, revokeURL, issuer string, defaultAud Audience) (base, error) {
	if err := checkName(name); err != nil {
		return base{}, err
	}
	if cfg.ClientID == "" {
		return base{}, fmt.Errorf("providers: %s: %w: ClientID is empty", name, oauthlogin.ErrConfig)
	}
	if cfg.AuthStyle != oauth2.AuthStyleAutoDetect {
		ep.AuthStyle = cfg.AuthStyle
	}
	if ep.AuthStyle == oauth2.AuthStyleAutoDetect {
		ep.AuthStyle = oauth2.AuthStyleInHeader
	}
	var assert *asserter
	if cfg.ClientAuth != nil {
		if cfg.AuthStyle != oauth2.AuthStyleAutoDetect {
			return base{}, fmt.Errorf("providers: %s: %w: AuthStyle and ClientAuth are both set", name, oauthlogin.ErrConfig)
		}
		var err error
		if assert, err = newAsserter(name, cfg.ClientAuth, cfg.ClientID, cfg.ClientSecret, ep.TokenURL, issuer, defaultAud); err != nil {
			return base{}, err
		}
		// The assertion goes in the form beside client_id; the secret
		// (client_secret_jwt's HMAC key) is never sent.
		cfg.ClientSecret = ""
		ep.AuthStyle = oauth2.AuthStyleInParams
	}
	scopes := defaultScopes
	if cfg.Scopes != nil {
		scopes = cfg.Scopes
	}
	client := cfg.HTTPClient
	if client == nil {
		client = defaultClient()
	}
	client = limited(client)
	return base{
		name: name,
		oauth: oauth2.Config{
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret,
			Endpoint:     ep,
			Scopes:       append([]string(nil), scopes...),
		},
		allowed:    append([]string(nil), cfg.AllowedScopes...),
		authParams: cfg.AuthParams,
		client:     client,
		revokeURL:  revokeURL,
		assert:     assert,
	}, nil
}

// checkName enforces the rule Manager.Register has for provider names, so
// that a bad one fails where it is given, before any request.
func checkName(name string) error {
	if err := providername.Check(name); err != nil {
		return fmt.Errorf("providers: %w: %w", oauthlogin.ErrConfig, err)
	}
	return nil
}

func defaultClient() *http.Client {
	return &http.Client{Timeout: 10 * time.Second, CheckRedirect: refuseRedirect}
}

// Name implements oauthlogin.Provider.
func (b *base) Name() string { return b.name }

// OAuth2Config implements oauthlogin.Provider.
func (b *base) OAuth2Config() oauth2.Config { return b.oauth }

// AllowedScopes implements oauthlogin.ScopeAllower.
func (b *base) AllowedScopes() []string { return b.allowed }

// AuthParams implements oauthlogin.AuthParamser.
func (b *base) AuthParams() url.Values { return b.authParams }

// Revoke implements oauthlogin.Revoker (RFC 7009). It returns an error
// wrapping errors.ErrUnsupported when the provider has no revocation
// endpoint.
func (b *base) Revoke(ctx context.Context, token, hint string) error {
	return b.revoke(ctx, token, hint, b.oauth.ClientSecret)
}

// revoke is Revoke with the client secret to authenticate with.
func (b *base) revoke(ctx context.Context, token, hint, secret string) error {
	if b.revokeURL == "" {
		return fmt.Errorf("providers: %s: %w: no revocation endpoint", b.name, errors.ErrUnsupported)
	}
	form := url.Values{"token": {token}}
	if hint != "" {
		form.Set("token_type_hint", hint)
	}
	if b.oauth.Endpoint.AuthStyle == oauth2.AuthStyleInParams {
		form.Set("client_id", b.oauth.ClientID)
		if secret != "" {
			form.Set("client_secret", secret)
		}
	}
	if b.assert != nil {
		// RFC 7009 §2.1: the client authenticates as at the token
		// endpoint; with a JWT, never with a secret beside it.
		assertion, err := b.assert.assertion(b.revokeURL)
		if err != nil {
			return err
		}
		form.Set("client_assertion_type", jwtBearerAssertion)
		form.Set("client_assertion", assertion)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.revokeURL, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if b.oauth.Endpoint.AuthStyle != oauth2.AuthStyleInParams {
		// RFC 6749 §2.3.1: form-encode id and secret before Basic.
		req.SetBasicAuth(url.QueryEscape(b.oauth.ClientID), url.QueryEscape(secret))
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return fmt.Errorf("providers: %s: revoke: %w", b.name, err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("providers: %s: revoke: status %d", b.name, resp.StatusCode)
	}
	return nil
}

// getJSON fetches a user document with the access token as a Bearer
// credential, reading at most 1 MiB.
func (b *base) getJSON(ctx context.Context, endpoint, accessToken string) ([]byte, error) {
	return b.getAuthJSON(ctx, endpoint, "Bearer "+accessToken)
}

// getAuthJSON is getJSON with the whole Authorization header's value.
func (b *base) getAuthJSON(ctx context.Context, endpoint, authorization string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", authorization)
	req.Header.Set("Accept", "application/json")
	resp, err := b.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("user info: status %d", resp.StatusCode)
	}
	return body, nil
}

// withDefaults applies a provider declaration's fixed and offline-access
// extras to the host's cfg: it returns cfg with AuthParams merged (the
// host's own values win) and Scopes set when the offline scopes must be
// added to the host's replacement scopes, and the default scopes to use.
func withDefaults(cfg Config, scopes []string, params url.Values, offScopes []string, offParams url.Values) (Config, []string) {
	merged := url.Values{}
	for k, vs := range params {
		merged[k] = append([]string(nil), vs...)
	}
	if cfg.OfflineAccess {
		for k, vs := range offParams {
			merged[k] = append([]string(nil), vs...)
		}
	}
	for k, vs := range cfg.AuthParams {
		merged[k] = append([]string(nil), vs...)
	}
	if len(merged) == 0 {
		merged = nil
	}
	cfg.AuthParams = merged
	defaults := append([]string(nil), scopes...)
	if cfg.OfflineAccess && len(offScopes) > 0 {
		defaults = addScopes(defaults, offScopes)
		if cfg.Scopes != nil {
			cfg.Scopes = addScopes(append([]string(nil), cfg.Scopes...), offScopes)
		}
	}
	return cfg, defaults
}

// addScopes appends the scopes of add that scopes lacks.
func addScopes(scopes, add []string) []string {
	for _, s := range add {
		if !slices.Contains(scopes, s) {
			scopes = append(scopes, s)
		}
	}
	return scopes
}
