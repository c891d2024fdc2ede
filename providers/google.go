package providers

import (
	"context"
	"net/url"

	"github.com/oauthlogin/oauthlogin"
)

// Google returns Sign in with Google (OpenID Connect,
// https://accounts.google.com). Default scopes: openid, email, profile.
//
// The profile comes from the verified ID token alone, which carries
// email, email_verified, name, picture and, for Google Workspace accounts,
// hd: no userinfo request is made, and Profile.Raw is the ID token's
// claims (read hd with GoogleHostedDomain).
//
// Google issues a refresh token only when asked with access_type=offline,
// and again after the first consent only with prompt=consent; both are
// sent when Config.OfflineAccess is set, and only then, so that other
// logins are not made to consent again.
func Google(ctx context.Context, cfg Config) (*OIDCProvider, error) {
	return newOIDC(ctx, "google", "https://accounts.google.com", cfg, oidcOptions{
		offlineParams: url.Values{"access_type": {"offline"}, "prompt": {"consent"}},
		noUserInfo:    true,
	})
}

// GoogleHostedDomain returns the hd claim of a Google profile: the Google
// Workspace domain of the account, or "" for a personal account. It is
// read from the verified ID token, so a host may use it for a domain
// allowlist. Check it, not the address's domain: a Workspace user's
// address may be at another domain.
func GoogleHostedDomain(p *oauthlogin.Profile) string {
	hd, _ := Claim(p, "hd").(string)
	return hd
}
