package providers

import (
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/oauthlogin/oauthlogin"
)

// loginFacts fills p's AuthTime, ACR and SID from the verified ID token's
// claims, decoded once: auth_time and acr (OpenID Connect Core §2), which
// the Manager checks against a login's max_age and acr_values, and sid
// (Back-Channel Logout 1.0 §2.1), which a logout token may name.
// auth_time was checked to be a NumericDate by VerifyIDToken; acr and sid
// must be strings.
func loginFacts(claims []byte, p *oauthlogin.Profile) error {
	var c struct {
		AuthTime *float64 `json:"auth_time"`
		ACR      *string  `json:"acr"`
		SID      *string  `json:"sid"`
	}
	if err := json.Unmarshal(claims, &c); err != nil {
		return fmt.Errorf("%w: auth_time, acr or sid: %w", oauthlogin.ErrInvalidIDToken, err)
	}
	if c.AuthTime != nil {
		sec, frac := math.Modf(*c.AuthTime)
		p.AuthTime = time.Unix(int64(sec), int64(frac*1e9))
	}
	if c.ACR != nil {
		p.ACR = *c.ACR
	}
	if c.SID != nil {
		p.SID = *c.SID
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
