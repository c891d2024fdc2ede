package providers_test

import (
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
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/internal/testapp"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
	"github.com/oauthlogin/oauthlogin/providers"
)

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func pkcs8(t testing.TB, key crypto.Signer) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pemBlock("PRIVATE KEY", der)
}

// rsaTestKey is one RSA-2048 key for the package's tests (generating one
// takes a while).
var rsaTestKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// parseAssertion verifies a client assertion with pub and returns its
// header and claims.
func parseAssertion(t *testing.T, raw string, pub any) (jose.Header, jwt.Claims) {
	t.Helper()
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256, jose.PS256, jose.ES256, jose.ES384, jose.ES512, jose.EdDSA, jose.HS256, jose.HS512})
	if err != nil {
		t.Fatalf("assertion %q: %v", raw, err)
	}
	var c jwt.Claims
	if err := tok.Claims(pub, &c); err != nil {
		t.Fatalf("assertion signature: %v", err)
	}
	return tok.Headers[0], c
}

// TestPrivateKeyJWTKeyFormats: the key is read from PEM (PKCS #8,
// PKCS #1, SEC 1, with openssl's EC PARAMETERS block before it) or a
// private JWK (RFC 7517, whose kid and alg are used), and the algorithm
// follows the key (RFC 7518 §3.1): RS256 for RSA unless asked otherwise,
// ES256/ES384/ES512 by the curve, EdDSA for Ed25519 (RFC 8037). The
// assertion verifies with the public key, and the fake provider, set up
// with that key, accepts it at its token endpoint.
func TestPrivateKeyJWTKeyFormats(t *testing.T) {
	rsaKey := rsaTestKey()
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	sec1, _ := x509.MarshalECPrivateKey(p384)
	jwkJSON, _ := json.Marshal(jose.JSONWebKey{Key: p521, KeyID: "jwk-kid", Use: "sig"})
	rsaJWK, _ := json.Marshal(jose.JSONWebKey{Key: rsaKey, KeyID: "rsa-jwk", Algorithm: "PS256"})
	for _, c := range []struct {
		name     string
		key      []byte
		opts     providers.JWTOptions
		pub      crypto.PublicKey
		alg, kid string
	}{
		{"pkcs8 rsa", pkcs8(t, rsaKey), providers.JWTOptions{KeyID: "k1"}, rsaKey.Public(), "RS256", "k1"},
		{"pkcs1 rsa PS256", pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey)), providers.JWTOptions{Algorithm: "PS256"}, rsaKey.Public(), "PS256", ""},
		{"pkcs8 p256", pkcs8(t, p256), providers.JWTOptions{}, p256.Public(), "ES256", ""},
		{"sec1 p384 after EC PARAMETERS", append(pemBlock("EC PARAMETERS", []byte{6, 5, 43, 129, 4, 0, 34}), pemBlock("EC PRIVATE KEY", sec1)...), providers.JWTOptions{}, p384.Public(), "ES384", ""},
		{"jwk p521", jwkJSON, providers.JWTOptions{}, p521.Public(), "ES512", "jwk-kid"},
		{"jwk rsa with alg, kid option wins", rsaJWK, providers.JWTOptions{KeyID: "override"}, rsaKey.Public(), "PS256", "override"},
		{"pkcs8 ed25519", pkcs8(t, ed), providers.JWTOptions{}, ed.Public(), "EdDSA", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			idp := testapp.NewIdP(t)
			idp.SetClientKey(c.pub, c.kid)
			auth, err := providers.PrivateKeyJWT(c.key, c.opts)
			if err != nil {
				t.Fatal(err)
			}
			p, err := providers.OIDC(t.Context(), "test", idp.URL, providers.Config{ClientID: idp.ClientID, ClientAuth: auth})
			if err != nil {
				t.Fatal(err)
			}
			oc := p.OAuth2Config()
			if oc.ClientSecret != "" || oc.Endpoint.AuthStyle != oauth2.AuthStyleInParams {
				t.Fatalf("OAuth2Config = %+v, want no secret and AuthStyleInParams", oc)
			}
			raw, err := p.ClientAssertion(t.Context(), idp.URL+"/token")
			if err != nil {
				t.Fatal(err)
			}
			h, _ := parseAssertion(t, raw, c.pub)
			if h.Algorithm != c.alg || h.KeyID != c.kid || h.ExtraHeaders["typ"] != "JWT" {
				t.Fatalf("header alg %s kid %q typ %v, want %s %q JWT", h.Algorithm, h.KeyID, h.ExtraHeaders["typ"], c.alg, c.kid)
			}
			if status := clientCredentials(t, idp.URL, idp.ClientID, raw); status != http.StatusOK {
				t.Fatalf("the fake provider answered %d", status)
			}
		})
	}
}

