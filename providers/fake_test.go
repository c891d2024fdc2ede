package providers_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The client every fixture is written for.
const (
	fakeClientID     = "test-client-id"
	fakeClientSecret = "test-client-secret"
)

// fixture is a provider's documented shapes, from testdata/<name>.json:
// where its endpoints are, what its authorization request must carry, and
// what its token endpoint and API answer. The fake serves exactly that, at
// the documented URLs.
type fixture struct {
	Source string `json:"source"` // where the shapes come from

	Authorize  string            `json:"authorize"`   // authorization endpoint URL
	Scope      *string           `json:"scope"`       // the scope parameter it must get; nil: none
	AuthParams map[string]string `json:"auth_params"` // further parameters it must get
	FormPost   bool              `json:"form_post"`   // answer with response_mode=form_post
	FormUser   string            `json:"form_user"`   // the user field of a form_post answer
	// ResponseIss is an iss parameter the authorization response carries
	// (RFC 9207) when discovery does not announce one.
	ResponseIss string `json:"response_iss"`

	Token         string            `json:"token"`            // token endpoint URL
	Refresh       string            `json:"refresh"`          // refresh endpoint URL, when not Token
	ClientAuth    string            `json:"client_auth"`      // "basic" or "params"
	TokenResponse json.RawMessage   `json:"token_response"`   // the token endpoint's answer
	RefreshAnswer json.RawMessage   `json:"refresh_response"` // its answer to a refresh, when not TokenResponse
	TokenForm     bool              `json:"token_form"`       // send it form-encoded instead
	TokenJSON     bool              `json:"token_json"`       // the token request's parameters are a JSON object, not a form
	TokenHeader   map[string]string `json:"token_header"`     // headers the token request must carry
	NoPKCE        bool              `json:"no_pkce"`          // the token request carries no code_verifier
	AccessToken   string            `json:"access_token"`     // the token API requests must carry
	Revoke        string            `json:"revoke"`           // RFC 7009 endpoint URL; OpenID fixtures name it in discovery

	Resources []resource `json:"resources"` // API documents

	// OpenID Connect providers.
	DiscoveryURL string          `json:"discovery_url"` // default issuer + /.well-known/openid-configuration
	Discovery    json.RawMessage `json:"discovery"`
	IDToken      map[string]any  `json:"id_token"` // claims; iss, aud, iat, exp and nonce are added unless present
}

// resource is one API document the fake serves.
type resource struct {
	Method   string            `json:"method"` // default GET
	URL      string            `json:"url"`    // with the query parameters it must get
	Scheme   string            `json:"scheme"` // Authorization scheme; "query" for access_token in the query; default Bearer
	Header   map[string]string `json:"header"` // headers it must get
	Response json.RawMessage   `json:"response"`
	Status   int               `json:"status"` // default 200
}

func loadFixture(t testing.TB, name string) *fixture {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var fx fixture
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&fx); err != nil {
		t.Fatalf("testdata/%s.json: %v", name, err)
	}
	return &fx
}

// fake is a provider serving a fixture. It listens on 127.0.0.1 and is
// reached through transport, which sends it every request for another
// host with the original host in Host and the original scheme in
// X-Fake-Scheme.
type fake struct {
	t      testing.TB
	fx     *fixture
	srv    *httptest.Server
	key    *rsa.PrivateKey
	secret func(string) error // checks the client secret; default equality

	mu       sync.Mutex
	code     string
	pending  url.Values // the authorization request of code
	hits     map[string]int
	requests []*http.Request
}

// signingKey is the RSA key fakes sign ID tokens with, made once.
var signingKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

