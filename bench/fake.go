// Package bench compares oauthlogin with goth, zitadel/oidc and
// hashicorp/cap on one in-process fake OpenID provider, one back-channel
// HTTP client and one browser driver. See README.md.
package bench

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Subject is the fake's one user.
const Subject = "bench-user-1"

// Endpoint indexes the fake's request counters.
type Endpoint int

const (
	Discovery Endpoint = iota
	JWKS
	Authorize
	Token
	UserInfo
	numEndpoints
)

// Misbehavior makes the fake issue one kind of bad answer, for the
// correctness tests. The zero value is an honest provider.
type Misbehavior struct {
	BadSignature bool   // flip a bit of the ID token's signature
	ReplayNonce  bool   // an ID token minted for another login (another nonce, or none)
	Issuer       string // iss claim
	Audience     string // aud claim
	Expired      bool   // exp an hour ago
	BadAtHash    bool   // at_hash of another access token
	UserInfoSub  string // sub of the userinfo answer
	State        string // state sent back to the callback
	IssParam     string // RFC 9207 iss authorization response parameter
}

// Fake is a minimal OpenID provider: discovery, JWKS, an authorization
// endpoint that approves at once, a token endpoint and userinfo. Its ID
// tokens are signed ahead of time, by Presign, outside the measured code:
// an RSA-2048 signature costs about a millisecond, ten times a login.
type Fake struct {
	URL string

	srv       *httptest.Server
	key       *rsa.PrivateKey
	discovery []byte
	jwks      []byte

	mu      sync.Mutex
	clients map[string]*FakeClient
	grants  map[string]*grant  // code -> grant
	signed  map[string]*issued // client + "\x00" + nonce -> tokens
	access  map[string]*issued // access token -> tokens (userinfo)
	refresh map[string]*FakeClient
	bad     Misbehavior

	hits      [numEndpoints]atomic.Int64
	pkceOK    atomic.Int64 // token requests whose S256 verifier matched
	busy      atomic.Int64 // nanoseconds spent in handlers
	lastNonce atomic.Value // string: nonce of the last authorization request
	lastPKCE  atomic.Value // string: code_challenge_method of the last one
}

// FakeClient is a registered client.
type FakeClient struct {
	ID, Secret, RedirectURI string
	// ExpiresIn is the access token lifetime it announces; default an hour.
	ExpiresIn int
	// Reusable makes the code "floor" redeemable again and again, for the
	// floor measurement of a token request.
	Reusable bool
}

type grant struct {
	client    *FakeClient
	redirect  string
	nonce     string
	challenge string
}

// issued is what a token request answers, built when it is presigned.
type issued struct {
	body     []byte // token response
	idToken  string
	access   string
	userinfo []byte
}

// NewFake starts a fake provider on a loopback port.
func NewFake() *Fake {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	f := &Fake{
		key:     key,
		clients: map[string]*FakeClient{},
		grants:  map[string]*grant{},
		signed:  map[string]*issued{},
		access:  map[string]*issued{},
		refresh: map[string]*FakeClient{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", f.count(Discovery, f.serveStatic(&f.discovery)))
	mux.HandleFunc("GET /jwks", f.count(JWKS, f.serveStatic(&f.jwks)))
	mux.HandleFunc("GET /authorize", f.count(Authorize, f.authorize))
	mux.HandleFunc("POST /token", f.count(Token, f.token))
	mux.HandleFunc("GET /userinfo", f.count(UserInfo, f.userinfo))
	f.srv = httptest.NewServer(mux)
	f.URL = f.srv.URL
	f.discovery, _ = json.Marshal(map[string]any{
		"issuer":                                         f.URL,
		"authorization_endpoint":                         f.URL + "/authorize",
		"token_endpoint":                                 f.URL + "/token",
		"userinfo_endpoint":                              f.URL + "/userinfo",
		"jwks_uri":                                       f.URL + "/jwks",
		"response_types_supported":                       []string{"code"},
		"subject_types_supported":                        []string{"public"},
		"id_token_signing_alg_values_supported":          []string{"RS256"},
		"code_challenge_methods_supported":               []string{"S256"},
		"token_endpoint_auth_methods_supported":          []string{"client_secret_basic", "client_secret_post"},
		"grant_types_supported":                          []string{"authorization_code", "refresh_token"},
		"scopes_supported":                               []string{"openid", "email", "profile"},
		"authorization_response_iss_parameter_supported": true,
	})
	f.jwks, _ = json.Marshal(map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "use": "sig", "alg": "RS256", "kid": "k1",
		"n": b64(key.N.Bytes()),
		"e": b64(big.NewInt(int64(key.E)).Bytes()),
	}}})
	return f
}

