package providers

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/oauthlogin/oauthlogin"
)

// iatLeeway is how far in the future an ID token's iat may be, for clock
// skew between the provider and this host.
const iatLeeway = 5 * time.Minute

// OIDCProvider is an OpenID Connect provider found by discovery. Create one
// with OIDC.
type OIDCProvider struct {
	base
	issuer      string
	issInResp   bool
	userInfoURL string
	verifier    *oidc.IDTokenVerifier
	keys        *keySet
	trusted     []string
	now         func() time.Time

	// Quirks, set only by this package's constructors.

	// claims maps the verified ID token claims; default StandardClaims().
	claims ProfileMapper
	// checkIssuer replaces go-oidc's exact iss match (Microsoft's
	// multi-tenant issuers); it gets iss and the raw claims.
	checkIssuer func(iss string, claims []byte) error
	// matchIssuer, with checkIssuer, accepts an authorization response's
	// iss other than issuer (MatchIssuer).
	matchIssuer func(iss string) bool

	// pushURL is discovery's pushed_authorization_request_endpoint, and
	// push whether begins push their requests there (PushedAuthorization).
	pushURL string
	push    bool

	// dpop: Config.DPoP (DPoP).
	dpop bool

	// Logout (RP-Initiated and Back-Channel Logout 1.0), from discovery.
	endSession      string
	bcLogout        bool
	bcLogoutSession bool
}

// oidcOptions is an OpenID provider's declaration beyond its issuer.
type oidcOptions struct {
	scopes        []string // default scopes; nil means openid, email, profile
	authParams    url.Values
	offlineScopes []string
	offlineParams url.Values
	// noUserInfo skips the userinfo request: the ID token has the claims.
	noUserInfo  bool
	claims      ProfileMapper
	checkIssuer func(iss string, claims []byte) error
	matchIssuer func(iss string) bool
	// algs are the JWS algorithms the provider documents signing ID tokens
	// with; nil means RS256. Config.IDTokenSigningAlgs replaces them.
	algs []string
	// discovery, when set, replaces go-oidc's discovery (whose issuer must
	// equal the issuer URL exactly).
	discovery func(ctx context.Context, client *http.Client) (*oidc.Provider, discovery, error)

	// audience is the aud of client assertions that the provider
	// documents (Config.ClientAuth); AudienceDefault: the issuer (or the token endpoint for a template issuer).
	audience Audience
}

// discovery holds the discovery fields go-oidc does not expose.
type discovery struct {
	Issuer             string `json:"issuer"`
	JWKSURI            string `json:"jwks_uri"`
	RevocationEndpoint string `json:"revocation_endpoint"`
	// RevokeEndpoint is the name Autodesk's discovery gives its RFC 7009
	// endpoint; it is used only when revocation_endpoint is absent.
	RevokeEndpoint      string   `json:"revoke_endpoint"`
	AuthMethods         []string `json:"token_endpoint_auth_methods_supported"`
	IssParamSupported   bool     `json:"authorization_response_iss_parameter_supported"`
	CodeChallengeMethod []string `json:"code_challenge_methods_supported"`

	// RFC 9126 §5.
	PushEndpoint string `json:"pushed_authorization_request_endpoint"`
	RequirePush  bool   `json:"require_pushed_authorization_requests"`

	// AuthSigningAlgs are the JWS algorithms the token endpoint accepts
	// for private_key_jwt and client_secret_jwt.
	AuthSigningAlgs []string `json:"token_endpoint_auth_signing_alg_values_supported"`

	// DPoPAlgs is dpop_signing_alg_values_supported (RFC 9449 §5.1).
	DPoPAlgs []string `json:"dpop_signing_alg_values_supported"`

	// Logout (RP-Initiated Logout 1.0 §2.1, Back-Channel Logout 1.0 §2.1).
	EndSessionEndpoint              string `json:"end_session_endpoint"`
	BackChannelLogoutSupported      bool   `json:"backchannel_logout_supported"`
	BackChannelLogoutSessionSupport bool   `json:"backchannel_logout_session_supported"`
}

