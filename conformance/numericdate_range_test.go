package conformance_test

import (
	"encoding/json"
	"testing"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
)

// TestNumericDateOverflow: a hostile provider signs an ID token whose iat is
// a NumericDate so large that go-oidc's time.Unix conversion overflows
// (2^63-1 wraps int64 when time adds its epoch offset; 1e300 goes through
// int64(float) and lands on MinInt64): IssuedAt becomes a date far in the
// past and the "iat in the future" check passes. SECURITY.md claims "`iat`
// present and not beyond a 5-minute leeway" (TestOpenIDRP/
// IatFutureBeyondLeeway); OpenID Connect Core §3.1.3.7 step 10 and RFC 7519
// §2 (NumericDate) make such an iat far beyond any leeway. The same
// overflow turns a huge nbf into the past, so nbf (RFC 7519 §4.1.5) stops
// nothing. Each case must be refused with id_token_invalid.
func TestNumericDateOverflow(t *testing.T) {
	runBadTokens(t, []badToken{
		{"IatMaxInt64", oauthlogintest.Behavior{Claims: map[string]any{"iat": json.RawMessage("9223372036854775807")}}, oauthlogin.ErrInvalidIDToken.Code()},
		{"Iat1e300", oauthlogintest.Behavior{Claims: map[string]any{"iat": json.RawMessage("1e300")}}, oauthlogin.ErrInvalidIDToken.Code()},
		{"NbfMaxInt64", oauthlogintest.Behavior{Claims: map[string]any{"nbf": json.RawMessage("9223372036854775807")}}, oauthlogin.ErrInvalidIDToken.Code()},
	})
}