// clientCredentials posts a client credentials request authenticated by
// assertion to the token endpoint at issuer, and returns the status.
func clientCredentials(t *testing.T, issuer, clientID, assertion string) int {
	t.Helper()
	resp, err := http.PostForm(issuer+"/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {clientID},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {assertion},
	})
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestPrivateKeyJWTRefusesKeys: keys that cannot make a sound assertion
// are refused where they are given: RSA under 2048 bits, a public JWK, a
// JWK for encryption, an encrypted or unknown PEM block, an algorithm
// that does not fit the key, and anything else.
func TestPrivateKeyJWTRefusesKeys(t *testing.T) {
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	public, _ := json.Marshal(jose.JSONWebKey{Key: p256.Public()})
	enc, _ := json.Marshal(jose.JSONWebKey{Key: p256, Use: "enc"})
	for name, c := range map[string]struct {
		key  []byte
		opts providers.JWTOptions
	}{
		"rsa 1024":           {pkcs8(t, small), providers.JWTOptions{}},
		"public jwk":         {public, providers.JWTOptions{}},
		"jwk for encryption": {enc, providers.JWTOptions{}},
		"encrypted pem":      {pemBlock("ENCRYPTED PRIVATE KEY", []byte{1, 2, 3}), providers.JWTOptions{}},
		"certificate":        {pemBlock("CERTIFICATE", []byte{1, 2, 3}), providers.JWTOptions{}},
		"ec key as RS256":    {pkcs8(t, p256), providers.JWTOptions{Algorithm: "RS256"}},
		"ec key as HS256":    {pkcs8(t, p256), providers.JWTOptions{Algorithm: "HS256"}},
		"garbage":            {[]byte("not a key"), providers.JWTOptions{}},
		"empty":              {nil, providers.JWTOptions{}},
	} {
		if _, err := providers.PrivateKeyJWT(c.key, c.opts); !errors.Is(err, oauthlogin.ErrConfig) {
			t.Errorf("%s: err = %v, want ErrConfig", name, err)
		}
	}
	if _, err := providers.ClientSecretJWT(providers.JWTOptions{Algorithm: "RS256"}); !errors.Is(err, oauthlogin.ErrConfig) {
		t.Errorf("ClientSecretJWT with RS256: %v", err)
	}
}

// TestClientAuthRefusedByMetadata: a provider whose discovery lists
// token_endpoint_auth_methods_supported without the chosen method, or
// token_endpoint_auth_signing_alg_values_supported without the key's
// algorithm (OpenID Connect Discovery 1.0 §3), is refused at
// construction, not at the first login.
func TestClientAuthRefusedByMetadata(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	auth, err := providers.PrivateKeyJWT(pkcs8(t, key), providers.JWTOptions{})
	if err != nil {
		t.Fatal(err)
	}
	idp := testapp.NewIdP(t) // lists client_secret_basic and client_secret_post only
	_, err = providers.OIDC(t.Context(), "test", idp.URL, providers.Config{ClientID: idp.ClientID, ClientAuth: auth})
	if !errors.Is(err, oauthlogin.ErrConfig) || !strings.Contains(err.Error(), "private_key_jwt") {
		t.Fatalf("methods without private_key_jwt: err = %v", err)
	}
	idp.SetClientKey(key.Public(), "")
	idp.Behave(oauthlogintest.Behavior{Discovery: map[string]any{"token_endpoint_auth_signing_alg_values_supported": []string{"RS256", "PS256"}}})
	_, err = providers.OIDC(t.Context(), "test", idp.URL, providers.Config{ClientID: idp.ClientID, ClientAuth: auth})
	if !errors.Is(err, oauthlogin.ErrConfig) || !strings.Contains(err.Error(), "ES256") {
		t.Fatalf("algorithms without ES256: err = %v", err)
	}
	idp.Behave(oauthlogintest.Behavior{})
	if _, err := providers.OIDC(t.Context(), "test", idp.URL, providers.Config{ClientID: idp.ClientID, ClientAuth: auth}); err != nil {
		t.Fatalf("listed: %v", err)
	}
	// client_secret_jwt is another method.
	secretAuth, _ := providers.ClientSecretJWT(providers.JWTOptions{})
	if _, err := providers.OIDC(t.Context(), "test", idp.URL, providers.Config{ClientID: idp.ClientID, ClientSecret: idp.ClientSecret, ClientAuth: secretAuth}); !errors.Is(err, oauthlogin.ErrConfig) {
		t.Fatalf("client_secret_jwt at a private_key_jwt provider: %v", err)
	}
}

