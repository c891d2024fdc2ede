package providers

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"

	"github.com/oauthlogin/oauthlogin"
)

// appleIssuer is Sign in with Apple's issuer, and the audience of the
// client secret.
const appleIssuer = "https://appleid.apple.com"

// The client secret lives appleSecretTTL (Apple allows up to six months)
// and is signed anew when less than appleSecretRenew of it is left.
const (
	appleSecretTTL   = time.Hour
	appleSecretRenew = 10 * time.Minute
)

// AppleKey is the private key a Sign in with Apple client signs its client
// secret with, from the Apple Developer account (Keys).
type AppleKey struct {
	// TeamID is the developer account's team id.
	TeamID string
	// KeyID is the key's id (the kid of the client secret).
	KeyID string
	// PrivateKey is the contents of the key's .p8 file: a PEM "PRIVATE
	// KEY" block holding a PKCS #8 P-256 key.
	PrivateKey []byte
}

// AppleProvider is Sign in with Apple. Create one with Apple.
type AppleProvider struct {
	*OIDCProvider
	teamID string
	keyID  string
	key    *ecdsa.PrivateKey
	signer jose.Signer // ES256 with key, kid keyID; made on first use
	now    func() time.Time

	mu        sync.Mutex
	secret    string
	secretExp time.Time
}

// The capabilities the Manager looks for.
var (
	_ oauthlogin.Exchanger          = (*AppleProvider)(nil)
	_ oauthlogin.CallbackIdentifier = (*AppleProvider)(nil)
	_ oauthlogin.Revoker            = (*AppleProvider)(nil)
)

// Apple returns Sign in with Apple: OpenID Connect at
// https://appleid.apple.com, with Apple's quirks. cfg.ClientID is the
// Services ID; cfg.ClientSecret is not used, as the client secret is an
// ES256 JWT signed with key (iss: the team id, sub: the client id, aud:
// https://appleid.apple.com), made when first needed and made again before
// it expires. Default scopes: openid, name, email.
//
// Apple answers with response_mode=form_post, which is set through
// AuthParams: the Manager then makes the flow cookie SameSite=None over
// https and takes the callback as a POST. The user's name comes only in
// the first callback's user form field; IdentifyCallback reads it from
// there. Apple sends email_verified (and is_private_email) as the strings
// "true" and "false" as well as booleans; both spellings are read, for
// Apple only. Apple has no userinfo endpoint: the profile is the ID
// token's.
func Apple(ctx context.Context, key AppleKey, cfg Config) (*AppleProvider, error) {
	if key.TeamID == "" || key.KeyID == "" {
		return nil, fmt.Errorf("providers: apple: %w: the team id or key id is empty", oauthlogin.ErrConfig)
	}
	priv, err := parseAppleKey(key.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("providers: apple: %w: %w", oauthlogin.ErrConfig, err)
	}
	if cfg.ClientAuth != nil {
		return nil, fmt.Errorf("providers: apple: %w: ClientAuth is not for Apple, whose client secret is a JWT signed with the AppleKey", oauthlogin.ErrConfig)
	}
	cfg.ClientSecret = ""
	p, err := newOIDC(ctx, "apple", appleIssuer, cfg, oidcOptions{
		scopes:     []string{"openid", "name", "email"},
		authParams: url.Values{"response_mode": {"form_post"}},
		noUserInfo: true,
		claims:     ProfileFunc(appleProfile),
	})
	if err != nil {
		return nil, err
	}
	return &AppleProvider{OIDCProvider: p, teamID: key.TeamID, keyID: key.KeyID, key: priv, now: time.Now}, nil
}

func parseAppleKey(pemBytes []byte) (*ecdsa.PrivateKey, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, errors.New("the private key is not a PEM PRIVATE KEY block (a .p8 file)")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	ec, ok := k.(*ecdsa.PrivateKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, errors.New("the private key is not a P-256 ECDSA key")
	}
	return ec, nil
}

// ClientSecret returns the current client secret JWT, signing a new one
// when the last is missing or about to expire.
func (p *AppleProvider) ClientSecret() (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if p.secret != "" && now.Add(appleSecretRenew).Before(p.secretExp) {
		return p.secret, nil
	}
	exp := now.Add(appleSecretTTL)
	if p.signer == nil {
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: p.key}, (&jose.SignerOptions{}).WithHeader("kid", p.keyID))
		if err != nil {
			return "", fmt.Errorf("providers: apple: %w", err)
		}
		p.signer = signer
	}
	// Apple's client secret is a JWT client assertion of its own shape
	// (iss the team, not the client), signed by the same code.
	s, err := signJWT(p.signer, map[string]any{
		"iss": p.teamID,
		"iat": now.Unix(),
		"exp": exp.Unix(),
		"aud": appleIssuer,
		"sub": p.oauth.ClientID,
	})
	if err != nil {
		return "", err
	}
	p.secret, p.secretExp = s, exp
	return s, nil
}

// Exchange implements oauthlogin.Exchanger: the code exchange with the
// current client secret.
func (p *AppleProvider) Exchange(ctx context.Context, cfg *oauth2.Config, code string, opts ...oauth2.AuthCodeOption) (*oauth2.Token, error) {
	secret, err := p.ClientSecret()
	if err != nil {
		return nil, err
	}
	cfg.ClientSecret = secret
	return cfg.Exchange(ctx, code, opts...)
}

// Refresh implements oauthlogin.Exchanger: the refresh with the current
// client secret.
func (p *AppleProvider) Refresh(ctx context.Context, cfg *oauth2.Config, refreshToken string) (*oauth2.Token, error) {
	secret, err := p.ClientSecret()
	if err != nil {
		return nil, err
	}
	cfg.ClientSecret = secret
	return cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: refreshToken}).Token()
}

// Revoke implements oauthlogin.Revoker with the current client secret.
func (p *AppleProvider) Revoke(ctx context.Context, token, hint string) error {
	secret, err := p.ClientSecret()
	if err != nil {
		return err
	}
	return p.revoke(ctx, token, hint, secret)
}

// IdentifyCallback implements oauthlogin.CallbackIdentifier: Identify, and
// the user's name from the user form field that Apple sends with the first
// authorization only. The field is not signed, so only the name is taken
// from it, never the address.
func (p *AppleProvider) IdentifyCallback(ctx context.Context, tok *oauth2.Token, nonce string, response url.Values) (*oauthlogin.Profile, error) {
	profile, err := p.Identify(ctx, tok, nonce)
	if err != nil {
		return nil, err
	}
	var user struct {
		Name struct {
			FirstName string `json:"firstName"`
			LastName  string `json:"lastName"`
		} `json:"name"`
	}
	if raw := response.Get("user"); raw != "" && json.Unmarshal([]byte(raw), &user) == nil {
		profile.Name = joinName(user.Name.FirstName, user.Name.LastName)
	}
	return profile, nil
}

// appleProfile maps Apple's ID token claims: email_verified may be the
// string "true".
func appleProfile(raw []byte) (*oauthlogin.Profile, error) {
	p, err := Fields{Subject: "sub", Email: "email"}.Profile(raw)
	if err != nil {
		return nil, err
	}
	var c struct {
		EmailVerified any `json:"email_verified"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, err
	}
	p.EmailVerified = p.Email != "" && (c.EmailVerified == true || c.EmailVerified == "true")
	return p, nil
}

// ApplePrivateEmail reports whether an Apple profile's address is a
// private relay address (is_private_email, a boolean or the string
// "true").
func ApplePrivateEmail(p *oauthlogin.Profile) bool {
	v := Claim(p, "is_private_email")
	return v == true || v == "true"
}
