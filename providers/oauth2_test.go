package providers_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"testing"

	"golang.org/x/oauth2"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/internal/testapp"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
	"github.com/oauthlogin/oauthlogin/providers"
)

func TestOAuth2SpecValidation(t *testing.T) {
	valid := providers.Spec{
		Endpoint:    oauth2.Endpoint{AuthURL: "https://idp.example/authorize", TokenURL: "https://idp.example/token"},
		UserInfoURL: "https://idp.example/user",
	}
	cfg := providers.Config{ClientID: "client"}
	if _, err := providers.OAuth2("ok", valid, cfg); err != nil {
		t.Fatalf("OAuth2 with a valid spec: %v", err)
	}
	tests := map[string]struct {
		edit func(*providers.Spec, *providers.Config)
	}{
		"NoAuthURL":     {func(s *providers.Spec, _ *providers.Config) { s.Endpoint.AuthURL = "" }},
		"NoTokenURL":    {func(s *providers.Spec, _ *providers.Config) { s.Endpoint.TokenURL = "" }},
		"NoUserInfoURL": {func(s *providers.Spec, _ *providers.Config) { s.UserInfoURL = "" }},
		"NoEndpoint":    {func(s *providers.Spec, _ *providers.Config) { s.Endpoint = oauth2.Endpoint{} }},
		"NoClientID":    {func(_ *providers.Spec, c *providers.Config) { c.ClientID = "" }},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			s, c := valid, cfg
			tt.edit(&s, &c)
			p, err := providers.OAuth2("bad", s, c)
			if !errors.Is(err, oauthlogin.ErrConfig) || p != nil {
				t.Errorf("OAuth2 = %v, %v; want ErrConfig", p, err)
			}
		})
	}
}

func TestOAuth2Config(t *testing.T) {
	spec := providers.Spec{
		Endpoint:    oauth2.Endpoint{AuthURL: "https://idp.example/authorize", TokenURL: "https://idp.example/token"},
		UserInfoURL: "https://idp.example/user",
		Scopes:      []string{"read:user", "user:email"},
	}
	p, err := providers.OAuth2("gh", spec, providers.Config{ClientID: "id", ClientSecret: "secret"})
	if err != nil {
		t.Fatal(err)
	}
	cfg := p.OAuth2Config()
	if p.Name() != "gh" || cfg.ClientID != "id" || cfg.ClientSecret != "secret" ||
		cfg.Endpoint.AuthURL != spec.Endpoint.AuthURL || cfg.Endpoint.TokenURL != spec.Endpoint.TokenURL {
		t.Errorf("OAuth2Config = %+v", cfg)
	}
	if !slices.Equal(cfg.Scopes, spec.Scopes) {
		t.Errorf("Scopes = %v, want the spec's %v", cfg.Scopes, spec.Scopes)
	}
	// Without a style from the spec or the config: HTTP Basic.
	if cfg.Endpoint.AuthStyle != oauth2.AuthStyleInHeader {
		t.Errorf("AuthStyle = %v, want AuthStyleInHeader", cfg.Endpoint.AuthStyle)
	}

	spec.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	p, err = providers.OAuth2("gh", spec, providers.Config{ClientID: "id", Scopes: []string{"repo"}})
	if err != nil {
		t.Fatal(err)
	}
	cfg = p.OAuth2Config()
	if cfg.Endpoint.AuthStyle != oauth2.AuthStyleInParams {
		t.Errorf("AuthStyle = %v, want the spec's AuthStyleInParams", cfg.Endpoint.AuthStyle)
	}
	if !slices.Equal(cfg.Scopes, []string{"repo"}) {
		t.Errorf("Scopes = %v, want Config.Scopes", cfg.Scopes)
	}

	p, err = providers.OAuth2("gh", spec, providers.Config{ClientID: "id", AuthStyle: oauth2.AuthStyleInHeader})
	if err != nil {
		t.Fatal(err)
	}
	if got := p.OAuth2Config().Endpoint.AuthStyle; got != oauth2.AuthStyleInHeader {
		t.Errorf("AuthStyle = %v, want Config's AuthStyleInHeader over the spec's", got)
	}
}

func TestOAuth2IdentifyDefaultMapper(t *testing.T) {
	idp := testapp.NewIdP(t)
	p := newOAuth2(t, idp, providers.Spec{})
	tok := login(t, p, "")
	if _, ok := tok.Extra("id_token").(string); ok {
		t.Fatal("the fake issued an ID token without the openid scope")
	}
	got, err := p.Identify(t.Context(), tok, "")
	if err != nil {
		t.Fatal(err)
	}
	want := oauthlogin.Profile{
		Subject:       "user-1",
		Email:         "ada@example.com",
		EmailVerified: true,
		Name:          "Ada Lovelace",
		Username:      "ada",
		AvatarURL:     "https://example.com/ada.png",
	}
	if !equalProfile(*got, want) {
		t.Errorf("Identify = %+v, want %+v", *got, want)
	}
	var doc map[string]any
	if err := json.Unmarshal(got.Raw, &doc); err != nil || doc["sub"] != "user-1" || doc["name"] != "Ada Lovelace" {
		t.Errorf("Raw = %s (%v), want the userinfo document", got.Raw, err)
	}
	// The nonce means nothing to a plain OAuth 2.0 provider.
	if _, err := p.Identify(t.Context(), tok, "any-nonce"); err != nil {
		t.Errorf("Identify with a nonce: %v", err)
	}
}