// OIDC returns a provider for an OpenID Connect issuer. It fetches the
// issuer's discovery document once, now, and requires its issuer to equal
// issuerURL exactly; signing keys are fetched when first needed, cached, and
// refetched only for an unknown key id, at most once every 30 seconds. Each
// JWKS entry is parsed on its own, so an unusable one (malformed, unknown
// kty, use other than sig, symmetric, oversized) is skipped without hiding
// the others. Default scopes: openid, email, profile.
//
// Identify verifies the ID token as OpenID Connect Core §3.1.3.7 asks:
// size (at most 32 KiB, a JOSE header of at most 4 KiB, compact form),
// signature (by a key the JWKS publishes, in Config.IDTokenSigningAlgs,
// default RS256, whatever discovery lists; never "none"), iss, aud (no
// untrusted extra audience), azp when there are several audiences or it is
// present, exp, iat (present, not in the future), sub, nonce and, when
// present, at_hash; exp, iat, nbf and auth_time must be JSON numbers. It
// then reads the userinfo endpoint, whose sub must be the ID token's.
func OIDC(ctx context.Context, name, issuerURL string, cfg Config) (*OIDCProvider, error) {
	return newOIDC(ctx, name, issuerURL, cfg, oidcOptions{offlineScopes: []string{"offline_access"}})
}

// newOIDC builds an OpenID provider from its declaration.
func newOIDC(ctx context.Context, name, issuerURL string, cfg Config, o oidcOptions) (*OIDCProvider, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = defaultClient()
	}
	cfg.HTTPClient = limited(cfg.HTTPClient)
	var (
		op  *oidc.Provider
		d   discovery
		err error
	)
	if o.discovery != nil {
		op, d, err = o.discovery(oidc.ClientContext(ctx, cfg.HTTPClient), cfg.HTTPClient)
	} else {
		op, err = oidc.NewProvider(oidc.ClientContext(ctx, cfg.HTTPClient), issuerURL)
		if err == nil {
			err = op.Claims(&d)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("providers: %s: discovery: %w", name, err)
	}
	ep := op.Endpoint()
	ep.AuthStyle = authStyle(d.AuthMethods)
	scopes := o.scopes
	if scopes == nil {
		scopes = []string{oidc.ScopeOpenID, "email", "profile"}
	}
	cfg, scopes = withDefaults(cfg, scopes, o.authParams, o.offlineScopes, o.offlineParams)
	revocation := d.RevocationEndpoint
	if revocation == "" {
		revocation = d.RevokeEndpoint
	}
	if d.Issuer != "" {
		issuerURL = d.Issuer
	}
	b, err := newBase(name, cfg, ep, scopes, revocation, issuerURL, o.audience)
	if err != nil {
		return nil, err
	}
	if b.assert != nil {
		if err := b.assert.checkMetadata(name, d.AuthMethods, d.AuthSigningAlgs); err != nil {
			return nil, err
		}
	}
	userInfo := op.UserInfoEndpoint()
	if o.noUserInfo {
		userInfo = ""
	}
	mapper := o.claims
	if mapper == nil {
		mapper = StandardClaims()
	}
	algs, err := signingAlgs(name, cfg.IDTokenSigningAlgs, o.algs)
	if err != nil {
		return nil, err
	}
	if d.JWKSURI == "" {
		return nil, fmt.Errorf("providers: %s: discovery: the document has no jwks_uri", name)
	}
	if err := checkDPoP(name, cfg.DPoP, d.DPoPAlgs); err != nil {
		return nil, err
	}
	keys := newKeySet(d.JWKSURI, cfg.HTTPClient, algs)
	push, err := pushedAuthorization(name, cfg, d)
	if err != nil {
		return nil, err
	}
	return &OIDCProvider{
		pushURL:     d.PushEndpoint,
		push:        push,
		base:        b,
		issuer:      issuerURL,
		issInResp:   d.IssParamSupported,
		userInfoURL: userInfo,
		verifier: oidc.NewVerifier(issuerURL, keys, &oidc.Config{
			ClientID:             cfg.ClientID,
			SkipIssuerCheck:      o.checkIssuer != nil,
			SupportedSigningAlgs: algs, // what discovery advertises is not consent
		}),
		keys:        keys,
		trusted:     cfg.TrustedAudiences,
		now:         time.Now,
		claims:      mapper,
		checkIssuer: o.checkIssuer,
		matchIssuer: o.matchIssuer,
		dpop:        cfg.DPoP,

		endSession:      d.EndSessionEndpoint,
		bcLogout:        d.BackChannelLogoutSupported,
		bcLogoutSession: d.BackChannelLogoutSessionSupport,
	}, nil
}

