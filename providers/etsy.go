package providers

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"

	"golang.org/x/oauth2"

	"github.com/oauthlogin/oauthlogin"
)

// etsyAPI is the root of Etsy's Open API v3 application endpoints.
const etsyAPI = "https://api.etsy.com/v3/application"

// Etsy returns Etsy (Open API v3). Default scopes: email_r, profile_r.
//
// Etsy requires PKCE; the Manager always sends S256. Every API request
// carries x-api-key, the app's keystring and shared secret joined by a
// colon (the client id and secret). The user is read in two steps:
// /users/me gives the user id, /users/{user_id} the profile with
// primary_email, which Etsy does not say is verified.
func Etsy(cfg Config) (*OAuth2Provider, error) {
	if err := refuseClientAuth("etsy", cfg, "its API takes the client secret in every request"); err != nil {
		return nil, err
	}
	p, err := OAuth2("etsy", Spec{
		Endpoint: oauth2.Endpoint{
			AuthURL:   "https://www.etsy.com/oauth/connect",
			TokenURL:  "https://api.etsy.com/v3/public/oauth/token",
			AuthStyle: oauth2.AuthStyleInParams,
		},
		UserInfoURL: etsyAPI + "/users/me",
		Scopes:      []string{"email_r", "profile_r"},
		Profile: fieldsThen(Fields{Subject: "user_id", Email: "primary_email", AvatarURL: "image_url_75x75"},
			func(doc map[string]any, p *oauthlogin.Profile) {
				p.Name = joinName(str(doc["first_name"]), str(doc["last_name"]))
			}),
	}, cfg)
	if err != nil {
		return nil, err
	}
	apiKey := cfg.ClientID
	if cfg.ClientSecret != "" {
		apiKey += ":" + cfg.ClientSecret
	}
	p.sign = func(req *http.Request, _ string) { req.Header.Set("x-api-key", apiKey) }
	p.identify = etsyIdentify
	return p, nil
}

func etsyIdentify(ctx context.Context, p *OAuth2Provider, tok *oauth2.Token) (*oauthlogin.Profile, error) {
	body, err := p.fetch(ctx, http.MethodGet, p.userInfoURL, tok.AccessToken)
	if err != nil {
		return nil, err
	}
	var me struct {
		UserID json.Number `json:"user_id"`
	}
	if err := json.Unmarshal(body, &me); err != nil {
		return nil, err
	}
	if me.UserID == "" {
		return nil, errors.New("providers: etsy: /users/me has no user_id")
	}
	body, err = p.fetch(ctx, http.MethodGet, etsyAPI+"/users/"+url.PathEscape(me.UserID.String()), tok.AccessToken)
	if err != nil {
		return nil, err
	}
	profile, err := p.profile.Profile(body)
	if err != nil {
		return nil, err
	}
	if profile.Subject != me.UserID.String() {
		return nil, errors.New("providers: etsy: the user document is for another user")
	}
	return profile, nil
}