func newFake(t testing.TB, fx *fixture) *fake {
	f := &fake{t: t, fx: fx, key: signingKey(), hits: map[string]int{}}
	f.secret = func(s string) error {
		if s != fakeClientSecret {
			return fmt.Errorf("client secret %q", s)
		}
		return nil
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// transport returns a RoundTripper that sends requests for every host but
// keep to the fake, through http.DefaultTransport (which TestMain keeps
// free of idle connections).
func (f *fake) transport(keep string) http.RoundTripper {
	return rewrite{to: strings.TrimPrefix(f.srv.URL, "http://"), keep: keep}
}

type rewrite struct{ to, keep string }

func (rt rewrite) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Host == rt.keep {
		return http.DefaultTransport.RoundTrip(r)
	}
	r2 := r.Clone(r.Context())
	r2.Header.Set("X-Fake-Scheme", r.URL.Scheme)
	r2.Host = r.URL.Host
	r2.URL.Scheme, r2.URL.Host = "http", rt.to
	return http.DefaultTransport.RoundTrip(r2)
}

// hit reports how many requests the endpoint URL (scheme, host and path)
// has served.
func (f *fake) hit(endpoint string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits[endpoint]
}

// same reports whether a request is for the URL want (scheme, host, path)
// and carries its query parameters.
func same(r *http.Request, want string) bool {
	u, err := url.Parse(want)
	if err != nil {
		return false
	}
	if r.Header.Get("X-Fake-Scheme")+"://"+r.Host+r.URL.Path != u.Scheme+"://"+u.Host+u.Path {
		return false
	}
	got := r.URL.Query()
	for k, vs := range u.Query() {
		if got.Get(k) != vs[0] {
			return false
		}
	}
	return true
}

func (f *fake) serve(w http.ResponseWriter, r *http.Request) {
	endpoint := r.Header.Get("X-Fake-Scheme") + "://" + r.Host + r.URL.Path
	f.mu.Lock()
	f.hits[endpoint]++
	f.requests = append(f.requests, r)
	f.mu.Unlock()
	if r.Header.Get("X-Fake-Scheme") != "https" {
		f.fail(w, "%s: provider endpoints are https", endpoint)
		return
	}
	fx := f.fx
	switch {
	case fx.Discovery != nil && same(r, f.discoveryURL()):
		writeJSON(w, http.StatusOK, fx.Discovery)
	case fx.Discovery != nil && same(r, f.jwksURL()):
		f.serveJWKS(w)
	case same(r, fx.Authorize) && r.Method == http.MethodGet:
		f.serveAuthorize(w, r)
	case f.revokeURL() != "" && same(r, f.revokeURL()) && r.Method == http.MethodPost:
		f.serveRevoke(w, r)
	case fx.Refresh != "" && same(r, fx.Refresh) && r.Method == http.MethodPost:
		f.serveToken(w, r, "refresh_token")
	case same(r, fx.Token) && r.Method == http.MethodPost:
		f.serveToken(w, r, "")
	default:
		for _, res := range fx.Resources {
			method := res.Method
			if method == "" {
				method = http.MethodGet
			}
			if r.Method == method && same(r, res.URL) {
				f.serveResource(w, r, res)
				return
			}
		}
		f.fail(w, "unexpected request %s %s://%s%s", r.Method, r.Header.Get("X-Fake-Scheme"), r.Host, r.URL.RequestURI())
	}
}

// fail records a test error and answers 400.
func (f *fake) fail(w http.ResponseWriter, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	f.t.Errorf("fake provider: %s", msg)
	http.Error(w, msg, http.StatusBadRequest)
}

func (f *fake) discoveryDoc() map[string]any {
	var d map[string]any
	if err := json.Unmarshal(f.fx.Discovery, &d); err != nil {
		f.t.Fatalf("discovery: %v", err)
	}
	return d
}

func (f *fake) discoveryURL() string {
	if f.fx.DiscoveryURL != "" {
		return f.fx.DiscoveryURL
	}
	iss, _ := f.discoveryDoc()["issuer"].(string)
	return strings.TrimSuffix(iss, "/") + "/.well-known/openid-configuration"
}

// revokeURL is the fixture's revocation endpoint: its revoke member, else
// the one its discovery document names (revocation_endpoint, or Autodesk's
// revoke_endpoint), else "".
func (f *fake) revokeURL() string {
	if f.fx.Revoke != "" || f.fx.Discovery == nil {
		return f.fx.Revoke
	}
	d := f.discoveryDoc()
	for _, k := range []string{"revocation_endpoint", "revoke_endpoint"} {
		if s, _ := d[k].(string); s != "" {
			return s
		}
	}
	return ""
}

// serveRevoke answers an RFC 7009 request for the fixture's access token
// from an authenticated client.
func (f *fake) serveRevoke(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		f.fail(w, "revoke: %v", err)
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != fakeClientID || f.secret(secret) != nil {
		f.fail(w, "revoke: client %q is not authenticated", id)
		return
	}
	if tok := r.PostForm.Get("token"); tok != f.fx.AccessToken {
		f.fail(w, "revoke: token %q, want %q", tok, f.fx.AccessToken)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (f *fake) jwksURL() string { s, _ := f.discoveryDoc()["jwks_uri"].(string); return s }

func (f *fake) serveJWKS(w http.ResponseWriter) {
	pub := f.key.PublicKey
	writeJSON(w, http.StatusOK, map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "use": "sig", "alg": "RS256", "kid": "fake-key",
		"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}}})
}

func (f *fake) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	fx := f.fx
	checks := map[string]string{
		"client_id":             fakeClientID,
		"response_type":         "code",
		"code_challenge_method": "S256",
	}
	for k, v := range fx.AuthParams {
		checks[k] = v
	}
	for k, v := range checks {
		if got := q.Get(k); got != v {
			f.fail(w, "authorize: %s = %q, want %q", k, got, v)
			return
		}
	}
	if fx.Scope == nil && q.Has("scope") && q.Get("scope") != "" {
		f.fail(w, "authorize: scope %q, want none", q.Get("scope"))
		return
	}
	if fx.Scope != nil && q.Get("scope") != *fx.Scope {
		f.fail(w, "authorize: scope %q, want %q", q.Get("scope"), *fx.Scope)
		return
	}
	if q.Get("state") == "" || q.Get("code_challenge") == "" || q.Get("redirect_uri") == "" {
		f.fail(w, "authorize: no state, code_challenge or redirect_uri")
		return
	}
	f.mu.Lock()
	f.code = "code-" + q.Get("state")[:8]
	f.pending = q
	code := f.code
	f.mu.Unlock()
	back := url.Values{"code": {code}, "state": {q.Get("state")}}
	if fx.FormPost {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<form method="post" action="%s">`, html.EscapeString(q.Get("redirect_uri")))
		if fx.FormUser != "" {
			back.Set("user", fx.FormUser)
		}
		for k := range back {
			fmt.Fprintf(w, `<input type="hidden" name="%s" value="%s">`, html.EscapeString(k), html.EscapeString(back.Get(k)))
		}
		fmt.Fprint(w, `</form>`)
		return
	}
	if fx.Discovery != nil && f.discoveryDoc()["authorization_response_iss_parameter_supported"] == true {
		back.Set("iss", f.discoveryDoc()["issuer"].(string))
	}
	if fx.ResponseIss != "" {
		back.Set("iss", fx.ResponseIss)
	}
	http.Redirect(w, r, q.Get("redirect_uri")+"?"+back.Encode(), http.StatusFound)
}

func (f *fake) serveToken(w http.ResponseWriter, r *http.Request, only string) {
	for k, v := range f.fx.TokenHeader {
		if got := r.Header.Get(k); got != v {
			f.fail(w, "token: header %s = %q, want %q", k, got, v)
			return
		}
	}
	var form url.Values
	if f.fx.TokenJSON {
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			f.fail(w, "token: Content-Type %q, want application/json", ct)
			return
		}
		var m map[string]string
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			f.fail(w, "token: JSON body: %v", err)
			return
		}
		form = url.Values{}
		for k, v := range m {
			form.Set(k, v)
		}
	} else {
		if err := r.ParseForm(); err != nil {
			f.fail(w, "token: %v", err)
			return
		}
		form = r.PostForm
	}
	id, secret := form.Get("client_id"), form.Get("client_secret")
	switch f.fx.ClientAuth {
	case "basic":
		u, p, ok := r.BasicAuth()
		if !ok {
			f.fail(w, "token: no HTTP Basic client authentication")
			return
		}
		id, _ = url.QueryUnescape(u)
		secret, _ = url.QueryUnescape(p)
	case "params":
		if r.Header.Get("Authorization") != "" {
			f.fail(w, "token: Authorization header, want the client in the form")
			return
		}
	default:
		f.fail(w, "fixture: client_auth %q", f.fx.ClientAuth)
		return
	}
	if id != fakeClientID {
		f.fail(w, "token: client_id %q", id)
		return
	}
	if err := f.secret(secret); err != nil {
		f.fail(w, "token: %v", err)
		return
	}
	grant := form.Get("grant_type")
	if only != "" && grant != only {
		f.fail(w, "token: grant_type %q at the refresh endpoint", grant)
		return
	}
	switch grant {
	case "authorization_code":
		f.mu.Lock()
		code, pending := f.code, f.pending
		f.code = ""
		f.mu.Unlock()
		if code == "" || form.Get("code") != code {
			f.fail(w, "token: code %q, want %q", form.Get("code"), code)
			return
		}
		if form.Get("redirect_uri") != pending.Get("redirect_uri") {
			f.fail(w, "token: redirect_uri %q, want %q", form.Get("redirect_uri"), pending.Get("redirect_uri"))
			return
		}
		if f.fx.NoPKCE {
			if form.Has("code_verifier") {
				f.fail(w, "token: code_verifier, want none")
				return
			}
		} else if sum := sha256.Sum256([]byte(form.Get("code_verifier"))); base64.RawURLEncoding.EncodeToString(sum[:]) != pending.Get("code_challenge") {
			f.fail(w, "token: code_verifier does not match the code_challenge")
			return
		}
		f.answerToken(w, f.fx.TokenResponse, pending.Get("nonce"))
	case "refresh_token":
		if form.Get("refresh_token") == "" {
			f.fail(w, "token: no refresh_token")
			return
		}
		body := f.fx.TokenResponse
		if f.fx.RefreshAnswer != nil {
			body = f.fx.RefreshAnswer
		}
		f.answerToken(w, body, "")
	default:
		f.fail(w, "token: grant_type %q", grant)
	}
}

// answerToken sends body, a token response of the fixture, with a freshly
// signed ID token for an OpenID provider.
func (f *fake) answerToken(w http.ResponseWriter, body json.RawMessage, nonce string) {
	if f.fx.TokenForm {
		var m map[string]string
		if err := json.Unmarshal(body, &m); err != nil {
			f.fail(w, "fixture: token_form needs string members: %v", err)
			return
		}
		v := url.Values{}
		for k, s := range m {
			v.Set(k, s)
		}
		w.Header().Set("Content-Type", "application/x-www-form-urlencoded")
		fmt.Fprint(w, v.Encode())
		return
	}
	if f.fx.IDToken == nil {
		writeJSON(w, http.StatusOK, body)
		return
	}
	var resp map[string]any
	if err := json.Unmarshal(body, &resp); err != nil {
		f.fail(w, "fixture: token_response: %v", err)
		return
	}
	resp["id_token"] = f.idToken(nonce)
	writeJSON(w, http.StatusOK, resp)
}

// idToken signs the fixture's claims with RS256, adding iss, aud, iat, exp
// and nonce where the fixture does not set them.
func (f *fake) idToken(nonce string) string {
	claims := map[string]any{}
	for k, v := range f.fx.IDToken {
		claims[k] = v
	}
	now := time.Now()
	defaults := map[string]any{
		"iss": f.discoveryDoc()["issuer"],
		"aud": fakeClientID,
		"iat": now.Unix(),
		"exp": now.Add(time.Hour).Unix(),
	}
	if nonce != "" {
		defaults["nonce"] = nonce
	}
	for k, v := range defaults {
		if _, ok := claims[k]; !ok {
			claims[k] = v
		}
	}
	return signRS256(f.key, "fake-key", claims)
}

func signRS256(key *rsa.PrivateKey, kid string, claims map[string]any) string {
	enc := base64.RawURLEncoding
	h, _ := json.Marshal(map[string]string{"alg": "RS256", "kid": kid, "typ": "JWT"})
	c, _ := json.Marshal(claims)
	signing := enc.EncodeToString(h) + "." + enc.EncodeToString(c)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		panic(err)
	}
	return signing + "." + enc.EncodeToString(sig)
}

func (f *fake) serveResource(w http.ResponseWriter, r *http.Request, res resource) {
	scheme := res.Scheme
	if scheme == "" {
		scheme = "Bearer"
	}
	if scheme == "query" {
		if got := r.URL.Query().Get("access_token"); got != f.fx.AccessToken {
			f.fail(w, "%s: access_token %q in the query, want %q", res.URL, got, f.fx.AccessToken)
			return
		}
	} else if got := r.Header.Get("Authorization"); got != scheme+" "+f.fx.AccessToken {
		f.fail(w, "%s: Authorization %q, want %q", res.URL, got, scheme+" "+f.fx.AccessToken)
		return
	}
	for k, v := range res.Header {
		if got := r.Header.Get(k); got != v {
			f.fail(w, "%s: header %s = %q, want %q", res.URL, k, got, v)
			return
		}
	}
	status := res.Status
	if status == 0 {
		status = http.StatusOK
	}
	writeJSON(w, status, res.Response)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if raw, ok := v.(json.RawMessage); ok {
		w.Write(raw)
		return
	}
	json.NewEncoder(w).Encode(v)
}

// client returns an HTTP client whose every request goes to the fake.
func (f *fake) client() *http.Client { return &http.Client{Transport: f.transport("")} }

// quietT is a testing.TB whose Errorf does not fail the test: for fakes
// that are meant to refuse a request.
type quietT struct{ testing.TB }

func (quietT) Errorf(string, ...any) {}
