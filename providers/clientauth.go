package providers

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/oauthlogin/oauthlogin"
)

// jwtBearerAssertion is the client_assertion_type of a JWT client
// assertion (RFC 7523 §2.2).
const jwtBearerAssertion = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// Client authentication methods (OpenID Connect Core §9), as discovery's
// token_endpoint_auth_methods_supported names them.
const (
	methodPrivateKeyJWT   = "private_key_jwt"
	methodClientSecretJWT = "client_secret_jwt"
)

// assertionLifetime is how long a client assertion is valid. It is made
// for one request, just before sending it, so it needs to outlive only the
// request and the clock difference with the provider: a minute is what
// Auth0 recommends (it accepts five at most), well under Microsoft's
// advice of 5 to 10 minutes, and short enough that a copy of one is soon
// useless even where the provider does not hold jti single use.
const assertionLifetime = time.Minute

// Audience chooses the aud claim of client assertions.
type Audience int

const (
	// AudienceDefault is what the provider documents: the endpoint each
	// request goes to for Okta, the token endpoint for Microsoft (whose
	// issuer is one per tenant); else the issuer for OpenID providers, as
	// OpenID Connect Core §9 now asks (its 2025 errata: an issuer-only
	// audience cannot be replayed at another server's endpoint, the
	// "audience injection" attack), and the token endpoint for plain
	// OAuth 2.0 providers, which have no issuer.
	AudienceDefault Audience = iota
	// AudienceTokenEndpoint is the token endpoint URL, for every request
	// (OpenID Connect Core §9), also those to the revocation, device
	// authorization and pushed authorization request endpoints.
	AudienceTokenEndpoint
	// AudienceIssuer is the provider's issuer identifier (RFC 7523 §3
	// allows it; RFC 9126 §2 requires PAR endpoints to accept it). OpenID
	// providers only.
	AudienceIssuer
	// AudienceEndpoint is the URL of the endpoint each request goes to.
	AudienceEndpoint
)

// JWTOptions are the settings of JWT client authentication.
type JWTOptions struct {
	// KeyID is the kid header of the assertions; default the kid of a JWK
	// key, else none.
	KeyID string
	// Algorithm is the JWS algorithm. For private_key_jwt it follows from
	// the key (ES256, ES384 or ES512 by the curve, EdDSA for Ed25519) but
	// for RSA keys: RS256 (the default), RS384, RS512, PS256, PS384 or
	// PS512. For client_secret_jwt: HS256 (the default), HS384 or HS512.
	// A JWK's own alg is the default when it names one.
	Algorithm string
	// Audience is the aud claim; default the provider's documented one.
	Audience Audience
	// Certificate is the key's X.509 certificate (PEM or DER), for
	// providers that identify the key by the certificate's thumbprint
	// rather than a kid, as Microsoft Entra ID does: the assertions then
	// carry x5t#S256 and x5t (RFC 7515 §4.1.8, §4.1.7). Its public key
	// must be the private key's. private_key_jwt only.
	Certificate []byte
}

// ClientAuth is a JWT client authentication method (RFC 7523 §2.2,
// OpenID Connect Core §9), for Config.ClientAuth. Make one with
// PrivateKeyJWT or ClientSecretJWT.
type ClientAuth struct {
	method string
	alg    jose.SignatureAlgorithm
	key    any // crypto.Signer; nil for client_secret_jwt (Config.ClientSecret)
	kid    string
	aud    Audience
	x5t    [2]string // x5t#S256 and x5t of JWTOptions.Certificate, or empty
}

