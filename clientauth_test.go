package oauthlogin_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/internal/testapp"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
	"github.com/oauthlogin/oauthlogin/providers"
)

// sentRequest is a request the app sent to the provider, as it went out.
type sentRequest struct {
	method, path, authorization string
	header                      http.Header
	body                        string
}

// requestLog records every request that goes through it.
type requestLog struct {
	mu   sync.Mutex
	reqs []sentRequest
}

func (l *requestLog) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(r.Body)
		r.Body.Close()
		r.Body = io.NopCloser(bytes.NewReader(body))
		if r.ContentLength != int64(len(body)) {
			return nil, io.ErrUnexpectedEOF // the request's length lies
		}
	}
	l.mu.Lock()
	l.reqs = append(l.reqs, sentRequest{r.Method, r.URL.Path, r.Header.Get("Authorization"), r.Header.Clone(), string(body)})
	l.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

func (l *requestLog) all() []sentRequest {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]sentRequest(nil), l.reqs...)
}

// pemKey encodes key as a PKCS #8 PEM block.
func pemKey(t testing.TB, key crypto.Signer) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// clientAuthApp is an app whose "test" provider authenticates its client
// with auth at a fake provider set up by idpSetup, every request to the
// provider recorded.
type clientAuthApp struct {
	a    *testapp.App
	m    *oauthlogin.Manager
	log  *requestLog
	prov *providers.OIDCProvider
}

func newClientAuthApp(t *testing.T, idpSetup func(*oauthlogintest.Server), auth func() (*providers.ClientAuth, error), secret bool) *clientAuthApp {
	t.Helper()
	c := &clientAuthApp{log: &requestLog{}, a: testapp.New(t, oauthlogin.NewMemoryStore())}
	idp := c.a.IdP
	idpSetup(idp)
	client := &http.Client{Transport: c.log}
	c.a.Config.DeviceProviders = []string{"test"}
	c.a.Config.Sessions.RevokeOnLogout = true
	c.a.Config.HTTPClient = client
	c.m = c.a.NewManager()
	ca, err := auth()
	if err != nil {
		t.Fatal(err)
	}
	pc := providers.Config{ClientID: idp.ClientID, ClientAuth: ca, HTTPClient: client}
	if secret {
		pc.ClientSecret = idp.ClientSecret
	}
	c.a.Log.Secret(idp.ClientSecret)
	if c.prov, err = providers.OIDC(t.Context(), "test", idp.URL, pc); err != nil {
		t.Fatal(err)
	}
	if err := c.m.Register(c.prov); err != nil {
		t.Fatal(err)
	}
	c.a.Start(testapp.Mux(c.m))
	return c
}