// Close stops the server.
func (f *Fake) Close() { f.srv.Close() }

// PublicKey is the key the ID tokens are signed with.
func (f *Fake) PublicKey() *rsa.PublicKey { return &f.key.PublicKey }

// AddClient registers a client.
func (f *Fake) AddClient(c *FakeClient) {
	if c.ExpiresIn == 0 {
		c.ExpiresIn = 3600
	}
	f.mu.Lock()
	f.clients[c.ID] = c
	f.mu.Unlock()
}

// Behave sets the misbehavior of tokens presigned and of authorization
// requests made from now on.
func (f *Fake) Behave(m Misbehavior) {
	f.mu.Lock()
	f.bad = m
	// Tokens signed for the no-nonce clients are cached: drop them.
	clear(f.signed)
	f.mu.Unlock()
}

// Hits returns the number of requests an endpoint has served.
func (f *Fake) Hits(e Endpoint) int64 { return f.hits[e].Load() }

// Busy returns the time spent inside the fake's handlers.
func (f *Fake) Busy() time.Duration { return time.Duration(f.busy.Load()) }

// PKCEVerified returns the number of token requests whose PKCE verifier
// matched the S256 challenge of their authorization request.
func (f *Fake) PKCEVerified() int64 { return f.pkceOK.Load() }

// LastRequest returns the nonce and code_challenge_method of the last
// authorization request.
func (f *Fake) LastRequest() (nonce, pkceMethod string) {
	n, _ := f.lastNonce.Load().(string)
	m, _ := f.lastPKCE.Load().(string)
	return n, m
}

// ResetCounters zeroes hits and busy time.
func (f *Fake) ResetCounters() {
	for i := range f.hits {
		f.hits[i].Store(0)
	}
	f.busy.Store(0)
	f.pkceOK.Store(0)
}

// PresignFor signs the tokens that the authorization request at
// authorizeURL will get (clients that send no nonce get one cached token).
func (f *Fake) PresignFor(authorizeURL string) error { return f.PresignForUser(authorizeURL, Subject) }

// PresignForUser is PresignFor for a login of the user subject instead of
// Subject. A client that sends no nonce gets its one cached token,
// whichever user that names.
func (f *Fake) PresignForUser(authorizeURL, subject string) error {
	u, err := url.Parse(authorizeURL)
	if err != nil {
		return err
	}
	q := u.Query()
	return f.presign(q.Get("client_id"), q.Get("nonce"), subject)
}

// Presign signs an ID token (and prepares the whole token and userinfo
// answers) for a login of client with nonce.
//
// A client that sends no nonce reuses one cached token, but Presign still
// signs one and drops it: signing leaves garbage that the collector
// reclaims during the timed part of a Login benchmark, and every row
// should carry the same amount, not only the rows that send a nonce.
func (f *Fake) Presign(clientID, nonce string) error { return f.presign(clientID, nonce, Subject) }

func (f *Fake) presign(clientID, nonce, subject string) error {
	f.mu.Lock()
	c, bad := f.clients[clientID], f.bad
	_, done := f.signed[clientID+"\x00"+nonce]
	f.mu.Unlock()
	if c == nil {
		return fmt.Errorf("bench: fake: unknown client %q", clientID)
	}
	if done {
		if nonce == "" {
			_, err := f.sign(c, nonce, subject, bad) // the same garbage as every other row
			return err
		}
		return nil
	}
	is, err := f.sign(c, nonce, subject, bad)
	if err != nil {
		return err
	}
	f.mu.Lock()
	f.signed[clientID+"\x00"+nonce] = is
	f.access[is.access] = is
	f.refresh[is.access+".r"] = c
	f.mu.Unlock()
	return nil
}

