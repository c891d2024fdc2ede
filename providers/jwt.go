package providers

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Bounds checked before an ID token is parsed or its signature verified.
const (
	maxIDToken    = 32 << 10 // bytes of the compact token
	maxJOSEHeader = 4 << 10  // bytes of its decoded JOSE header
)

// checkCompactJWT refuses, before any parsing, a token that is not a
// compact JWS (three dot-separated parts: a JWT is always in the compact
// serialization, RFC 7519 §1 and §7.2), that is longer than maxIDToken or
// whose JOSE header decodes to more than maxJOSEHeader.
func checkCompactJWT(raw string) error {
	if len(raw) > maxIDToken {
		return fmt.Errorf("the token is longer than %d bytes", maxIDToken)
	}
	header, rest, ok := strings.Cut(raw, ".")
	if !ok || strings.Count(rest, ".") != 1 {
		return errors.New("the token is not a compact JWS")
	}
	if base64.RawURLEncoding.DecodedLen(len(header)) > maxJOSEHeader {
		return fmt.Errorf("the token's JOSE header is longer than %d bytes", maxJOSEHeader)
	}
	return nil
}

// numericDates holds a JWT's time claims as sent. RFC 7519 §2 defines a
// NumericDate as a JSON numeric value: a string ("1700000000"), boolean,
// array, object or null is refused, even where a lenient parser (go-oidc's)
// would read a number from it. Decode a token's claims into a struct that
// embeds it, then call check: ID tokens (at login and refresh) do, and so
// will logout tokens.
type numericDates struct {
	Exp      json.RawMessage `json:"exp"`
	Iat      json.RawMessage `json:"iat"`
	Nbf      json.RawMessage `json:"nbf"`
	AuthTime json.RawMessage `json:"auth_time"`
}

// maxNumericDate is the latest time claim accepted: the last second of
// the year 9999. Beyond it, a conversion to time.Time wraps around (a huge
// iat or nbf would read as the distant past and pass its check).
const maxNumericDate = 253402300799

// check returns an error naming the first time claim present that is not a
// JSON number, or not a date between 1970 and the year 9999.
func (d *numericDates) check() error {
	for _, c := range [...]struct {
		name string
		v    json.RawMessage
	}{{"exp", d.Exp}, {"iat", d.Iat}, {"nbf", d.Nbf}, {"auth_time", d.AuthTime}} {
		if c.v == nil {
			continue
		}
		if !isJSONNumber(c.v) {
			return fmt.Errorf("%s is not a NumericDate (a JSON number)", c.name)
		}
		if f, err := strconv.ParseFloat(string(c.v), 64); err != nil || f < 0 || f > maxNumericDate {
			return fmt.Errorf("%s is not a date between 1970 and 9999", c.name)
		}
	}
	return nil
}

// isJSONNumber tells whether v, a valid JSON value, is a number: JSON
// numbers, and only they, start with a digit or a minus sign (RFC 8259 §6).
func isJSONNumber(v json.RawMessage) bool {
	return len(v) > 0 && (v[0] == '-' || (v[0] >= '0' && v[0] <= '9'))
}