// TestClientAuthConfigRefusals: settings that contradict JWT client
// authentication are refused: a client secret beside private_key_jwt (it
// would never be used, and must never be sent), a client_secret_jwt
// secret shorter than the hash (RFC 7518 §3.2), AuthStyle set too, the
// issuer as audience for a plain OAuth 2.0 provider (it has none), and
// Apple, whose client secret is its own JWT.
func TestClientAuthConfigRefusals(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pkj, _ := providers.PrivateKeyJWT(pkcs8(t, key), providers.JWTOptions{})
	issuerAud, _ := providers.PrivateKeyJWT(pkcs8(t, key), providers.JWTOptions{Audience: providers.AudienceIssuer})
	hs512, _ := providers.ClientSecretJWT(providers.JWTOptions{Algorithm: "HS512"})
	spec := providers.Spec{Endpoint: oauth2.Endpoint{AuthURL: "https://idp.example/a", TokenURL: "https://idp.example/t"}, UserInfoURL: "https://idp.example/u"}
	for name, cfg := range map[string]providers.Config{
		"secret beside private_key_jwt": {ClientID: "c", ClientSecret: "s", ClientAuth: pkj},
		"short secret":                  {ClientID: "c", ClientSecret: strings.Repeat("s", 63), ClientAuth: hs512},
		"AuthStyle too":                 {ClientID: "c", ClientAuth: pkj, AuthStyle: oauth2.AuthStyleInHeader},
		"issuer audience":               {ClientID: "c", ClientAuth: issuerAud},
	} {
		if _, err := providers.OAuth2("plain", spec, cfg); !errors.Is(err, oauthlogin.ErrConfig) {
			t.Errorf("%s: err = %v, want ErrConfig", name, err)
		}
	}
	if _, err := providers.OAuth2("plain", spec, providers.Config{ClientID: "c", ClientSecret: strings.Repeat("s", 64), ClientAuth: hs512}); err != nil {
		t.Errorf("a 64-byte secret for HS512: %v", err)
	}
	if _, err := providers.Apple(t.Context(), providers.AppleKey{TeamID: "T", KeyID: "K", PrivateKey: pkcs8(t, key)}, providers.Config{ClientID: "c", ClientAuth: pkj}); !errors.Is(err, oauthlogin.ErrConfig) {
		t.Errorf("Apple with ClientAuth: %v", err)
	}
}