func (f *Fake) sign(c *FakeClient, nonce, subject string, bad Misbehavior) (*issued, error) {
	now := time.Now()
	access := randomString(32)
	claims := map[string]any{
		"iss":            f.URL,
		"sub":            subject,
		"aud":            c.ID,
		"iat":            now.Unix(),
		"exp":            now.Add(time.Hour).Unix(),
		"email":          "grace@example.com",
		"email_verified": true,
		"name":           "Grace Hopper",
		"at_hash":        atHash(access),
	}
	if nonce != "" {
		claims["nonce"] = nonce
	}
	if bad.ReplayNonce && nonce != "" {
		claims["nonce"] = randomString(32)
	}
	if bad.Issuer != "" {
		claims["iss"] = bad.Issuer
	}
	if bad.Audience != "" {
		claims["aud"] = bad.Audience
	}
	if bad.Expired {
		claims["iat"], claims["exp"] = now.Add(-2*time.Hour).Unix(), now.Add(-time.Hour).Unix()
	}
	if bad.BadAtHash {
		claims["at_hash"] = atHash("another access token")
	}
	idToken, err := f.signJWT(claims, bad.BadSignature)
	if err != nil {
		return nil, err
	}
	sub := subject
	if bad.UserInfoSub != "" {
		sub = bad.UserInfoSub
	}
	info, _ := json.Marshal(map[string]any{"sub": sub, "email": "grace@example.com", "email_verified": true, "name": "Grace Hopper"})
	body, _ := json.Marshal(map[string]any{
		"access_token":  access,
		"token_type":    "Bearer",
		"expires_in":    c.ExpiresIn,
		"refresh_token": access + ".r",
		"id_token":      idToken,
	})
	return &issued{body: body, idToken: idToken, access: access, userinfo: info}, nil
}

// signJWT makes an RS256 JWT.
func (f *Fake) signJWT(claims map[string]any, corrupt bool) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	input := b64([]byte(`{"alg":"RS256","kid":"k1","typ":"JWT"}`)) + "." + b64(payload)
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, f.key, crypto.SHA256, sum[:])
	if err != nil {
		return "", err
	}
	if corrupt {
		sig[len(sig)/2] ^= 1
	}
	return input + "." + b64(sig), nil
}

// count wraps a handler with the request counter and the busy clock.
func (f *Fake) count(e Endpoint, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		f.hits[e].Add(1)
		h(w, r)
		f.busy.Add(int64(time.Since(start)))
	}
}

func (f *Fake) serveStatic(body *[]byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(*body)
	}
}

// authorize approves at once: it redirects to the client's callback with
// a code, the state and the issuer (RFC 9207).
func (f *Fake) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f.mu.Lock()
	c, bad := f.clients[q.Get("client_id")], f.bad
	f.mu.Unlock()
	switch {
	case c == nil:
		http.Error(w, "unknown client", http.StatusBadRequest)
		return
	case q.Get("redirect_uri") != c.RedirectURI:
		http.Error(w, "redirect_uri not registered", http.StatusBadRequest)
		return
	case q.Get("response_type") != "code" || !strings.Contains(" "+q.Get("scope")+" ", " openid "):
		http.Error(w, "want response_type=code and scope openid", http.StatusBadRequest)
		return
	}
	g := &grant{client: c, redirect: c.RedirectURI, nonce: q.Get("nonce")}
	method := q.Get("code_challenge_method")
	f.lastNonce.Store(g.nonce)
	f.lastPKCE.Store(method)
	if ch := q.Get("code_challenge"); ch != "" {
		if method != "S256" {
			http.Error(w, "code_challenge_method must be S256", http.StatusBadRequest)
			return
		}
		g.challenge = ch
	}
	code := randomString(32)
	f.mu.Lock()
	f.grants[code] = g
	f.mu.Unlock()
	state, iss := q.Get("state"), f.URL
	if bad.State != "" {
		state = bad.State
	}
	if bad.IssParam != "" {
		iss = bad.IssParam
	}
	sep := "?"
	if strings.Contains(c.RedirectURI, "?") {
		sep = "&"
	}
	w.Header().Set("Location", c.RedirectURI+sep+"code="+code+"&state="+url.QueryEscape(state)+"&iss="+url.QueryEscape(iss))
	w.WriteHeader(http.StatusFound)
}

