package oauthlogintest_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/oauthlogin/oauthlogin/internal/testapp"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
)

func TestRawResponse(t *testing.T) {
	t.Parallel()
	idp := testapp.NewIdP(t)
	idp.Behave(oauthlogintest.Behavior{Raw: map[string]oauthlogintest.RawResponse{
		"userinfo": {Status: 502, ContentType: "text/html", Body: []byte("<html>down</html>")},
		"jwks":     {ContentType: "application/json", Body: []byte("0123456789"), Size: 1 << 20},
	}})
	resp, err := http.Get(idp.URL + "/userinfo")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 502 || resp.Header.Get("Content-Type") != "text/html" || string(body) != "<html>down</html>" {
		t.Fatalf("userinfo = %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	resp, err = http.Get(idp.URL + "/jwks")
	if err != nil {
		t.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if n != 1<<20 {
		t.Fatalf("jwks body of %d bytes, want 1 MiB", n)
	}
	if idp.Hits("userinfo") != 1 || idp.Hits("jwks") != 1 {
		t.Fatal("raw responses are not counted")
	}
}

// A dripping or silent endpoint holds the client until it gives up, and
// Close does not wait for it.
func TestRawResponseDripAndHang(t *testing.T) {
	t.Parallel()
	for name, raw := range map[string]oauthlogintest.RawResponse{
		"Drip": {Body: []byte("{}"), Drip: time.Hour},
		"Hang": {Hang: true},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			idp := oauthlogintest.NewServer()
			idp.Behave(oauthlogintest.Behavior{Raw: map[string]oauthlogintest.RawResponse{"discovery": raw}})
			client := &http.Client{Timeout: 100 * time.Millisecond}
			resp, err := client.Get(idp.URL + "/.well-known/openid-configuration")
			if err == nil {
				_, err = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			if err == nil {
				t.Fatal("the client read a whole answer")
			}
			done := make(chan struct{})
			go func() { idp.Close(); close(done) }()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("Close waited for the scripted answer")
			}
		})
	}
}

func TestIntercept(t *testing.T) {
	t.Parallel()
	idp := testapp.NewIdP(t)
	var auth atomic.Value
	idp.Behave(oauthlogintest.Behavior{Intercept: map[string]func(http.Handler) http.Handler{
		"userinfo": func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				auth.Store(r.Header.Get("Authorization"))
				next.ServeHTTP(w, r)
			})
		},
	}})
	tok := login(t, clientConfig(idp))
	req, _ := http.NewRequest("GET", idp.URL+"/userinfo", nil)
	tok.SetAuthHeader(req)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || auth.Load() != "Bearer "+tok.AccessToken {
		t.Fatalf("userinfo = %d, seen Authorization %v", resp.StatusCode, auth.Load())
	}
}

func TestUserInfoRefusesTokenInQuery(t *testing.T) {
	t.Parallel()
	idp := testapp.NewIdP(t)
	tok := login(t, clientConfig(idp))
	req, _ := http.NewRequest("GET", idp.URL+"/userinfo?access_token="+tok.AccessToken, nil)
	tok.SetAuthHeader(req)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("token in the header and the query = %d", resp.StatusCode)
	}
}

func TestDiscoveryMerge(t *testing.T) {
	t.Parallel()
	idp := testapp.NewIdP(t)
	idp.Behave(oauthlogintest.Behavior{Discovery: map[string]any{
		"code_challenge_methods_supported":               []string{"plain"},
		"authorization_response_iss_parameter_supported": nil,
	}})
	resp, err := http.Get(idp.URL + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if m, _ := doc["code_challenge_methods_supported"].([]any); len(m) != 1 || m[0] != "plain" {
		t.Fatalf("code_challenge_methods_supported = %v", doc["code_challenge_methods_supported"])
	}
	if _, ok := doc["authorization_response_iss_parameter_supported"]; ok {
		t.Fatal("a member set to nil is still there")
	}
	if doc["issuer"] != idp.URL {
		t.Fatalf("issuer = %v", doc["issuer"])
	}
}

// LastIDToken captures a token; IDToken sends it again in a later login.
func TestIDTokenReplay(t *testing.T) {
	t.Parallel()
	idp := testapp.NewIdP(t)
	cfg := clientConfig(idp)
	first := rawIDToken(t, login(t, cfg))
	if idp.LastIDToken() != first {
		t.Fatal("LastIDToken is not the token just issued")
	}
	idp.Behave(oauthlogintest.Behavior{IDToken: first})
	if again := rawIDToken(t, login(t, cfg)); again != first {
		t.Fatal("the scripted ID token was not sent")
	}
}

func TestAccessTokenSize(t *testing.T) {
	t.Parallel()
	idp := testapp.NewIdP(t)
	idp.Behave(oauthlogintest.Behavior{AccessTokenSize: 8192})
	tok := login(t, clientConfig(idp))
	if len(tok.AccessToken) != 8192 {
		t.Fatalf("access token of %d characters", len(tok.AccessToken))
	}
	req, _ := http.NewRequest("GET", idp.URL+"/userinfo", nil)
	tok.SetAuthHeader(req)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("userinfo with the padded token = %d", resp.StatusCode)
	}
}

