package oauthlogintest_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/oauthlogin/oauthlogin/internal/testapp"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
)

// assertionClaims are a client assertion's claims, with the header's kid.
type assertionClaims struct {
	iss, sub, aud, jti, kid string
	iat, exp                time.Time
}

// validClaims returns a correct assertion's claims for idp.
func validClaims(idp *oauthlogintest.Server) assertionClaims {
	now := time.Now()
	return assertionClaims{iss: idp.ClientID, sub: idp.ClientID, aud: idp.URL + "/token", jti: rand.Text(), iat: now, exp: now.Add(time.Minute)}
}

// sign makes a client assertion with key and alg.
func sign(t *testing.T, alg jose.SignatureAlgorithm, key any, c assertionClaims) string {
	t.Helper()
	opts := &jose.SignerOptions{}
	if c.kid != "" {
		opts = opts.WithHeader("kid", c.kid)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	claims := jwt.Claims{Issuer: c.iss, Subject: c.sub, ID: c.jti, Audience: jwt.Audience{c.aud}, IssuedAt: jwt.NewNumericDate(c.iat)}
	if !c.exp.IsZero() {
		claims.Expiry = jwt.NewNumericDate(c.exp)
	}
	raw, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// assertionForm is a client credentials request authenticated by
// assertion.
func assertionForm(clientID, assertion string) url.Values {
	return url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {assertion}}
}

// TestClientAssertionVerified: with the client registered for
// private_key_jwt, the token endpoint verifies the assertion as RFC 7523
// §3 asks and refuses, with 401 invalid_client, each broken one: signed by
// another key, with another kid, iss or sub not the client, aud not the
// server, expired or without exp, exp far ahead, no jti, a replayed jti,
// an HMAC algorithm (alg confusion with the public key), and a client_id
// other than the assertion's. The client secret no longer works.
func TestClientAssertionVerified(t *testing.T) {
	t.Parallel()
	idp := testapp.NewIdP(t)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	idp.SetClientKey(key.Public(), "k1")
	post := func(form url.Values, edit func(*http.Request)) (int, string) {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, idp.URL+"/token", strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if edit != nil {
			edit(req)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v struct{ Error string }
		json.NewDecoder(resp.Body).Decode(&v)
		return resp.StatusCode, v.Error
	}
	good := validClaims(idp)
	good.kid = "k1"
	if status, e := post(assertionForm(idp.ClientID, sign(t, jose.ES256, key, good)), nil); status != http.StatusOK {
		t.Fatalf("a valid assertion: %d %s", status, e)
	}
	if status, _ := post(assertionForm(idp.ClientID, sign(t, jose.ES256, key, good)), nil); status != http.StatusUnauthorized {
		t.Fatalf("a replayed jti: %d, want 401", status)
	}
	aud := validClaims(idp)
	aud.aud = idp.URL
	if status, e := post(assertionForm(idp.ClientID, sign(t, jose.ES256, key, aud)), nil); status != http.StatusOK {
		t.Fatalf("aud the issuer: %d %s", status, e)
	}
	for name, c := range map[string]struct {
		alg    jose.SignatureAlgorithm
		key    any
		claims func(*assertionClaims)
		form   func(url.Values)
	}{
		"another key":     {jose.ES256, other, nil, nil},
		"another kid":     {jose.ES256, key, func(c *assertionClaims) { c.kid = "k2" }, nil},
		"iss":             {jose.ES256, key, func(c *assertionClaims) { c.iss = "someone" }, nil},
		"sub":             {jose.ES256, key, func(c *assertionClaims) { c.sub = "someone" }, nil},
		"aud":             {jose.ES256, key, func(c *assertionClaims) { c.aud = "https://other.example/token" }, nil},
		"expired":         {jose.ES256, key, func(c *assertionClaims) { c.exp = time.Now().Add(-time.Second) }, nil},
		"no exp":          {jose.ES256, key, func(c *assertionClaims) { c.exp = time.Time{} }, nil},
		"exp far ahead":   {jose.ES256, key, func(c *assertionClaims) { c.exp = time.Now().Add(time.Hour) }, nil},
		"iat in future":   {jose.ES256, key, func(c *assertionClaims) { c.iat = time.Now().Add(3 * time.Minute) }, nil},
		"no jti":          {jose.ES256, key, func(c *assertionClaims) { c.jti = "" }, nil},
		"hmac":            {jose.HS256, []byte(idp.ClientSecret), nil, nil},
		"other client_id": {jose.ES256, key, nil, func(f url.Values) { f.Set("client_id", "other") }},
		"wrong type":      {jose.ES256, key, nil, func(f url.Values) { f.Set("client_assertion_type", "urn:x") }},
		"secret instead": {jose.ES256, key, nil, func(f url.Values) {
			f.Del("client_assertion")
			f.Del("client_assertion_type")
			f.Set("client_secret", idp.ClientSecret)
		}},
		"two assertions":   {jose.ES256, key, nil, func(f url.Values) { f.Add("client_assertion", f.Get("client_assertion")) }},
		"assertion absent": {jose.ES256, key, nil, func(f url.Values) { f.Del("client_assertion") }},
	} {
		claims := validClaims(idp)
		if c.claims != nil {
			c.claims(&claims)
		}
		form := assertionForm(idp.ClientID, sign(t, c.alg, c.key, claims))
		if c.form != nil {
			c.form(form)
		}
		if status, e := post(form, nil); status != http.StatusUnauthorized || e != "invalid_client" {
			t.Errorf("%s: %d %s, want 401 invalid_client", name, status, e)
		}
	}
	// An assertion beside a secret is two methods: 400 invalid_request.
	form := assertionForm(idp.ClientID, sign(t, jose.ES256, key, validClaims(idp)))
	if status, _ := post(form, func(r *http.Request) { r.SetBasicAuth(idp.ClientID, idp.ClientSecret) }); status != http.StatusBadRequest {
		t.Errorf("assertion and Basic: %d, want 400", status)
	}
}

// TestClientAssertionAtDeviceAndRevocation: a client registered for a JWT
// method authenticates at the device authorization (RFC 8628 §3.1) and
// revocation (RFC 7009 §2.1) endpoints as at the token endpoint; the
// endpoint's own URL is an accepted aud (RFC 9126 §2 asks the same of PAR).
func TestClientAssertionAtDeviceAndRevocation(t *testing.T) {
	t.Parallel()
	idp := testapp.NewIdP(t)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	idp.SetClientKey(key.Public(), "")
	for _, path := range []string{"/device", "/revoke"} {
		bare := url.Values{"client_id": {idp.ClientID}, "token": {"t"}}
		if resp := postForm(t, idp.URL+path, bare, nil); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s without an assertion: %d, want 401", path, resp.StatusCode)
		}
		c := validClaims(idp)
		c.aud = idp.URL + path
		form := assertionForm(idp.ClientID, sign(t, jose.ES256, key, c))
		form.Set("token", "t")
		if resp := postForm(t, idp.URL+path, form, nil); resp.StatusCode != http.StatusOK {
			t.Errorf("%s with an assertion: %d, want 200", path, resp.StatusCode)
		}
	}
}

// TestClientAuthDiscovery: discovery's token_endpoint_auth_methods_supported
// names the client's method, with the signing algorithms it accepts for
// JWT methods (OpenID Connect Discovery 1.0 §3).
func TestClientAuthDiscovery(t *testing.T) {
	t.Parallel()
	idp := testapp.NewIdP(t)
	doc := func() map[string]any {
		resp, err := http.Get(idp.URL + "/.well-known/openid-configuration")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var d map[string]any
		json.NewDecoder(resp.Body).Decode(&d)
		return d
	}
	has := func(d map[string]any, name, v string) bool {
		list, _ := d[name].([]any)
		return slices.Contains(list, any(v))
	}
	if d := doc(); has(d, "token_endpoint_auth_methods_supported", "private_key_jwt") || d["token_endpoint_auth_signing_alg_values_supported"] != nil {
		t.Fatalf("secret client: %v", d)
	}
	idp.SetClientAuthMethod("client_secret_jwt")
	if d := doc(); !has(d, "token_endpoint_auth_methods_supported", "client_secret_jwt") || !has(d, "token_endpoint_auth_signing_alg_values_supported", "HS256") {
		t.Fatalf("client_secret_jwt: %v", d)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	idp.SetClientKey(key.Public(), "")
	if d := doc(); !has(d, "token_endpoint_auth_methods_supported", "private_key_jwt") || !has(d, "token_endpoint_auth_signing_alg_values_supported", "ES256") || has(d, "token_endpoint_auth_signing_alg_values_supported", "HS256") {
		t.Fatalf("private_key_jwt: %v", d)
	}
	defer func() {
		if recover() == nil {
			t.Error("an unknown method did not panic")
		}
	}()
	idp.SetClientAuthMethod("tls_client_auth")
}
