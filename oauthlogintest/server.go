package oauthlogintest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"
)

// Server is a fake OpenID Connect provider listening on a loopback address.
// Create one with [NewServer] and stop it with [Server.Close]. All methods
// are safe for concurrent use, also while requests are being served.
//
// The provider is honest unless told otherwise with [Server.Behave]. It
// knows one confidential client, which authenticates with
// client_secret_basic or client_secret_post, or with a JWT
// (private_key_jwt, client_secret_jwt) after [Server.SetClientKey] or
// [Server.SetClientAuthMethod]. Authorization codes are valid
// for a minute and spent by their first redemption, even a failed one.
// Every code exchange returns a refresh token, and an ID token when the
// openid scope was requested. The authorization endpoint approves the
// current user at once, unless a login page set with [Server.SetLoginPage]
// asks the user.
//
// The exported fields describe the server; they are set by NewServer and
// the server never reads them back. Change the secret with
// [Server.SetClientSecret], not by assigning the field.
type Server struct {
	// URL is the issuer and base URL, such as http://127.0.0.1:41234,
	// without a trailing slash.
	URL string
	// ClientID is the only client the server knows: "oauthlogin-test-client".
	ClientID string
	// ClientSecret is that client's secret: 32 random bytes, base64url.
	ClientSecret string

	ts       *httptest.Server
	stop     context.CancelFunc                // cancels every request's context, for Close
	issuer   string                            // copy of URL
	clientID string                            // copy of ClientID
	rogueKey func() (*rsa.PrivateKey, error)   // key no JWKS publishes, made on first use
	ecKey    func() (*ecdsa.PrivateKey, error) // published while Behavior.TokenAlg is ES256, made on first use
	mux      *http.ServeMux

	mu        sync.Mutex
	secret    string
	user      User
	accessTTL time.Duration
	behavior  Behavior
	keys      []signingKey // oldest first; the last one signs
	codes     map[string]*grant
	access    map[string]*accessToken
	refresh   map[string]*refreshToken
	rotated   map[string]*grant       // spent refresh tokens, to catch their reuse
	devices   map[string]*deviceGrant // by device code
	// devicePolls counts the polls answered from Behavior.DevicePolls.
	devicePolls int
	revoked     map[string]bool
	hits        map[string]int
	lastID      string                                                 // the last ID token issued, for LastIDToken
	loginPage   func(http.ResponseWriter, *http.Request, LoginRequest) // nil: approve at once
	loginTTL    time.Duration                                          // of held login requests
	logins      map[string]*pendingLogin

	// authTime is when the user last authenticated at the provider
	// (SetAuthTime); zero when nobody is signed in.
	authTime time.Time
	// pushed are the pushed authorization requests, by request_uri.
	pushed map[string]*pushedRequest

	// clientAuth is how the client authenticates (SetClientAuthMethod,
	// SetClientKey), with the jti of the client assertions seen.
	clientAuth clientAuth

	// DPoP (dpop.go): the jti of accepted proofs, the nonce of
	// Behavior.DPoPNonce, and how many proofs were accepted.
	dpopJTIs   map[string]time.Time
	dpopNonce  string
	dpopProofs int
	// Logout (logout.go).
	providerSessions map[string]*providerSession // by sid
	issuedIDs        map[string]string           // ID token -> sid, for id_token_hint
	postLogoutURIs   []string                    // registered post_logout_redirect_uris
	backChannelURI   string                      // registered backchannel_logout_uri
}