// authStyle picks the token endpoint client authentication from discovery:
// Basic when listed or when nothing is listed (the default of OpenID Connect
// Discovery §3), else form parameters when those are listed.
func authStyle(methods []string) oauth2.AuthStyle {
	if len(methods) == 0 || slices.Contains(methods, "client_secret_basic") || !slices.Contains(methods, "client_secret_post") {
		return oauth2.AuthStyleInHeader
	}
	return oauth2.AuthStyleInParams
}

// Issuer implements oauthlogin.OpenIDProvider.
func (p *OIDCProvider) Issuer() string { return p.issuer }

// MatchIssuer implements oauthlogin.OpenIDProvider: iss is the issuer, or,
// for Microsoft's multi-tenant endpoints, the issuer of a tenant the
// provider accepts.
func (p *OIDCProvider) MatchIssuer(iss string) bool {
	if p.matchIssuer != nil {
		return p.matchIssuer(iss)
	}
	return iss == p.issuer
}

// IssuerInResponse implements oauthlogin.OpenIDProvider.
func (p *OIDCProvider) IssuerInResponse() bool { return p.issInResp }

// Identify implements oauthlogin.Provider.
func (p *OIDCProvider) Identify(ctx context.Context, tok *oauth2.Token, nonce string) (*oauthlogin.Profile, error) {
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, fmt.Errorf("%w: the token response has no id_token", oauthlogin.ErrInvalidIDToken)
	}
	dctx := ctx // the Manager's back-channel client, for a DPoP-bound token
	ctx = oidc.ClientContext(ctx, p.client)
	idt, c, err := p.verifyIDToken(ctx, raw, nonce)
	if err != nil {
		return nil, err
	}
	if idt.AccessTokenHash != "" {
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			return nil, fmt.Errorf("%w: %w", oauthlogin.ErrInvalidIDToken, err)
		}
	}
	profile, err := p.idProfile(idt, c)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", oauthlogin.ErrInvalidIDToken, err)
	}
	if err := c.loginFacts(profile); err != nil {
		return nil, err
	}
	if p.userInfoURL == "" {
		if profile.Raw == nil {
			if err := idt.Claims(&profile.Raw); err != nil {
				return nil, fmt.Errorf("%w: %w", oauthlogin.ErrInvalidIDToken, err)
			}
		}
		return profile, nil
	}
	body, err := p.userInfo(ctx, dctx, tok)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", oauthlogin.ErrProfileUnavailable, p.name, err)
	}
	info, err := StandardClaims().Profile(body)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", oauthlogin.ErrProfileUnavailable, p.name, err)
	}
	// OpenID Connect Core §5.3.2: a userinfo response for another subject
	// must not be used.
	if info.Subject != profile.Subject {
		return nil, fmt.Errorf("%w: %s: userinfo sub differs from the ID token's", oauthlogin.ErrProfileUnavailable, p.name)
	}
	return merge(profile, info), nil
}

// sid reads the ID token's sid claim (OpenID Connect Front-Channel and
// Back-Channel Logout 1.0 §2.1 / §3): the provider session a back-channel

// merge fills the ID token's profile with what userinfo adds or updates;
// Raw becomes the userinfo document.
func merge(id, info *oauthlogin.Profile) *oauthlogin.Profile {
	out := *id
	if info.Email != "" {
		out.Email, out.EmailVerified = info.Email, info.EmailVerified
	}
	for _, f := range []struct {
		dst *string
		src string
	}{
		{&out.Name, info.Name}, {&out.Username, info.Username}, {&out.AvatarURL, info.AvatarURL},
	} {
		if f.src != "" {
			*f.dst = f.src
		}
	}
	out.Raw = info.Raw
	return &out
}

