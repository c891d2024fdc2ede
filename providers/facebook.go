package providers

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"

	"golang.org/x/oauth2"
)

// facebookGraphVersion is the one place the Graph API version is pinned:
// the login dialog, the token endpoint and the user document all use it.
// v26.0 (July 2026) is the latest listed at
// https://developers.facebook.com/docs/graph-api/changelog; each version
// stays available for about two years.
const facebookGraphVersion = "v26.0"

// Facebook returns Facebook Login. Default scopes: email, public_profile.
//
// The profile is /me?fields=id,name,email,picture on the Graph API
// version pinned in this package. Every Graph request carries
// appsecret_proof, the hex HMAC-SHA256 of the access token keyed by the
// app secret, so that apps that require it (Settings > Advanced) work.
// Facebook sends an address only when the user has one, and does not say
// that it is verified: the Profile never claims it is.
func Facebook(cfg Config) (*OAuth2Provider, error) {
	graph := "https://graph.facebook.com/" + facebookGraphVersion
	p, err := OAuth2("facebook", Spec{
		Endpoint: oauth2.Endpoint{
			AuthURL:   "https://www.facebook.com/" + facebookGraphVersion + "/dialog/oauth",
			TokenURL:  graph + "/oauth/access_token",
			AuthStyle: oauth2.AuthStyleInParams,
		},
		UserInfoURL: graph + "/me?fields=id,name,email,picture",
		Scopes:      []string{"email", "public_profile"},
		Profile:     Fields{Subject: "id", Email: "email", Name: "name", AvatarURL: "picture.data.url"},
	}, cfg)
	if err != nil {
		return nil, err
	}
	secret := cfg.ClientSecret
	p.sign = func(req *http.Request, accessToken string) {
		q := req.URL.Query()
		q.Set("appsecret_proof", appSecretProof(secret, accessToken))
		req.URL.RawQuery = q.Encode()
	}
	return p, nil
}

// appSecretProof is Facebook's appsecret_proof: hex(HMAC-SHA256(key: app
// secret, message: access token)).
func appSecretProof(secret, accessToken string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(accessToken))
	return hex.EncodeToString(m.Sum(nil))
}
