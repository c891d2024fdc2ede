package providers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/oauthlogin/oauthlogin"
)

// backChannelLogoutEvent is the member of a logout token's events claim
// that makes it one (OpenID Connect Back-Channel Logout 1.0 §2.4).
const backChannelLogoutEvent = "http://schemas.openid.net/event/backchannel-logout"

// Logout token time checks (Back-Channel Logout 1.0 §2.6, step 5: "the
// iat Claim can be used to reject tokens that were issued too far away
// from the current time"). A logout token is sent the moment the session
// ends: one issued more than logoutTokenMaxAge (plus logoutTokenSkew for
// the clocks) ago is refused, as is one issued more than logoutTokenSkew
// in the future, or whose exp passed more than logoutTokenSkew ago.
const (
	logoutTokenMaxAge = 2 * time.Minute
	logoutTokenSkew   = time.Minute
)

// EndSessionEndpoint implements oauthlogin.LogoutProvider: the
// end_session_endpoint of discovery (RP-Initiated Logout 1.0 §2.1), or ""
// when the provider has none.
func (p *OIDCProvider) EndSessionEndpoint() string { return p.endSession }

// BackChannelLogoutSupported reports discovery's
// backchannel_logout_supported (Back-Channel Logout 1.0 §2.1): whether the
// provider sends logout tokens to a registered back-channel logout URI.
func (p *OIDCProvider) BackChannelLogoutSupported() bool { return p.bcLogout }

// BackChannelLogoutSessionSupported reports discovery's
// backchannel_logout_session_supported: whether the provider's logout
// tokens carry the sid of the session that ended.
func (p *OIDCProvider) BackChannelLogoutSessionSupported() bool { return p.bcLogoutSession }

// logoutClaims are the claims a logout token is checked by.
type logoutClaims struct {
	Iss    string                     `json:"iss"`
	Sub    string                     `json:"sub"`
	Aud    json.RawMessage            `json:"aud"`
	Jti    string                     `json:"jti"`
	Sid    string                     `json:"sid"`
	Events map[string]json.RawMessage `json:"events"`
	Nonce  json.RawMessage            `json:"nonce"`
	numericDates
}

// VerifyLogoutToken implements oauthlogin.LogoutProvider. It validates a
// back-channel logout token as Back-Channel Logout 1.0 §2.6 asks: a
// compact JWS (size bounded as ID tokens are) signed by a key the
// provider's JWKS publishes in one of the ID token algorithms
// (Config.IDTokenSigningAlgs; never "none"); typ, when present,
// "logout+jwt" (§2.4, which also refuses an ID token sent as a logout
// token); iss the issuer; aud containing the client id and no audience
// that Config.TrustedAudiences does not list; nbf, when present, passed;
// iat present, not
// in the future and at most two minutes old; exp present and not passed
// (one minute of clock skew for both); jti present; an events claim with
// the back-channel-logout member, a JSON object; a sid, a sub or both;
// and no nonce. The subject is mapped as the provider's identities hold it
// (its claims mapping). The jti's single use is the Manager's to check.
// Errors wrap oauthlogin.ErrInvalidLogoutToken.
func (p *OIDCProvider) VerifyLogoutToken(ctx context.Context, raw string) (*oauthlogin.LogoutToken, error) {
	lt, err := p.verifyLogoutToken(ctx, raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", oauthlogin.ErrInvalidLogoutToken, p.name, err)
	}
	return lt, nil
}