// PrivateKeyJWT authenticates the client with assertions signed by its
// private key (private_key_jwt): key is a PEM block (PKCS #8 "PRIVATE
// KEY", PKCS #1 "RSA PRIVATE KEY" or SEC 1 "EC PRIVATE KEY"; unencrypted)
// or a private JWK (RFC 7517) in JSON. RSA keys must have at least 2048
// bits; ECDSA keys be on P-256, P-384 or P-521; Ed25519 keys are used with
// EdDSA. Register the public key (or a JWKS with it) with the provider.
// Config.ClientSecret must then be empty: no secret is ever sent.
func PrivateKeyJWT(key []byte, opts JWTOptions) (*ClientAuth, error) {
	priv, kid, jwkAlg, err := parsePrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("providers: %w: PrivateKeyJWT: %w", oauthlogin.ErrConfig, err)
	}
	if opts.KeyID != "" {
		kid = opts.KeyID
	}
	want := opts.Algorithm
	if want == "" {
		want = jwkAlg
	}
	alg, err := keyAlgorithm(priv, want)
	if err != nil {
		return nil, fmt.Errorf("providers: %w: PrivateKeyJWT: %w", oauthlogin.ErrConfig, err)
	}
	ca := &ClientAuth{method: methodPrivateKeyJWT, alg: alg, key: priv, kid: kid, aud: opts.Audience}
	if opts.Certificate != nil {
		if ca.x5t, err = thumbprints(opts.Certificate, priv.Public()); err != nil {
			return nil, fmt.Errorf("providers: %w: PrivateKeyJWT: %w", oauthlogin.ErrConfig, err)
		}
	}
	return ca, nil
}

// thumbprints returns the x5t#S256 and x5t of a PEM or DER certificate
// whose public key is pub.
func thumbprints(cert []byte, pub crypto.PublicKey) ([2]string, error) {
	der := cert
	if block, _ := pem.Decode(cert); block != nil {
		if block.Type != "CERTIFICATE" {
			return [2]string{}, fmt.Errorf("the certificate's PEM block is %q, not CERTIFICATE", block.Type)
		}
		der = block.Bytes
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return [2]string{}, fmt.Errorf("the certificate does not parse: %w", err)
	}
	if k, ok := pub.(interface{ Equal(crypto.PublicKey) bool }); !ok || !k.Equal(c.PublicKey) {
		return [2]string{}, errors.New("the certificate is not the key's")
	}
	s256 := sha256.Sum256(c.Raw)
	s1 := sha1.Sum(c.Raw) // x5t is SHA-1 by definition (RFC 7515 §4.1.7); a name, not a signature
	enc := base64.RawURLEncoding
	return [2]string{enc.EncodeToString(s256[:]), enc.EncodeToString(s1[:])}, nil
}

// ClientSecretJWT authenticates the client with assertions signed with
// HMAC by Config.ClientSecret (client_secret_jwt), which is then never
// sent itself. The secret must be at least as long as the hash: 32 bytes
// for HS256 (RFC 7518 §3.2).
func ClientSecretJWT(opts JWTOptions) (*ClientAuth, error) {
	alg := jose.HS256
	switch opts.Algorithm {
	case "", "HS256":
	case "HS384", "HS512":
		alg = jose.SignatureAlgorithm(opts.Algorithm)
	default:
		return nil, fmt.Errorf("providers: %w: ClientSecretJWT: algorithm %q is not HS256, HS384 or HS512", oauthlogin.ErrConfig, opts.Algorithm)
	}
	return &ClientAuth{method: methodClientSecretJWT, alg: alg, kid: opts.KeyID, aud: opts.Audience}, nil
}

