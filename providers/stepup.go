package providers

import (
	"fmt"
	"math"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/oauthlogin/oauthlogin"
)

// loginFacts fills p's AuthTime and ACR from the verified ID token's
// auth_time and acr claims (OpenID Connect Core §2), which the Manager
// checks against a login's max_age and acr_values. auth_time was checked
// to be a NumericDate by VerifyIDToken; acr must be a string.
func loginFacts(idt *oidc.IDToken, p *oauthlogin.Profile) error {
	var c struct {
		AuthTime *float64 `json:"auth_time"`
		ACR      *string  `json:"acr"`
	}
	if err := idt.Claims(&c); err != nil {
		return fmt.Errorf("%w: auth_time or acr: %w", oauthlogin.ErrInvalidIDToken, err)
	}
	if c.AuthTime != nil {
		sec, frac := math.Modf(*c.AuthTime)
		p.AuthTime = time.Unix(int64(sec), int64(frac*1e9))
	}
	if c.ACR != nil {
		p.ACR = *c.ACR
	}
	return nil
}

// pushedAuthorization tells whether an OpenID provider's begins push
// their requests: when the host asks (Config.PushAuthorizationRequests) or
// discovery requires it (RFC 9126 §5). Either needs the endpoint.
func pushedAuthorization(name string, cfg Config, d discovery) (bool, error) {
	push := cfg.PushAuthorizationRequests || d.RequirePush
	if push && d.PushEndpoint == "" {
		return false, fmt.Errorf("providers: %s: %w: pushed authorization requests are asked for, and discovery names no pushed_authorization_request_endpoint", name, oauthlogin.ErrConfig)
	}
	return push, nil
}

// PushedAuthorization implements oauthlogin.AuthorizationPusher: the
// provider's pushed authorization request endpoint from discovery ("" for
// none), and whether begins push their requests there.
func (p *OIDCProvider) PushedAuthorization() (endpoint string, push bool) {
	return p.pushURL, p.push
}