func (p *OIDCProvider) verifyLogoutToken(ctx context.Context, raw string) (*oauthlogin.LogoutToken, error) {
	if err := checkCompactJWT(raw); err != nil {
		return nil, err
	}
	jws, err := jose.ParseSignedCompact(raw, p.keys.algs)
	if err != nil {
		return nil, fmt.Errorf("malformed JWS: %w", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, errors.New("a JWS must have exactly one signature")
	}
	if typ, ok := jws.Signatures[0].Header.ExtraHeaders[jose.HeaderType]; ok {
		// RFC 7515 §4.1.9: compared case-insensitively, "application/"
		// optional.
		s, _ := typ.(string)
		if t := strings.ToLower(s); t != "logout+jwt" && t != "application/logout+jwt" {
			return nil, fmt.Errorf("typ %q is not logout+jwt", s)
		}
	}
	payload, err := p.keys.VerifySignature(ctx, raw)
	if err != nil {
		return nil, err
	}
	var c logoutClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, fmt.Errorf("claims: %w", err)
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	if p.checkIssuer != nil {
		if err := p.checkIssuer(c.Iss, payload); err != nil {
			return nil, err
		}
	} else if c.Iss != p.issuer {
		return nil, fmt.Errorf("iss %q is not the issuer", c.Iss)
	}
	aud, err := audiences(c.Aud)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(aud, p.oauth.ClientID) {
		return nil, errors.New("aud does not name this client")
	}
	for _, a := range aud {
		// Validated as an ID token's (§2.6 step 3; Core §3.1.3.7 step
		// 3): no untrusted extra audience, which could replay it here
		// first and spend its jti.
		if a != p.oauth.ClientID && !slices.Contains(p.trusted, a) {
			return nil, fmt.Errorf("untrusted audience %q", a)
		}
	}
	var iat, exp float64
	if len(c.Iat) == 0 || json.Unmarshal(c.Iat, &iat) != nil {
		return nil, errors.New("no iat")
	}
	if len(c.Exp) == 0 || json.Unmarshal(c.Exp, &exp) != nil {
		return nil, errors.New("no exp")
	}
	now := p.now()
	issued, expires := time.Unix(int64(iat), 0), time.Unix(int64(exp), 0)
	switch {
	case issued.After(now.Add(logoutTokenSkew)):
		return nil, errors.New("iat is in the future")
	case issued.Before(now.Add(-logoutTokenMaxAge - logoutTokenSkew)):
		return nil, errors.New("iat is too old")
	case !expires.After(now.Add(-logoutTokenSkew)):
		return nil, errors.New("the token has expired")
	}
	if len(c.Nbf) > 0 {
		// RFC 7519 §4.1.5: not to be accepted before nbf.
		var nbf float64
		if json.Unmarshal(c.Nbf, &nbf) != nil || time.Unix(int64(nbf), 0).After(now.Add(logoutTokenSkew)) {
			return nil, errors.New("nbf is in the future")
		}
	}
	lt := &oauthlogin.LogoutToken{ID: c.Jti, SID: c.Sid, IssuedAt: issued, Expires: expires}
	if c.Sub != "" {
		// The subject as identities hold it (Microsoft's "{tid}:{oid}").
		profile, err := p.claims.Profile(payload)
		if err != nil {
			return nil, fmt.Errorf("sub: %w", err)
		}
		lt.Subject = profile.Subject
	}
	return lt, nil
}

// check applies the claim rules of Back-Channel Logout 1.0 §2.4 and §2.6
// that need no key or clock.
func (c *logoutClaims) check() error {
	if err := c.numericDates.check(); err != nil {
		return err
	}
	ev, ok := c.Events[backChannelLogoutEvent]
	switch {
	case c.Jti == "":
		return errors.New("no jti")
	case !ok:
		return errors.New("the events claim has no back-channel logout event")
	case !bytes.HasPrefix(bytes.TrimSpace(ev), []byte("{")):
		return errors.New("the back-channel logout event is not a JSON object")
	case c.Sid == "" && c.Sub == "":
		return errors.New("neither sid nor sub")
	case c.Nonce != nil:
		// §2.4: "A nonce Claim MUST NOT be present", which keeps an ID
		// token from passing for a logout token.
		return errors.New("a nonce is present")
	}
	return nil
}

// audiences reads an aud claim: a string or an array of strings (RFC 7519
// §4.1.3).
func audiences(raw json.RawMessage) ([]string, error) {
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, errors.New("aud is neither a string nor an array of strings")
	}
	return many, nil
}

var _ oauthlogin.LogoutProvider = (*OIDCProvider)(nil)
