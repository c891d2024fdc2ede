package providers

import (
	"context"
	"fmt"

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
}

// OAuth2Provider is a plain OAuth 2.0 provider: no ID token, the profile
// comes from the user info endpoint. Create one with OAuth2.
type OAuth2Provider struct {
	base
	userInfoURL string
	profile     ProfileMapper
}

// OAuth2 returns a provider described by spec with the app's cfg.
func OAuth2(name string, spec Spec, cfg Config) (*OAuth2Provider, error) {
	if spec.Endpoint.AuthURL == "" || spec.Endpoint.TokenURL == "" || spec.UserInfoURL == "" {
		return nil, fmt.Errorf("providers: %s: %w: Spec needs AuthURL, TokenURL and UserInfoURL", name, oauthlogin.ErrConfig)
	}
	b, err := newBase(name, cfg, spec.Endpoint, spec.Scopes, spec.RevocationURL)
	if err != nil {
		return nil, err
	}
	mapper := spec.Profile
	if mapper == nil {
		mapper = StandardClaims()
	}
	return &OAuth2Provider{base: b, userInfoURL: spec.UserInfoURL, profile: mapper}, nil
}

// Identify implements oauthlogin.Provider: it reads the user info endpoint
// with the access token. nonce is unused: plain OAuth 2.0 has no ID token.
func (p *OAuth2Provider) Identify(ctx context.Context, tok *oauth2.Token, nonce string) (*oauthlogin.Profile, error) {
	body, err := p.getJSON(ctx, p.userInfoURL, tok.AccessToken)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", oauthlogin.ErrProfile, p.name, err)
	}
	profile, err := p.profile.Profile(body)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", oauthlogin.ErrProfile, p.name, err)
	}
	return profile, nil
}