func TestOAuth2IdentifyFields(t *testing.T) {
	idp := testapp.NewIdP(t)
	p := newOAuth2(t, idp, providers.Spec{Profile: providers.Fields{
		Subject:  "preferred_username",
		Email:    "email",
		Name:     "picture",
		Username: "sub",
	}})
	got, err := p.Identify(t.Context(), login(t, p, ""), "")
	if err != nil {
		t.Fatal(err)
	}
	want := oauthlogin.Profile{Subject: "ada", Email: "ada@example.com", Name: "https://example.com/ada.png", Username: "user-1"}
	if !equalProfile(*got, want) {
		t.Errorf("Identify = %+v, want %+v", *got, want)
	}

	// A mapping that finds no subject is a profile error.
	p = newOAuth2(t, idp, providers.Spec{Profile: providers.Fields{Subject: "id"}})
	if _, err := p.Identify(t.Context(), login(t, p, ""), ""); !errors.Is(err, oauthlogin.ErrProfileUnavailable) {
		t.Errorf("Identify with no id in the document: %v, want ErrProfileUnavailable", err)
	}
}

func TestOAuth2IdentifyProfileFunc(t *testing.T) {
	idp := testapp.NewIdP(t)
	var calls int
	p := newOAuth2(t, idp, providers.Spec{Profile: providers.ProfileFunc(func(raw []byte) (*oauthlogin.Profile, error) {
		calls++
		var doc struct {
			Sub   string `json:"sub"`
			Email string `json:"email"`
		}
		if err := json.Unmarshal(raw, &doc); err != nil {
			return nil, err
		}
		return &oauthlogin.Profile{Subject: "custom:" + doc.Sub, Email: doc.Email, Raw: raw}, nil
	})})
	got, err := p.Identify(t.Context(), login(t, p, ""), "")
	if err != nil {
		t.Fatal(err)
	}
	if calls != 1 || got.Subject != "custom:user-1" || got.Email != "ada@example.com" || got.Name != "" {
		t.Errorf("Identify = %+v after %d calls, want the ProfileFunc's profile", got, calls)
	}

	errMapper := errors.New("unusable document")
	p = newOAuth2(t, idp, providers.Spec{Profile: providers.ProfileFunc(func([]byte) (*oauthlogin.Profile, error) {
		return nil, errMapper
	})})
	_, err = p.Identify(t.Context(), login(t, p, ""), "")
	if !errors.Is(err, oauthlogin.ErrProfileUnavailable) || !errors.Is(err, errMapper) {
		t.Errorf("Identify with a failing ProfileFunc: %v, want ErrProfileUnavailable wrapping the func's error", err)
	}
}

func TestOAuth2IdentifyUserInfoFailure(t *testing.T) {
	for _, status := range []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusInternalServerError, http.StatusServiceUnavailable} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			idp := testapp.NewIdP(t)
			p := newOAuth2(t, idp, providers.Spec{})
			tok := login(t, p, "")
			idp.Behave(oauthlogintest.Behavior{UserInfoStatus: status})
			if _, err := p.Identify(t.Context(), tok, ""); !errors.Is(err, oauthlogin.ErrProfileUnavailable) {
				t.Errorf("Identify with userinfo %d: %v, want ErrProfileUnavailable", status, err)
			}
		})
	}
}

func TestOAuth2IdentifyBadToken(t *testing.T) {
	idp := testapp.NewIdP(t)
	p := newOAuth2(t, idp, providers.Spec{})
	_, err := p.Identify(t.Context(), &oauth2.Token{AccessToken: "not-a-token"}, "")
	if !errors.Is(err, oauthlogin.ErrProfileUnavailable) {
		t.Errorf("Identify with an unknown access token: %v, want ErrProfileUnavailable", err)
	}
	if n := idp.Hits("userinfo"); n != 1 {
		t.Errorf("userinfo hits = %d, want 1", n)
	}
}

func TestOAuth2IdentifyUnreachable(t *testing.T) {
	idp := oauthlogintest.NewServer()
	p := newOAuth2(t, idp, providers.Spec{})
	tok := login(t, p, "")
	idp.Close()
	if _, err := p.Identify(t.Context(), tok, ""); !errors.Is(err, oauthlogin.ErrProfileUnavailable) {
		t.Errorf("Identify with the provider gone: %v, want ErrProfileUnavailable", err)
	}
}
