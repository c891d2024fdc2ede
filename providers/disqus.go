package providers

import (
	"net/http"

	"golang.org/x/oauth2"
)

// Disqus returns Disqus. Default scopes: read and email, which Disqus
// wants comma-separated, so they are one scope string. Disqus's API takes
// no Authorization header: the access token, the API key (client id) and
// secret go in the query of /api/3.0/users/details.json. Disqus does not
// say whether the address is verified.
func Disqus(cfg Config) (*OAuth2Provider, error) {
	if err := refuseClientAuth("disqus", cfg, "its API takes the client secret in every request"); err != nil {
		return nil, err
	}
	p, err := OAuth2("disqus", Spec{
		Endpoint: oauth2.Endpoint{
			AuthURL:   "https://disqus.com/api/oauth/2.0/authorize/",
			TokenURL:  "https://disqus.com/api/oauth/2.0/access_token/",
			AuthStyle: oauth2.AuthStyleInParams,
		},
		UserInfoURL: "https://disqus.com/api/3.0/users/details.json",
		Scopes:      []string{"read,email"},
		Profile: Fields{Subject: "response.id", Email: "response.email", Name: "response.name",
			Username: "response.username", AvatarURL: "response.avatar.permalink"},
	}, cfg)
	if err != nil {
		return nil, err
	}
	key, secret := cfg.ClientID, cfg.ClientSecret
	p.sign = func(req *http.Request, accessToken string) {
		req.Header.Del("Authorization")
		q := req.URL.Query()
		q.Set("access_token", accessToken)
		q.Set("api_key", key)
		if secret != "" {
			q.Set("api_secret", secret)
		}
		req.URL.RawQuery = q.Encode()
	}
	return p, nil
}
