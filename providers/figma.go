package providers

import "golang.org/x/oauth2"

// Figma returns Figma. Default scope: current_user:read. Figma redeems
// refresh tokens at its own endpoint, /v1/oauth/refresh, not at the token
// endpoint, and its answer carries no new refresh token (the one spent stays
// valid and is kept). /v1/me has no verification flag, so the address is
// not asserted verified. The token URL is the one Figma moved to from
// www.figma.com/api/oauth/token in February 2025.
func Figma(cfg Config) (*OAuth2Provider, error) {
	if err := refuseClientAuth("figma", cfg, "its refresh endpoint is its own, where no assertion goes"); err != nil {
		return nil, err
	}
	p, err := OAuth2("figma", Spec{
		Endpoint: oauth2.Endpoint{
			AuthURL:  "https://www.figma.com/oauth",
			TokenURL: "https://api.figma.com/v1/oauth/token",
		},
		UserInfoURL: "https://api.figma.com/v1/me",
		Scopes:      []string{"current_user:read"},
		Profile:     Fields{Subject: "id", Email: "email", Name: "handle", Username: "handle", AvatarURL: "img_url"},
	}, cfg)
	if err != nil {
		return nil, err
	}
	p.refreshURL = "https://api.figma.com/v1/oauth/refresh"
	return p, nil
}