// TestClientAssertionClaims: RFC 7523 §3 and OpenID Connect Core §9: iss
// and sub the client id, aud the token endpoint by default (or the issuer,
// or the endpoint the request goes to, as chosen; by default the issuer), a jti of 256 random
// bits never repeated, iat now and exp one minute later.
func TestClientAssertionClaims(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	idp := testapp.NewIdP(t)
	idp.SetClientKey(key.Public(), "")
	for _, c := range []struct {
		aud  providers.Audience
		want func(endpoint string) string
	}{
		{providers.AudienceDefault, func(string) string { return idp.URL }}, // an OpenID provider: its issuer
		{providers.AudienceTokenEndpoint, func(string) string { return idp.URL + "/token" }},
		{providers.AudienceIssuer, func(string) string { return idp.URL }},
		{providers.AudienceEndpoint, func(e string) string { return e }},
	} {
		auth, _ := providers.PrivateKeyJWT(pkcs8(t, key), providers.JWTOptions{Audience: c.aud})
		p, err := providers.OIDC(t.Context(), "test", idp.URL, providers.Config{ClientID: idp.ClientID, ClientAuth: auth})
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, endpoint := range []string{idp.URL + "/token", idp.URL + "/device", idp.URL + "/par"} {
			before := time.Now().Truncate(time.Second)
			raw, err := p.ClientAssertion(t.Context(), endpoint)
			if err != nil {
				t.Fatal(err)
			}
			_, cl := parseAssertion(t, raw, key.Public())
			switch {
			case cl.Issuer != idp.ClientID || cl.Subject != idp.ClientID:
				t.Errorf("iss %q sub %q", cl.Issuer, cl.Subject)
			case len(cl.Audience) != 1 || cl.Audience[0] != c.want(endpoint):
				t.Errorf("audience %d, endpoint %s: aud %v, want %s", c.aud, endpoint, cl.Audience, c.want(endpoint))
			case len(cl.ID) != 43 || seen[cl.ID]:
				t.Errorf("jti %q: not 256 bits or repeated", cl.ID)
			case cl.IssuedAt == nil || cl.IssuedAt.Time().Before(before) || cl.IssuedAt.Time().After(time.Now()):
				t.Errorf("iat %v", cl.IssuedAt)
			case cl.Expiry == nil || cl.Expiry.Time().Sub(cl.IssuedAt.Time()) != time.Minute:
				t.Errorf("exp %v, iat %v: want a minute apart", cl.Expiry, cl.IssuedAt)
			}
			seen[cl.ID] = true
		}
	}
}

