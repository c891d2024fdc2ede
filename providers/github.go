package providers

import (
	"net/http"

	"golang.org/x/oauth2"
)

// gitHubAPIVersion is the REST API version every GitHub request names
// (X-GitHub-Api-Version), so that GitHub's answers keep the shape mapped
// here. 2026-03-10 is newer but is GitHub's first version with breaking
// changes; GitHub supports 2022-11-28 for at least 24 months from March
// 2026 (https://github.blog/changelog/2026-03-12-rest-api-version-2026-03-10-is-now-available),
// so moving on waits for a review of those changes against /user and
// /user/emails.
const gitHubAPIVersion = "2022-11-28"

// GitHub returns GitHub (OAuth apps and GitHub apps). Default scopes:
// read:user, user:email.
//
// The subject is the numeric user id, as a decimal string. /user shows
// only a public address and never says whether it is verified, so the
// address comes from /user/emails: the primary one when it is verified
// (see EmailList); without the user:email scope the public address is
// kept, unverified. Every request sends Accept:
// application/vnd.github+json and X-GitHub-Api-Version.
//
// GitHub supports PKCE (the Manager always sends S256) and the device
// flow; its token revocation is not RFC 7009, so the provider has none.
func GitHub(cfg Config) (*OAuth2Provider, error) {
	header := http.Header{}
	header.Set("Accept", "application/vnd.github+json")
	header.Set("X-GitHub-Api-Version", gitHubAPIVersion)
	return OAuth2("github", Spec{
		Endpoint: oauth2.Endpoint{
			AuthURL:  "https://github.com/login/oauth/authorize",
			TokenURL: "https://github.com/login/oauth/access_token",
			// The device flow (RFC 8628): GitHub answers its polls with
			// HTTP 200 and an error member, which the Manager reads first.
			DeviceAuthURL: "https://github.com/login/device/code",
		},
		UserInfoURL:    "https://api.github.com/user",
		UserInfoHeader: header,
		Scopes:         []string{"read:user", "user:email"},
		Profile:        Fields{Subject: "id", Email: "email", Name: "name", Username: "login", AvatarURL: "avatar_url"},
		Emails: &EmailList{
			URL:     "https://api.github.com/user/emails",
			Email:   "email",
			Primary: "primary", Verified: "verified",
		},
	}, cfg)
}