func TestTokenAlgorithms(t *testing.T) {
	t.Parallel()
	idp := testapp.NewIdP(t)
	cfg := clientConfig(idp)

	// ES256 with a published key: go-oidc accepts it only when told to.
	idp.Behave(oauthlogintest.Behavior{TokenAlg: "ES256"})
	raw := rawIDToken(t, login(t, cfg))
	if h, _ := decodeJWT(t, raw); h["alg"] != "ES256" || h["kid"] != "ec-1" {
		t.Fatalf("header %v", h)
	}
	if keys := jwks(t, idp); len(keys) != 2 || keys[1]["kty"] != "EC" || keys[1]["crv"] != "P-256" {
		t.Fatalf("JWKS while ES256 is scripted: %v", keys)
	}
	if _, err := verifier(t, idp).Verify(t.Context(), raw); err == nil {
		t.Fatal("an ES256 token verified although discovery lists RS256 only")
	}
	p, err := oidc.NewProvider(t.Context(), idp.URL)
	if err != nil {
		t.Fatal(err)
	}
	es := p.Verifier(&oidc.Config{ClientID: idp.ClientID, SupportedSigningAlgs: []string{"ES256"}})
	if _, err := es.Verify(t.Context(), raw); err != nil {
		t.Fatalf("the ES256 signature does not verify: %v", err)
	}

	// HS256 keyed with the public key's DER.
	der, err := x509.MarshalPKIXPublicKey(idp.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	idp.Behave(oauthlogintest.Behavior{TokenAlg: "HS256", HMACKey: der})
	raw = rawIDToken(t, login(t, cfg))
	if h, _ := decodeJWT(t, raw); h["alg"] != "HS256" || h["kid"] != "key-1" {
		t.Fatalf("header %v", h)
	}
	if len(jwks(t, idp)) != 1 {
		t.Fatal("the EC key is published without TokenAlg ES256")
	}

	// RS384 and PS256 with the RSA key, which the JWKS then publishes
	// with that alg; the at_hash follows the algorithm's hash.
	for _, alg := range []string{"RS384", "PS256"} {
		idp.Behave(oauthlogintest.Behavior{TokenAlg: alg})
		tok := login(t, cfg)
		raw = rawIDToken(t, tok)
		if h, _ := decodeJWT(t, raw); h["alg"] != alg || h["kid"] != "key-1" {
			t.Fatalf("header %v", h)
		}
		if keys := jwks(t, idp); len(keys) != 1 || keys[0]["alg"] != alg {
			t.Fatalf("JWKS while %s is scripted: %v", alg, keys)
		}
		v := p.Verifier(&oidc.Config{ClientID: idp.ClientID, SupportedSigningAlgs: []string{alg}})
		idt, err := v.Verify(t.Context(), raw)
		if err != nil {
			t.Fatalf("the %s signature does not verify: %v", alg, err)
		}
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			t.Fatalf("%s at_hash: %v", alg, err)
		}
	}
}

func TestTokenHeader(t *testing.T) {
	t.Parallel()
	idp := testapp.NewIdP(t)
	idp.Behave(oauthlogintest.Behavior{TokenHeader: map[string]any{"jku": "https://attacker.example/jwks", "typ": nil}, EmbedJWK: true, UnknownKID: true})
	raw := rawIDToken(t, login(t, clientConfig(idp)))
	h, _ := decodeJWT(t, raw)
	jwk, _ := h["jwk"].(map[string]any)
	if h["jku"] != "https://attacker.example/jwks" || h["typ"] != nil || jwk == nil || jwk["kty"] != "RSA" || h["kid"] != "unpublished-key" {
		t.Fatalf("header %v", h)
	}
	if _, err := verifier(t, idp).Verify(context.Background(), raw); err == nil {
		t.Fatal("a token signed by the key in its own header verified")
	}
}

func TestTokenAlgUnknown(t *testing.T) {
	t.Parallel()
	idp := testapp.NewIdP(t)
	idp.Behave(oauthlogintest.Behavior{TokenAlg: "ES384"})
	if _, err := codeFlow(t.Context(), clientConfig(idp)); err == nil {
		t.Fatal("a token was issued for an unknown TokenAlg")
	}
}