// parsePrivateKey reads a PEM or JWK private key, with the JWK's kid and
// alg.
func parsePrivateKey(data []byte) (crypto.Signer, string, string, error) {
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '{' {
		var k jose.JSONWebKey
		if err := json.Unmarshal(data, &k); err != nil {
			return nil, "", "", fmt.Errorf("the JWK does not parse: %w", err)
		}
		if k.IsPublic() || !k.Valid() {
			return nil, "", "", errors.New("the JWK is not a private key")
		}
		s, ok := k.Key.(crypto.Signer)
		if !ok {
			return nil, "", "", fmt.Errorf("the JWK's key type %T cannot sign", k.Key)
		}
		if k.Use != "" && k.Use != "sig" {
			return nil, "", "", fmt.Errorf("the JWK's use is %q, not sig", k.Use)
		}
		return s, k.KeyID, k.Algorithm, nil
	}
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, "", "", errors.New("the key is neither a PEM private key nor a JWK")
		}
		var (
			k   any
			err error
		)
		switch block.Type {
		case "EC PARAMETERS":
			continue // openssl ecparam -genkey writes it before the key
		case "PRIVATE KEY":
			k, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "RSA PRIVATE KEY":
			k, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		case "EC PRIVATE KEY":
			k, err = x509.ParseECPrivateKey(block.Bytes)
		default:
			return nil, "", "", fmt.Errorf("the PEM block %q is not an unencrypted private key", block.Type)
		}
		if err != nil {
			return nil, "", "", fmt.Errorf("the %s block does not parse: %w", block.Type, err)
		}
		s, ok := k.(crypto.Signer)
		if !ok {
			return nil, "", "", fmt.Errorf("the key type %T cannot sign", k)
		}
		return s, "", "", nil
	}
}

// keyAlgorithm returns the JWS algorithm for key: want when it fits the
// key, else the key's own.
func keyAlgorithm(key crypto.Signer, want string) (jose.SignatureAlgorithm, error) {
	var fits []jose.SignatureAlgorithm
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if k.N.BitLen() < 2048 {
			return "", fmt.Errorf("the RSA key has %d bits, fewer than 2048", k.N.BitLen())
		}
		fits = []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512}
	case *ecdsa.PrivateKey:
		switch k.Curve {
		case elliptic.P256():
			fits = []jose.SignatureAlgorithm{jose.ES256}
		case elliptic.P384():
			fits = []jose.SignatureAlgorithm{jose.ES384}
		case elliptic.P521():
			fits = []jose.SignatureAlgorithm{jose.ES512}
		default:
			return "", errors.New("the ECDSA key is not on P-256, P-384 or P-521")
		}
	case ed25519.PrivateKey:
		fits = []jose.SignatureAlgorithm{jose.EdDSA}
	default:
		return "", fmt.Errorf("the key type %T is not RSA, ECDSA or Ed25519", key)
	}
	if want == "" {
		return fits[0], nil
	}
	if !slices.Contains(fits, jose.SignatureAlgorithm(want)) {
		return "", fmt.Errorf("algorithm %q does not fit the key (%s)", want, fits[0])
	}
	return jose.SignatureAlgorithm(want), nil
}

// asserter makes a provider's client assertions.
type asserter struct {
	method   string
	alg      string
	signer   jose.Signer
	clientID string
	tokenURL string
	issuer   string // for AudienceIssuer; "" for plain OAuth 2.0 providers
	aud      Audience
	now      func() time.Time
}

// newAsserter applies auth to the client configuration of a provider:
// for client_secret_jwt the secret becomes the HMAC key. defaultAud is the
// provider's documented audience.
func newAsserter(name string, auth *ClientAuth, clientID, secret, tokenURL, issuer string, defaultAud Audience) (*asserter, error) {
	fail := func(format string, a ...any) error {
		return fmt.Errorf("providers: %s: %w: ClientAuth: %s", name, oauthlogin.ErrConfig, fmt.Sprintf(format, a...))
	}
	var key any
	switch auth.method {
	case methodPrivateKeyJWT:
		if secret != "" {
			return nil, fail("private_key_jwt sends no client secret: leave ClientSecret empty")
		}
		key = auth.key
	case methodClientSecretJWT:
		min := map[jose.SignatureAlgorithm]int{jose.HS256: 32, jose.HS384: 48, jose.HS512: 64}[auth.alg]
		if len(secret) < min {
			return nil, fail("client_secret_jwt with %s needs a ClientSecret of at least %d bytes (RFC 7518 §3.2)", auth.alg, min)
		}
		key = []byte(secret)
	default:
		return nil, fail("make it with PrivateKeyJWT or ClientSecretJWT")
	}
	aud := auth.aud
	if aud == AudienceDefault {
		aud = defaultAud
	}
	if aud == AudienceDefault && issuer != "" && !strings.Contains(issuer, "{") {
		aud = AudienceIssuer
	}
	if aud == AudienceDefault {
		aud = AudienceTokenEndpoint
	}
	if aud == AudienceIssuer && (issuer == "" || strings.Contains(issuer, "{")) {
		return nil, fail("AudienceIssuer needs an OpenID provider with one issuer")
	}
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if auth.kid != "" {
		opts = opts.WithHeader("kid", auth.kid)
	}
	if auth.x5t[0] != "" {
		opts = opts.WithHeader("x5t#S256", auth.x5t[0]).WithHeader("x5t", auth.x5t[1])
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: auth.alg, Key: key}, opts)
	if err != nil {
		return nil, fail("%v", err)
	}
	return &asserter{
		method: auth.method, alg: string(auth.alg), signer: signer,
		clientID: clientID, tokenURL: tokenURL, issuer: issuer, aud: aud, now: time.Now,
	}, nil
}