// token redeems a code (checking the client, the redirect URI and PKCE)
// or a refresh token.
func (f *Fake) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		tokenError(w, http.StatusBadRequest, "invalid_request")
		return
	}
	id, secret, basic := r.BasicAuth()
	if basic {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	f.mu.Lock()
	c := f.clients[id]
	f.mu.Unlock()
	if c == nil || subtle.ConstantTimeCompare([]byte(secret), []byte(c.Secret)) != 1 {
		tokenError(w, http.StatusUnauthorized, "invalid_client")
		return
	}
	switch r.PostForm.Get("grant_type") {
	case "authorization_code":
		f.redeem(w, r, c)
	case "refresh_token":
		f.mu.Lock()
		owner := f.refresh[r.PostForm.Get("refresh_token")]
		f.mu.Unlock()
		if owner != c {
			tokenError(w, http.StatusBadRequest, "invalid_grant")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.Write([]byte(`{"access_token":"` + randomString(32) + `","token_type":"Bearer","expires_in":` + strconv.Itoa(c.ExpiresIn) + `}`))
	default:
		tokenError(w, http.StatusBadRequest, "unsupported_grant_type")
	}
}

func (f *Fake) redeem(w http.ResponseWriter, r *http.Request, c *FakeClient) {
	code := r.PostForm.Get("code")
	f.mu.Lock()
	g := f.grants[code]
	if g != nil && !(c.Reusable && code == "floor") {
		delete(f.grants, code)
	}
	f.mu.Unlock()
	if g == nil || g.client != c || r.PostForm.Get("redirect_uri") != g.redirect {
		tokenError(w, http.StatusBadRequest, "invalid_grant")
		return
	}
	verifier := r.PostForm.Get("code_verifier")
	if g.challenge != "" {
		sum := sha256.Sum256([]byte(verifier))
		if verifier == "" || b64(sum[:]) != g.challenge {
			tokenError(w, http.StatusBadRequest, "invalid_grant")
			return
		}
		f.pkceOK.Add(1)
	} else if verifier != "" {
		tokenError(w, http.StatusBadRequest, "invalid_grant")
		return
	}
	key := c.ID + "\x00" + g.nonce
	f.mu.Lock()
	is := f.signed[key]
	if g.nonce != "" && !(c.Reusable && code == "floor") {
		delete(f.signed, key)
	}
	f.mu.Unlock()
	if is == nil {
		tokenError(w, http.StatusInternalServerError, "server_error") // not presigned: a bug in the driver
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(is.body)
}

// AddFloorGrant makes code "floor" of a Reusable client redeemable with
// verifier, for a login presigned with nonce.
func (f *Fake) AddFloorGrant(clientID, nonce, verifier string) (accessToken string, err error) {
	if err := f.Presign(clientID, nonce); err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(verifier))
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.clients[clientID]
	if c == nil || !c.Reusable {
		return "", errors.New("bench: fake: floor grants need a Reusable client")
	}
	f.grants["floor"] = &grant{client: c, redirect: c.RedirectURI, nonce: nonce, challenge: b64(sum[:])}
	return f.signed[clientID+"\x00"+nonce].access, nil
}

// IDTokenFor returns the presigned ID token of a client and nonce.
func (f *Fake) IDTokenFor(clientID, nonce string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if is := f.signed[clientID+"\x00"+nonce]; is != nil {
		return is.idToken
	}
	return ""
}

func (f *Fake) userinfo(w http.ResponseWriter, r *http.Request) {
	auth := r.Header.Get("Authorization")
	if len(auth) < 7 || !strings.EqualFold(auth[:7], "bearer ") {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	f.mu.Lock()
	is := f.access[auth[7:]]
	f.mu.Unlock()
	if is == nil {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(is.userinfo)
}

func tokenError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write([]byte(`{"error":"` + code + `"}`))
}

func atHash(access string) string {
	sum := sha256.Sum256([]byte(access))
	return b64(sum[:16])
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func randomString(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return b64(b)
}