// TestClientAuthCatalogueAudiences: the audience each catalogue provider
// documents for client assertions is its default. Auth0: "aud: The URL
// of the Auth0 tenant or custom domain that receives the assertion",
// i.e. its issuer with the trailing slash; Okta: "aud: The full URL of
// the resource that you're using the JWT to authenticate to", i.e. each
// endpoint; Keycloak: its realm's issuer, which it accepts beside the
// token endpoint and which OpenID Connect Core §9 (errata set 2) makes the
// audience; Microsoft Entra: its token endpoint. Providers whose
// discovery does not list private_key_jwt (Google) are refused.
func TestClientAuthCatalogueAudiences(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	auth, _ := providers.PrivateKeyJWT(pkcs8(t, key), providers.JWTOptions{})
	for _, c := range []struct {
		fixture string
		build   func(ctx context.Context, cfg providers.Config) (*providers.OIDCProvider, error)
		aud     func(endpoint string) string
	}{
		{"auth0", func(ctx context.Context, cfg providers.Config) (*providers.OIDCProvider, error) {
			return providers.Auth0(ctx, "tenant.example.auth0.com", cfg)
		}, func(string) string { return "https://tenant.example.auth0.com/" }},
		{"okta", func(ctx context.Context, cfg providers.Config) (*providers.OIDCProvider, error) {
			return providers.Okta(ctx, "example.okta.com/oauth2/default", cfg)
		}, func(e string) string { return e }},
		{"keycloak", func(ctx context.Context, cfg providers.Config) (*providers.OIDCProvider, error) {
			return providers.Keycloak(ctx, "https://sso.example.com", "acme", cfg)
		}, func(string) string { return "https://sso.example.com/realms/acme" }},
		{"microsoft", func(ctx context.Context, cfg providers.Config) (*providers.OIDCProvider, error) {
			return providers.Microsoft(ctx, "", cfg)
		}, nil},
		{"microsoft-tenant", func(ctx context.Context, cfg providers.Config) (*providers.OIDCProvider, error) {
			return providers.Microsoft(ctx, "72f988bf-86f1-41af-91ab-2d7cd011db47", cfg) // one tenant: still the token endpoint
		}, nil},
		{"google", func(ctx context.Context, cfg providers.Config) (*providers.OIDCProvider, error) {
			return providers.Google(ctx, cfg)
		}, nil},
	} {
		t.Run(c.fixture, func(t *testing.T) {
			f := newFake(t, loadFixture(t, c.fixture))
			p, err := c.build(t.Context(), providers.Config{ClientID: fakeClientID, ClientAuth: auth, HTTPClient: f.client()})
			if c.fixture == "google" {
				if !errors.Is(err, oauthlogin.ErrConfig) {
					t.Fatalf("Google with private_key_jwt: err = %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			token := p.OAuth2Config().Endpoint.TokenURL
			want := c.aud
			if want == nil {
				want = func(string) string { return token }
			}
			for _, endpoint := range []string{token, "https://elsewhere.example/revoke"} {
				raw, err := p.ClientAssertion(t.Context(), endpoint)
				if err != nil {
					t.Fatal(err)
				}
				if _, cl := parseAssertion(t, raw, key.Public()); len(cl.Audience) != 1 || cl.Audience[0] != want(endpoint) {
					t.Errorf("aud %v for %s, want %s", cl.Audience, endpoint, want(endpoint))
				}
			}
		})
	}
}

// TestRevokeWithClientAssertion: revocation (RFC 7009 §2.1: the client
// authenticates as at the token endpoint) carries a fresh assertion made
// for the revocation endpoint, and neither a secret nor Basic
// credentials; the fake provider accepts it and revokes the token.
func TestRevokeWithClientAssertion(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	idp := testapp.NewIdP(t)
	idp.SetClientKey(key.Public(), "")
	var sent []*http.Request
	var mu sync.Mutex
	client := &http.Client{Transport: roundTripper(func(r *http.Request) (*http.Response, error) {
		mu.Lock()
		sent = append(sent, r)
		mu.Unlock()
		return http.DefaultTransport.RoundTrip(r)
	})}
	auth, _ := providers.PrivateKeyJWT(pkcs8(t, key), providers.JWTOptions{Audience: providers.AudienceEndpoint})
	p, err := providers.OIDC(t.Context(), "test", idp.URL, providers.Config{ClientID: idp.ClientID, ClientAuth: auth, HTTPClient: client})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := p.ClientAssertion(t.Context(), idp.URL+"/token")
	resp, err := http.PostForm(idp.URL+"/token", url.Values{"grant_type": {"client_credentials"},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {raw}})
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if tok.AccessToken == "" {
		t.Fatalf("no token: %d", resp.StatusCode)
	}
	if err := p.Revoke(t.Context(), tok.AccessToken, "access_token"); err != nil {
		t.Fatal(err)
	}
	if !idp.Revoked(tok.AccessToken) {
		t.Fatal("not revoked")
	}
	r := sent[len(sent)-1]
	if r.URL.Path != "/revoke" || r.Header.Get("Authorization") != "" {
		t.Fatalf("last request %s with Authorization %q", r.URL.Path, r.Header.Get("Authorization"))
	}
	body, _ := r.GetBody()
	b, _ := io.ReadAll(body)
	form, _ := url.ParseQuery(string(b))
	if form.Has("client_secret") || form.Get("client_id") != idp.ClientID {
		t.Fatalf("revocation form %v", form)
	}
	if _, cl := parseAssertion(t, form.Get("client_assertion"), key.Public()); cl.Audience[0] != idp.URL+"/revoke" {
		t.Fatalf("revocation assertion aud %v", cl.Audience)
	}
}

// TestClientSecretJWTSignsWithSecret: client_secret_jwt signs with HMAC
// keyed by the client secret (OpenID Connect Core §9), which the fake
// provider verifies, and the configuration never holds the secret for
// sending.
func TestClientSecretJWTSignsWithSecret(t *testing.T) {
	idp := testapp.NewIdP(t)
	idp.SetClientAuthMethod("client_secret_jwt")
	auth, err := providers.ClientSecretJWT(providers.JWTOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := providers.OIDC(t.Context(), "test", idp.URL, providers.Config{ClientID: idp.ClientID, ClientSecret: idp.ClientSecret, ClientAuth: auth})
	if err != nil {
		t.Fatal(err)
	}
	if p.OAuth2Config().ClientSecret != "" {
		t.Fatal("the secret is in OAuth2Config, to be sent")
	}
	raw, err := p.ClientAssertion(t.Context(), idp.URL+"/token")
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := parseAssertion(t, raw, []byte(idp.ClientSecret)); h.Algorithm != "HS256" {
		t.Fatalf("alg %s", h.Algorithm)
	}
	if status := clientCredentials(t, idp.URL, idp.ClientID, raw); status != http.StatusOK {
		t.Fatalf("the fake provider answered %d", status)
	}
}

// TestNoClientAuthIsUnsupported: a provider without Config.ClientAuth
// answers ClientAssertion with errors.ErrUnsupported, which the Manager
// reads as "send the request as it is".
func TestNoClientAuthIsUnsupported(t *testing.T) {
	p := newOIDC(t, testapp.NewIdP(t), providers.Config{})
	if _, err := p.ClientAssertion(t.Context(), "x"); !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("err = %v", err)
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestPrivateKeyJWTCertificateThumbprint: with the key's certificate,
// assertions carry its thumbprints, x5t#S256 (SHA-256 of the DER, RFC 7515
// §4.1.8) and x5t (SHA-1, §4.1.7), which Microsoft Entra ID identifies the
// key by; a certificate of another key is refused.
func TestPrivateKeyJWTCertificateThumbprint(t *testing.T) {
	key := rsaTestKey()
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "client"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := providers.PrivateKeyJWT(pkcs8(t, other), providers.JWTOptions{Certificate: der}); !errors.Is(err, oauthlogin.ErrConfig) {
		t.Fatalf("another key's certificate: %v", err)
	}
	auth, err := providers.PrivateKeyJWT(pkcs8(t, key), providers.JWTOptions{Certificate: pemBlock("CERTIFICATE", der)})
	if err != nil {
		t.Fatal(err)
	}
	idp := testapp.NewIdP(t)
	idp.SetClientKey(key.Public(), "")
	p, err := providers.OIDC(t.Context(), "test", idp.URL, providers.Config{ClientID: idp.ClientID, ClientAuth: auth})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := p.ClientAssertion(t.Context(), idp.URL+"/token")
	if err != nil {
		t.Fatal(err)
	}
	h, _ := parseAssertion(t, raw, key.Public())
	s256, s1 := sha256.Sum256(der), sha1.Sum(der)
	if h.ExtraHeaders["x5t#S256"] != base64.RawURLEncoding.EncodeToString(s256[:]) || h.ExtraHeaders["x5t"] != base64.RawURLEncoding.EncodeToString(s1[:]) {
		t.Fatalf("headers %v", h.ExtraHeaders)
	}
	if status := clientCredentials(t, idp.URL, idp.ClientID, raw); status != http.StatusOK {
		t.Fatalf("the fake provider answered %d", status)
	}
}

// TestClientAssertionConcurrent: a provider makes assertions for
// concurrent requests (refreshes of several sessions, say); run with
// -race. Each has its own jti.
func TestClientAssertionConcurrent(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	idp := testapp.NewIdP(t)
	idp.SetClientKey(key.Public(), "")
	auth, _ := providers.PrivateKeyJWT(pkcs8(t, key), providers.JWTOptions{})
	p, err := providers.OIDC(t.Context(), "test", idp.URL, providers.Config{ClientID: idp.ClientID, ClientAuth: auth})
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		jtis = map[string]bool{}
	)
	for range 16 {
		wg.Go(func() {
			raw, err := p.ClientAssertion(context.Background(), idp.URL+"/token")
			if err != nil {
				t.Error(err)
				return
			}
			tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256})
			if err != nil {
				t.Error(err)
				return
			}
			var c jwt.Claims
			if err := tok.Claims(key.Public(), &c); err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			jtis[c.ID] = true
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(jtis) != 16 {
		t.Fatalf("%d distinct jti in 16 assertions", len(jtis))
	}
}
