package providers

import (
	"slices"

	"golang.org/x/oauth2"

	"github.com/oauthlogin/oauthlogin"
)

// X returns X (Twitter) with OAuth 2.0. Default scopes: tweet.read,
// users.read, which GET /2/users/me needs; Config.OfflineAccess adds
// offline.access for a refresh token.
//
// X requires PKCE; the Manager always sends S256, so nothing is needed
// here. X gives no e-mail address unless the app may ask for it and the
// users.email scope is in Config.Scopes or Config.AllowedScopes: the user
// document then asks for confirmed_email, which X fills only with an
// address the user confirmed, so an address from it is verified. Without
// the scope the Profile has no address.
//
// confirmed_email is a documented user field of GET /2/users/me
// (https://docs.x.com/x-api/users/user-lookup-me); the users.email scope
// name could not be found in X's documentation here and is kept as it was.
func X(cfg Config) (*OAuth2Provider, error) {
	fields := "profile_image_url"
	if slices.Contains(cfg.Scopes, "users.email") || slices.Contains(cfg.AllowedScopes, "users.email") {
		fields += ",confirmed_email"
	}
	return OAuth2("x", Spec{
		Endpoint: oauth2.Endpoint{
			AuthURL:  "https://x.com/i/oauth2/authorize",
			TokenURL: "https://api.x.com/2/oauth2/token",
		},
		UserInfoURL:   "https://api.x.com/2/users/me?user.fields=" + fields,
		RevocationURL: "https://api.x.com/2/oauth2/revoke",
		Scopes:        []string{"tweet.read", "users.read"},
		OfflineScopes: []string{"offline.access"},
		Profile: fieldsThen(Fields{Subject: "data.id", Email: "data.confirmed_email", Name: "data.name",
			Username: "data.username", AvatarURL: "data.profile_image_url"},
			func(_ map[string]any, p *oauthlogin.Profile) { p.EmailVerified = p.Email != "" }),
	}, cfg)
}
