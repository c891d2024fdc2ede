package providers

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/oauthlogin/oauthlogin"
)

// loginFacts fills p's AuthTime, ACR and SID from the verified ID token's
// claims: auth_time and acr (OpenID Connect Core §2), which the Manager
// checks against a login's max_age and acr_values, and sid (Back-Channel
// Logout 1.0 §2.1), which a logout token may name. auth_time was checked
// to be a NumericDate by verifyIDToken; acr and sid must be strings.
func (c *idClaims) loginFacts(p *oauthlogin.Profile) error {
	if c.ACR.bad || c.SID.bad {
		return fmt.Errorf("%w: acr or sid is not a string", oauthlogin.ErrInvalidIDToken)
	}
	if c.AuthTime != nil { // a JSON number: check refused any other
		f, err := strconv.ParseFloat(string(c.AuthTime), 64)
		if err != nil {
			return fmt.Errorf("%w: auth_time: %w", oauthlogin.ErrInvalidIDToken, err)
		}
		sec, frac := math.Modf(f)
		p.AuthTime = time.Unix(int64(sec), int64(frac*1e9))
	}
	if c.ACR.set {
		p.ACR = c.ACR.v
	}
	if c.SID.set {
		p.SID = c.SID.v
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