// TestClientAuthEndToEnd: with private_key_jwt (RSA, ECDSA, Ed25519 keys)
// and client_secret_jwt, every back-channel request that authenticates
// the client carries a fresh client assertion and nothing else (RFC 7523
// §2.2: "client_assertion_type ... client_assertion"; OpenID Connect Core
// §9): the code exchange, the refresh, the device authorization and its
// token poll, the client credentials grant and the revocation at logout.
// The fake provider, which verifies each assertion and refuses a jti it
// has seen, accepts them all; the client secret is never sent.
func TestClientAuthEndToEnd(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	cases := []struct {
		name   string
		setup  func(*oauthlogintest.Server)
		auth   func() (*providers.ClientAuth, error)
		secret bool
		alg    string
	}{
		{"private_key_jwt RS256", func(s *oauthlogintest.Server) { s.SetClientKey(rsaKey.Public(), "rsa-1") },
			func() (*providers.ClientAuth, error) {
				return providers.PrivateKeyJWT(pemKey(t, rsaKey), providers.JWTOptions{KeyID: "rsa-1"})
			}, false, "RS256"},
		{"private_key_jwt ES256", func(s *oauthlogintest.Server) { s.SetClientKey(ecKey.Public(), "") },
			func() (*providers.ClientAuth, error) {
				return providers.PrivateKeyJWT(pemKey(t, ecKey), providers.JWTOptions{})
			}, false, "ES256"},
		{"private_key_jwt EdDSA", func(s *oauthlogintest.Server) { s.SetClientKey(edKey.Public(), "ed") },
			func() (*providers.ClientAuth, error) {
				return providers.PrivateKeyJWT(pemKey(t, edKey), providers.JWTOptions{KeyID: "ed"})
			}, false, "EdDSA"},
		{"client_secret_jwt HS256", func(s *oauthlogintest.Server) { s.SetClientAuthMethod("client_secret_jwt") },
			func() (*providers.ClientAuth, error) { return providers.ClientSecretJWT(providers.JWTOptions{}) }, true, "HS256"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newClientAuthApp(t, tc.setup, tc.auth, tc.secret)
			idp := c.a.IdP
			b := oauthlogintest.NewBrowser()
			testapp.MustSucceed(t, c.a.Login(b))

			// Refresh.
			if resp := c.a.Do(b.Client, "POST", "/auth/refresh", nil); resp.StatusCode != http.StatusOK {
				t.Fatalf("refresh = %d", resp.StatusCode)
			}
			// Device authorization and its token poll.
			dev := postJSON(t, c.a.URL+"/auth/test/device", nil)
			if dev["user_code"] == nil {
				t.Fatalf("device start = %v", dev)
			}
			if err := idp.ApproveDevice(dev["user_code"].(string), oauthlogintest.User{Subject: "tv", Email: "tv@example.com"}); err != nil {
				t.Fatal(err)
			}
			if s := postJSON(t, c.a.URL+"/auth/device/token", url.Values{"handle": {dev["handle"].(string)}}); s["secret"] == nil {
				t.Fatalf("device poll = %v", s)
			} else {
				c.a.Log.Secret(s["secret"].(string))
			}
			// Client credentials.
			ts, err := c.m.ServiceTokenSource(t.Context(), "test", nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := ts.Token(); err != nil {
				t.Fatalf("client credentials: %v", err)
			}
			// Logout revokes through the provider's Revoker.
			before := idp.Hits("revoke")
			if resp := c.a.Do(b.Client, "DELETE", "/auth/session", nil); resp.StatusCode != http.StatusNoContent {
				t.Fatalf("logout = %d", resp.StatusCode)
			}
			if idp.Hits("revoke") == before {
				t.Fatal("logout revoked nothing")
			}

			jtis := map[string]bool{}
			asserted := map[string]int{}
			for _, r := range c.log.all() {
				if strings.Contains(r.body, idp.ClientSecret) || strings.Contains(r.authorization, idp.ClientSecret) {
					t.Fatalf("the client secret was sent to %s", r.path)
				}
				if r.method != http.MethodPost || r.path == "/userinfo" {
					continue
				}
				form, _ := url.ParseQuery(r.body)
				if r.authorization != "" || form.Has("client_secret") {
					t.Fatalf("%s carried a secret or an Authorization header: %q %q", r.path, r.authorization, r.body)
				}
				if form.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
					t.Fatalf("%s has no client assertion: %s", r.path, r.body)
				}
				tok, err := jwt.ParseSigned(form.Get("client_assertion"), []jose.SignatureAlgorithm{jose.SignatureAlgorithm(tc.alg)})
				if err != nil {
					t.Fatalf("%s: assertion: %v", r.path, err)
				}
				var claims jwt.Claims
				tok.UnsafeClaimsWithoutVerification(&claims)
				if jtis[claims.ID] {
					t.Fatalf("jti %q sent twice", claims.ID)
				}
				jtis[claims.ID] = true
				asserted[r.path+" "+form.Get("grant_type")]++
			}
			for _, want := range []string{
				"/token authorization_code", "/token refresh_token", "/device ",
				"/token urn:ietf:params:oauth:grant-type:device_code", "/token client_credentials", "/revoke ",
			} {
				if asserted[want] == 0 {
					t.Errorf("no asserted request %q; got %v", want, asserted)
				}
			}
		})
	}
}

// postJSON posts form to u and decodes the JSON answer.
func postJSON(t *testing.T, u string, form url.Values) map[string]any {
	t.Helper()
	resp, err := http.Post(u, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]any
	json.NewDecoder(resp.Body).Decode(&v)
	return v
}

// TestClientAuthAssertionReplayRefused: a client assertion is for one
// request. The fake provider refuses a jti it has seen (RFC 7523 §3,
// item 7: "The authorization server MAY ensure that JWTs are not
// replayed"), so a login and a refresh that both succeed prove that each
// request had a fresh one, and replaying one the app sent fails.
func TestClientAuthAssertionReplayRefused(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	c := newClientAuthApp(t, func(s *oauthlogintest.Server) { s.SetClientKey(key.Public(), "") },
		func() (*providers.ClientAuth, error) {
			return providers.PrivateKeyJWT(pemKey(t, key), providers.JWTOptions{})
		}, false)
	b := oauthlogintest.NewBrowser()
	testapp.MustSucceed(t, c.a.Login(b))
	if resp := c.a.Do(b.Client, "POST", "/auth/refresh", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("refresh = %d", resp.StatusCode)
	}
	var assertion string
	for _, r := range c.log.all() {
		if r.path == "/token" {
			form, _ := url.ParseQuery(r.body)
			assertion = form.Get("client_assertion")
			break
		}
	}
	if assertion == "" {
		t.Fatal("no assertion sent")
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {c.a.IdP.ClientID},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {assertion}}
	resp, err := http.PostForm(c.a.IdP.URL+"/token", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a replayed assertion got %d, want 401", resp.StatusCode)
	}
}

// TestClientAuthWrongKeyFailsLogin: an assertion signed by a key the
// provider does not hold for the client is invalid_client (RFC 6749
// §5.2), and the login ends on the failure page without a session.
func TestClientAuthWrongKeyFailsLogin(t *testing.T) {
	registered, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	c := newClientAuthApp(t, func(s *oauthlogintest.Server) { s.SetClientKey(registered.Public(), "") },
		func() (*providers.ClientAuth, error) {
			return providers.PrivateKeyJWT(pemKey(t, other), providers.JWTOptions{})
		}, false)
	b := oauthlogintest.NewBrowser()
	page := c.a.Login(b)
	if page.URL.Path != "/failed" || page.URL.Query().Get("error") != oauthlogin.ErrTokenExchange.Code() {
		t.Fatalf("login with the wrong key ended at %s", page.URL)
	}
	if _, status := c.a.Session(b); status != http.StatusUnauthorized {
		t.Fatalf("a session exists: %d", status)
	}
}