// VerifyRefreshIDToken implements oauthlogin.OpenIDProvider: an ID token
// from a refresh must verify like any other, without a nonce, and name the
// same subject (OpenID Connect Core §12.2; iss and aud are checked by
// VerifyIDToken).
func (p *OIDCProvider) VerifyRefreshIDToken(ctx context.Context, raw, subject string) error {
	idt, c, err := p.verifyIDToken(ctx, raw, "")
	if err != nil {
		return err
	}
	// The subject is compared as the identity holds it: through the
	// provider's claims mapping (Microsoft's "{tid}:{oid}", not sub).
	profile, err := p.idProfile(idt, c)
	if err != nil {
		return fmt.Errorf("%w: %w", oauthlogin.ErrInvalidIDToken, err)
	}
	if profile.Subject != subject {
		return fmt.Errorf("%w: the refreshed ID token is for another subject", oauthlogin.ErrInvalidIDToken)
	}
	return nil
}

// VerifyIDToken validates a raw ID token for this client. When nonce is not
// empty the token's nonce must equal it. Errors wrap oauthlogin.ErrInvalidIDToken.
func (p *OIDCProvider) VerifyIDToken(ctx context.Context, raw, nonce string) (*oidc.IDToken, error) {
	idt, _, err := p.verifyIDToken(ctx, raw, nonce)
	return idt, err
}

// idClaims is what a login reads from a verified ID token beyond go-oidc's
// IDToken, decoded from its claims once: azp, the time claims as sent,
// acr and sid, and the standard profile claims.
type idClaims struct {
	Azp string `json:"azp"`
	numericDates
	ACR claimStrictString `json:"acr"`
	SID claimStrictString `json:"sid"`
	standardFields
}

// verifyIDToken is VerifyIDToken, returning the claims it decoded.
func (p *OIDCProvider) verifyIDToken(ctx context.Context, raw, nonce string) (*oidc.IDToken, *idClaims, error) {
	if err := checkCompactJWT(raw); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", oauthlogin.ErrInvalidIDToken, err)
	}
	idt, err := p.verifier.Verify(ctx, raw)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", oauthlogin.ErrInvalidIDToken, err)
	}
	c := new(idClaims)
	if err := idt.Claims(c); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", oauthlogin.ErrInvalidIDToken, err)
	}
	if err := c.check(); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", oauthlogin.ErrInvalidIDToken, err)
	}
	if p.checkIssuer != nil {
		var raw json.RawMessage
		if err := idt.Claims(&raw); err != nil {
			return nil, nil, fmt.Errorf("%w: %w", oauthlogin.ErrInvalidIDToken, err)
		}
		if err := p.checkIssuer(idt.Issuer, raw); err != nil {
			return nil, nil, fmt.Errorf("%w: %w", oauthlogin.ErrInvalidIDToken, err)
		}
	}
	switch {
	case idt.Subject == "":
		return nil, nil, fmt.Errorf("%w: no sub", oauthlogin.ErrInvalidIDToken)
	case len(c.Iat) == 0 || string(c.Iat) == "null":
		return nil, nil, fmt.Errorf("%w: no iat", oauthlogin.ErrInvalidIDToken)
	case idt.IssuedAt.After(p.now().Add(iatLeeway)):
		return nil, nil, fmt.Errorf("%w: iat is in the future", oauthlogin.ErrInvalidIDToken)
	}
	for _, aud := range idt.Audience {
		if aud != p.oauth.ClientID && !slices.Contains(p.trusted, aud) {
			return nil, nil, fmt.Errorf("%w: untrusted audience %q", oauthlogin.ErrInvalidIDToken, aud)
		}
	}
	if (len(idt.Audience) > 1 || c.Azp != "") && c.Azp != p.oauth.ClientID {
		return nil, nil, fmt.Errorf("%w: azp is not this client", oauthlogin.ErrInvalidIDToken)
	}
	if nonce != "" && subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		return nil, nil, fmt.Errorf("%w: nonce mismatch", oauthlogin.ErrInvalidIDToken)
	}
	return idt, c, nil
}

// idProfile maps a verified ID token's claims through the provider's
// mapping: the standard claims from c, decoded already; any other mapping
// from the raw claims, which become the Profile's Raw. A standard
// profile's Raw is left nil, for the caller to fill when it keeps it.
func (p *OIDCProvider) idProfile(idt *oidc.IDToken, c *idClaims) (*oauthlogin.Profile, error) {
	if f, ok := p.claims.(Fields); ok && f == StandardClaims() {
		return c.profile(nil)
	}
	var claims json.RawMessage
	if err := idt.Claims(&claims); err != nil {
		return nil, err
	}
	return p.claims.Profile(claims)
}