// NewServer starts a Server on 127.0.0.1 with a random port. It approves
// the user Ada Lovelace (subject "user-1"), signs with one RSA-2048 key
// whose kid is "key-1" and issues access tokens valid for one hour. Like
// httptest.NewServer, it panics if it cannot start.
func NewServer() *Server {
	key, err := newSigningKey("key-1")
	if err != nil {
		panic(err)
	}
	s := &Server{
		ClientID:     "oauthlogin-test-client",
		ClientSecret: randomString(),
		rogueKey: sync.OnceValues(func() (*rsa.PrivateKey, error) {
			return rsa.GenerateKey(rand.Reader, 2048)
		}),
		ecKey: sync.OnceValues(func() (*ecdsa.PrivateKey, error) {
			return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		}),
		user:      defaultUser(),
		accessTTL: time.Hour,
		keys:      []signingKey{key},
		codes:     make(map[string]*grant),
		access:    make(map[string]*accessToken),
		refresh:   make(map[string]*refreshToken),
		rotated:   make(map[string]*grant),
		revoked:   make(map[string]bool),
		hits:      make(map[string]int),
		devices:   make(map[string]*deviceGrant),
		loginTTL:  loginLifetime,
		logins:    make(map[string]*pendingLogin),
		pushed:    make(map[string]*pushedRequest),

		providerSessions: make(map[string]*providerSession),
		issuedIDs:        make(map[string]string),
	}
	s.clientID = s.ClientID
	s.secret = s.ClientSecret
	s.mux = s.routes()
	s.ts = httptest.NewUnstartedServer(s.mux)
	// Requests' contexts end when Close starts, so that a delayed answer
	// never holds Close up.
	base, stop := context.WithCancel(context.Background())
	s.stop = stop
	s.ts.Config.BaseContext = func(net.Listener) context.Context { return base }
	s.URL = "http://" + s.ts.Listener.Addr().String()
	s.issuer = s.URL
	s.ts.Start()
	return s
}

// Close shuts the server down and blocks until all requests have finished.
func (s *Server) Close() {
	s.stop()
	s.ts.Close()
}

// SetUser sets the account that the authorization endpoint approves from
// now on. Codes and tokens already issued keep the user they were issued for.
func (s *Server) SetUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.user = u
}

// SetAccessTokenTTL sets the lifetime of access tokens issued from now on.
// Zero or a negative duration issues tokens that are already expired.
func (s *Server) SetAccessTokenTTL(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accessTTL = d
}

// SetClientSecret changes the client secret the token and revocation
// endpoints accept, and updates s.ClientSecret. Call it before starting
// requests that read s.ClientSecret.
func (s *Server) SetClientSecret(secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.secret = secret
	s.ClientSecret = secret
}

// Hits reports how many requests an endpoint has served so far. Endpoint
// names are "discovery", "jwks", "authorize", "token", "userinfo",
// "revoke", "device", "par" and "logout"; any other name reports 0.
func (s *Server) Hits(endpoint string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[endpoint]
}

// LastIDToken returns the last ID token the token endpoint issued, or ""
// before the first: capture it after one login and replay it in the next
// with Behavior.IDToken.
func (s *Server) LastIDToken() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastID
}

// Revoked reports whether a client asked the revocation endpoint to
// revoke token.
func (s *Server) Revoked(token string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.revoked[token]
}

// routes maps the endpoints, counting every request that reaches one.
func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	s.handle(mux, "discovery", s.serveDiscovery, "GET /.well-known/openid-configuration")
	s.handle(mux, "jwks", s.serveJWKS, "GET /jwks")
	s.handle(mux, "authorize", s.serveAuthorize, "GET /authorize")
	s.handle(mux, "token", s.serveToken, "POST /token")
	s.handle(mux, "userinfo", s.serveUserInfo, "GET /userinfo", "POST /userinfo")
	s.handle(mux, "revoke", s.serveRevoke, "POST /revoke")
	s.handle(mux, "device", s.serveDevice, "POST /device")
	s.handle(mux, "par", s.servePAR, "POST /par")
	s.handle(mux, "logout", s.serveLogout, "GET /logout", "POST /logout")
	return mux
}

// handle registers h under patterns and counts its hits as endpoint.
func (s *Server) handle(mux *http.ServeMux, endpoint string, h http.HandlerFunc, patterns ...string) {
	counted := func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.hits[endpoint]++
		s.mu.Unlock()
		scripted(s.currentBehavior(), endpoint, h).ServeHTTP(w, r)
	}
	for _, p := range patterns {
		mux.HandleFunc(p, counted)
	}
}

// randomString returns 32 random bytes, base64url without padding.
func randomString() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("oauthlogintest: reading random bytes: %v", err))
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
