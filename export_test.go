package oauthlogin

import (
	"net/url"
	"time"
)

// SetClock sets the Manager's clock, for the package's external tests. It
// must be set before the Manager serves a request.
func SetClock(m *Manager, now func() time.Time) { m.now = now }

// RefreshReuse is refreshReuse, for the external tests.
const RefreshReuse = refreshReuse

// NormalizeEmailForTest is normalizeEmail, for the external tests.
var NormalizeEmailForTest = normalizeEmail

// DPoPProof signs a DPoP proof for a request by a new key, as an attacker
// with a key of its own would, for the external tests.
func DPoPProof(method, rawURL, accessToken string) (string, error) {
	key, err := newDPoPKey()
	if err != nil {
		return "", err
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", err
	}
	return key.proof(method, u, accessToken, "", time.Now())
}
