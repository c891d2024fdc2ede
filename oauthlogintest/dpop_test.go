package oauthlogintest_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"

	"github.com/oauthlogin/oauthlogin/internal/testapp"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
)

// signProof signs a DPoP proof by key with typ and claims (RFC 9449 §4.2).
func signProof(t *testing.T, key *ecdsa.PrivateKey, alg jose.SignatureAlgorithm, typ string, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, (&jose.SignerOptions{EmbedJWK: true}).WithType(jose.ContentType(typ)))
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// proofClaims are a valid proof's claims for method and target.
func proofClaims(method, target string) map[string]any {
	return map[string]any{"jti": rand.Text(), "htm": method, "htu": target, "iat": time.Now().Unix()}
}

func ath(accessToken string) string {
	sum := sha256.Sum256([]byte(accessToken))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// proofTransport adds a valid proof by key to every request.
type proofTransport struct {
	t   *testing.T
	key *ecdsa.PrivateKey
}

func (p proofTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	u := *r.URL
	u.RawQuery = ""
	r.Header.Set("DPoP", signProof(p.t, p.key, jose.ES256, "dpop+jwt", proofClaims(r.Method, u.String())))
	return http.DefaultTransport.RoundTrip(r)
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// dpopLogin runs the code flow with proofs by key and returns the tokens.
func dpopLogin(t *testing.T, idp *oauthlogintest.Server, key *ecdsa.PrivateKey) *oauth2.Token {
	t.Helper()
	ctx := context.WithValue(t.Context(), oauth2.HTTPClient, &http.Client{Transport: proofTransport{t, key}})
	tok, err := testapp.CodeFlow(ctx, *clientConfig(idp), "n-1")
	if err != nil {
		t.Fatal(err)
	}
	if tok.TokenType != "DPoP" {
		t.Fatalf("token_type %q with a proof, want DPoP", tok.TokenType)
	}
	return tok
}

// dpopRefresh posts a refresh_token grant with the DPoP header dpop ("":
// none) and returns the status and the response (body closed).
func dpopRefresh(t *testing.T, idp *oauthlogintest.Server, rt, dpop string) (int, *http.Response) {
	t.Helper()
	resp := postForm(t, idp.URL+"/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, func(r *http.Request) {
		r.SetBasicAuth(idp.ClientID, idp.ClientSecret)
		if dpop != "" {
			r.Header.Set("DPoP", dpop)
		}
	})
	return resp.StatusCode, resp
}

// RFC 9449 §4.3: the checks of a proof at the token endpoint, each
// failing alone, on a refresh token bound to the key (§5), then the
// valid proof, then that proof again (jti single use).
func TestDPoPProofChecks(t *testing.T) {
	idp := testapp.NewIdP(t)
	key := newKey(t)
	tok := dpopLogin(t, idp, key)
	target := idp.URL + "/token"
	other := newKey(t)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	with := func(k string, v any) map[string]any {
		c := proofClaims("POST", target)
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	bad := map[string]string{
		"no proof":       "",
		"typ jwt":        signProof(t, key, jose.ES256, "jwt", proofClaims("POST", target)),
		"alg ES384":      signProof(t, p384, jose.ES384, "dpop+jwt", proofClaims("POST", target)),
		"another key":    signProof(t, other, jose.ES256, "dpop+jwt", proofClaims("POST", target)),
		"htm GET":        signProof(t, key, jose.ES256, "dpop+jwt", with("htm", "GET")),
		"htu userinfo":   signProof(t, key, jose.ES256, "dpop+jwt", with("htu", idp.URL+"/userinfo")),
		"htu other host": signProof(t, key, jose.ES256, "dpop+jwt", with("htu", "http://example.com/token")),
		"iat old":        signProof(t, key, jose.ES256, "dpop+jwt", with("iat", time.Now().Add(-10*time.Minute).Unix())),
		"iat future":     signProof(t, key, jose.ES256, "dpop+jwt", with("iat", time.Now().Add(10*time.Minute).Unix())),
		"no iat":         signProof(t, key, jose.ES256, "dpop+jwt", with("iat", nil)),
		"no jti":         signProof(t, key, jose.ES256, "dpop+jwt", with("jti", nil)),
		"bad signature":  signProof(t, key, jose.ES256, "dpop+jwt", proofClaims("POST", target)) + "A",
		"not a JWS":      "not.a.jws",
	}
	for name, p := range bad {
		if status, _ := dpopRefresh(t, idp, tok.RefreshToken, p); status != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", name, status)
		}
	}
	// The query of htu is ignored (§4.3 check 9).
	good := signProof(t, key, jose.ES256, "dpop+jwt", with("htu", target+"?x=1"))
	if status, _ := dpopRefresh(t, idp, tok.RefreshToken, good); status != http.StatusOK {
		t.Fatalf("valid proof: status %d", status)
	}
	if status, _ := dpopRefresh(t, idp, tok.RefreshToken, good); status != http.StatusBadRequest {
		t.Fatalf("replayed proof: status %d, want 400", status)
	}
	// Verified: the login's, another key's (a valid proof, refused for
	// the binding) and the valid refresh's.
	if idp.DPoPProofs() != 3 {
		t.Fatalf("%d proofs verified, want 3", idp.DPoPProofs())
	}
}

// RFC 9449 §7: at userinfo a DPoP-bound token needs "Authorization:
// DPoP" and a proof by its key with ath; as Bearer it is refused.
func TestDPoPUserInfo(t *testing.T) {
	idp := testapp.NewIdP(t)
	key := newKey(t)
	tok := dpopLogin(t, idp, key)
	target := idp.URL + "/userinfo"
	get := func(auth, p string) int {
		req, _ := http.NewRequest("GET", target, nil)
		req.Header.Set("Authorization", auth)
		if p != "" {
			req.Header.Set("DPoP", p)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusUnauthorized && resp.Header.Get("WWW-Authenticate") == "" {
			t.Fatal("a 401 without a challenge")
		}
		return resp.StatusCode
	}
	withATH := func(k *ecdsa.PrivateKey, h string) string {
		c := proofClaims("GET", target)
		if h != "" {
			c["ath"] = h
		}
		return signProof(t, k, jose.ES256, "dpop+jwt", c)
	}
	for name, tc := range map[string][2]string{
		"as Bearer":   {"Bearer " + tok.AccessToken, ""},
		"no proof":    {"DPoP " + tok.AccessToken, ""},
		"no ath":      {"DPoP " + tok.AccessToken, withATH(key, "")},
		"wrong ath":   {"DPoP " + tok.AccessToken, withATH(key, ath("other"))},
		"another key": {"DPoP " + tok.AccessToken, withATH(newKey(t), ath(tok.AccessToken))},
	} {
		if status := get(tc[0], tc[1]); status != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", name, status)
		}
	}
	if status := get("DPoP "+tok.AccessToken, withATH(key, ath(tok.AccessToken))); status != http.StatusOK {
		t.Fatalf("valid: status %d", status)
	}
}

// RFC 9449 §8: with Behavior.DPoPNonce a proof without the server's nonce
// is answered use_dpop_nonce with DPoP-Nonce; with it, accepted, and the
// answer carries the next nonce (rotation); the old one is then refused.
func TestDPoPServerNonce(t *testing.T) {
	idp := testapp.NewIdP(t)
	key := newKey(t)
	tok := dpopLogin(t, idp, key)
	idp.Behave(oauthlogintest.Behavior{DPoPNonce: true})
	target := idp.URL + "/token"
	status, resp := dpopRefresh(t, idp, tok.RefreshToken, signProof(t, key, jose.ES256, "dpop+jwt", proofClaims("POST", target)))
	nonce := resp.Header.Get("DPoP-Nonce")
	if status != http.StatusBadRequest || nonce == "" {
		t.Fatalf("without a nonce: %d, DPoP-Nonce %q", status, nonce)
	}
	c := proofClaims("POST", target)
	c["nonce"] = nonce
	status, resp = dpopRefresh(t, idp, tok.RefreshToken, signProof(t, key, jose.ES256, "dpop+jwt", c))
	next := resp.Header.Get("DPoP-Nonce")
	if status != http.StatusOK || next == "" || next == nonce {
		t.Fatalf("with the nonce: %d, next nonce %q (was %q)", status, next, nonce)
	}
	c = proofClaims("POST", target)
	c["nonce"] = nonce
	if status, _ := dpopRefresh(t, idp, tok.RefreshToken, signProof(t, key, jose.ES256, "dpop+jwt", c)); status != http.StatusBadRequest {
		t.Fatalf("with the rotated-out nonce: %d, want 400", status)
	}
}

// Behavior.IgnoreDPoP: the token endpoint answers Bearer despite a proof.
func TestDPoPIgnored(t *testing.T) {
	idp := testapp.NewIdP(t)
	idp.Behave(oauthlogintest.Behavior{IgnoreDPoP: true})
	ctx := context.WithValue(t.Context(), oauth2.HTTPClient, &http.Client{Transport: proofTransport{t, newKey(t)}})
	tok, err := testapp.CodeFlow(ctx, *clientConfig(idp), "n-1")
	if err != nil || tok.TokenType != "Bearer" || idp.DPoPProofs() != 0 {
		t.Fatalf("token_type %v, %d proofs, %v; want Bearer, 0", tok, idp.DPoPProofs(), err)
	}
}