// checkMetadata refuses a method or algorithm that discovery says the
// provider does not support (OpenID Connect Discovery §3:
// token_endpoint_auth_methods_supported and
// token_endpoint_auth_signing_alg_values_supported). Absent lists refuse
// nothing.
func (a *asserter) checkMetadata(name string, methods, algs []string) error {
	if len(methods) > 0 && !slices.Contains(methods, a.method) {
		return fmt.Errorf("providers: %s: %w: ClientAuth: the provider's discovery lists token endpoint auth methods %v, not %s", name, oauthlogin.ErrConfig, methods, a.method)
	}
	if len(algs) > 0 && !slices.Contains(algs, a.alg) {
		return fmt.Errorf("providers: %s: %w: ClientAuth: the provider's discovery lists token endpoint signing algorithms %v, not %s", name, oauthlogin.ErrConfig, algs, a.alg)
	}
	return nil
}

// assertion returns a new client assertion for a request to endpoint
// (RFC 7523 §3): iss and sub the client id, aud as chosen, a 256-bit
// random jti, iat now and exp a minute later.
func (a *asserter) assertion(endpoint string) (string, error) {
	aud := a.tokenURL
	switch a.aud {
	case AudienceIssuer:
		aud = a.issuer
	case AudienceEndpoint:
		aud = endpoint
	}
	jti := make([]byte, 32)
	rand.Read(jti)
	now := a.now()
	return signJWT(a.signer, jwt.Claims{
		Issuer:   a.clientID,
		Subject:  a.clientID,
		Audience: jwt.Audience{aud},
		ID:       base64.RawURLEncoding.EncodeToString(jti),
		IssuedAt: jwt.NewNumericDate(now),
		Expiry:   jwt.NewNumericDate(now.Add(assertionLifetime)),
	})
}

// refuseClientAuth refuses Config.ClientAuth for a provider whose quirks
// would send a request without the assertion, or send the secret that
// client_secret_jwt must keep (RFC 7523 §2.2): none of them documents JWT
// client authentication.
func refuseClientAuth(name string, cfg Config, why string) error {
	if cfg.ClientAuth != nil {
		return fmt.Errorf("providers: %s: %w: ClientAuth is not supported: %s", name, oauthlogin.ErrConfig, why)
	}
	return nil
}

// signJWT signs claims into a compact JWT with go-jose: client assertions
// and Apple's client secret.
func signJWT(signer jose.Signer, claims any) (string, error) {
	s, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		return "", fmt.Errorf("providers: signing a JWT: %w", err)
	}
	return s, nil
}

// ClientAssertion implements oauthlogin.ClientAsserter: a new assertion
// for a request to endpoint. Without Config.ClientAuth it returns an
// error wrapping errors.ErrUnsupported.
func (b *base) ClientAssertion(_ context.Context, endpoint string) (string, error) {
	if b.assert == nil {
		return "", errNoClientAuth
	}
	return b.assert.assertion(endpoint)
}

// errNoClientAuth is ClientAssertion's answer for a provider without
// Config.ClientAuth.
var errNoClientAuth = fmt.Errorf("providers: no JWT client authentication: %w", errors.ErrUnsupported)
