package oauthlogin_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"golang.org/x/oauth2"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
	"github.com/oauthlogin/oauthlogin/providers"
)

// pushed records the requests the fake's PAR endpoint receives.
type pushed struct {
	mu    sync.Mutex
	forms []url.Values
	auth  []string
}

func (p *pushed) intercept(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		p.mu.Lock()
		p.forms = append(p.forms, form)
		p.auth = append(p.auth, r.Header.Get("Authorization"))
		p.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
}

// RFC 9126 §2.1 and §4: begin pushes every authorization request parameter
// (the client authenticated as at the token endpoint, Basic by default)
// and redirects with client_id and request_uri only; the login then
// finishes as any other.
func TestPARLogin(t *testing.T) {
	h := newHarness(t)
	var p pushed
	h.idp.Behave(oauthlogintest.Behavior{Intercept: map[string]func(http.Handler) http.Handler{"par": p.intercept}})
	h.register("par", providers.Config{PushAuthorizationRequests: true, AuthParams: url.Values{"hd": {"example.com"}, "login_hint": {"provider@example.com"}}})
	b := oauthlogintest.NewBrowser()
	page := h.beginAt(b, "par", "login_hint", "ada@example.com", "acr_values", "mfa")
	if page.Status != http.StatusFound || page.Location == nil {
		t.Fatalf("begin answered %d: %s", page.Status, page.Body)
	}
	q := page.Location.Query()
	if len(q) != 2 || q.Get("client_id") != h.idp.ClientID || !strings.HasPrefix(q.Get("request_uri"), "urn:ietf:params:oauth:request_uri:") {
		t.Fatalf("the redirect carries %v, want client_id and request_uri only", q)
	}
	if len(p.forms) != 1 {
		t.Fatalf("%d pushes, want 1", len(p.forms))
	}
	form := p.forms[0]
	for k, v := range map[string]string{
		"client_id": h.idp.ClientID, "response_type": "code", "redirect_uri": h.app.URL + "/auth/par/callback",
		"scope": "openid email profile", "code_challenge_method": "S256", "login_hint": "ada@example.com", "acr_values": "mfa",
		"hd": "example.com",
	} {
		if len(form[k]) != 1 || form.Get(k) != v {
			t.Errorf("pushed %s = %q, want %q", k, form.Get(k), v)
		}
	}
	for _, k := range []string{"state", "nonce", "code_challenge"} {
		if len(form.Get(k)) != 43 {
			t.Errorf("pushed %s = %q", k, form.Get(k))
		}
	}
	if form.Has("client_secret") || !strings.HasPrefix(p.auth[0], "Basic ") {
		t.Errorf("client authentication: Authorization %q, client_secret in form %v; want Basic only", p.auth[0], form.Has("client_secret"))
	}
	final, err := b.Visit(context.Background(), page.Location.String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	h.mustSucceed(final)
	if got := h.lastSession().ACR; got != "mfa" {
		t.Errorf("session ACR = %q: the pushed acr_values did not reach the provider", got)
	}
}

// With client_secret_post the secret goes in the pushed form, and no
// Authorization header.
func TestPARClientSecretPost(t *testing.T) {
	h := newHarness(t)
	var p pushed
	h.idp.Behave(oauthlogintest.Behavior{Intercept: map[string]func(http.Handler) http.Handler{"par": p.intercept}})
	h.register("par", providers.Config{PushAuthorizationRequests: true, AuthStyle: oauth2.AuthStyleInParams})
	b := oauthlogintest.NewBrowser()
	h.mustSucceed(testVisit(t, b, h.beginURL("par")))
	if len(p.forms) != 1 || p.forms[0].Get("client_secret") != h.idp.ClientSecret || p.auth[0] != "" {
		t.Fatalf("pushes %d; want the secret in the form and no Authorization header (got %q)", len(p.forms), p.auth)
	}
}

func testVisit(t *testing.T, b *oauthlogintest.Browser, u string) *oauthlogintest.Page {
	t.Helper()
	page, err := b.Visit(context.Background(), u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return page
}

// RFC 9126 §5: a provider whose metadata has
// require_pushed_authorization_requests gets pushed requests without the
// host asking; its authorization endpoint refuses any other.
func TestPARRequiredByProvider(t *testing.T) {
	h := newHarness(t)
	h.idp.Behave(oauthlogintest.Behavior{RequirePAR: true})
	h.register("par", providers.Config{})
	h.mustSucceed(testVisit(t, oauthlogintest.NewBrowser(), h.beginURL("par")))
	if h.idp.Hits("par") != 1 {
		t.Fatalf("PAR hits = %d, want 1", h.idp.Hits("par"))
	}
}

// A PAR endpoint that fails, refuses or answers nonsense ends the login at
// the failure URL with par_failed, and no flow cookie is set.
func TestPARFailures(t *testing.T) {
	for _, tc := range []struct {
		name string
		raw  oauthlogintest.RawResponse
	}{
		{"ServerError", oauthlogintest.RawResponse{Status: 500}},
		{"Refused", oauthlogintest.RawResponse{Status: 400, ContentType: "application/json", Body: []byte(`{"error":"invalid_request"}`)}},
		{"Unauthorized", oauthlogintest.RawResponse{Status: 401, ContentType: "application/json", Body: []byte(`{"error":"invalid_client"}`)}},
		{"Redirect", oauthlogintest.RawResponse{Status: 302}},
		{"NotJSON", oauthlogintest.RawResponse{Status: 201, ContentType: "text/html", Body: []byte("<html>")}},
		{"NoRequestURI", oauthlogintest.RawResponse{Status: 201, Body: []byte(`{"expires_in": 60}`)}},
		{"NoExpiresIn", oauthlogintest.RawResponse{Status: 201, Body: []byte(`{"request_uri": "urn:x"}`)}},
		{"ExpiresInZero", oauthlogintest.RawResponse{Status: 201, Body: []byte(`{"request_uri": "urn:x", "expires_in": 0}`)}},
		{"RequestURIWithSpace", oauthlogintest.RawResponse{Status: 201, Body: []byte(`{"request_uri": "urn:x y", "expires_in": 60}`)}},
		{"RequestURITooLong", oauthlogintest.RawResponse{Status: 201, Body: []byte(`{"request_uri": "` + strings.Repeat("x", 1025) + `", "expires_in": 60}`)}},
		{"HugeBody", oauthlogintest.RawResponse{Status: 201, Body: []byte(" "), Size: 1 << 20}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.register("par", providers.Config{PushAuthorizationRequests: true})
			h.idp.Behave(oauthlogintest.Behavior{Raw: map[string]oauthlogintest.RawResponse{"par": tc.raw}})
			b := oauthlogintest.NewBrowser()
			begin := h.beginAt(b, "par")
			for _, c := range begin.Header.Values("Set-Cookie") {
				if strings.Contains(c, "flow") {
					t.Fatalf("a failed push set a flow cookie: %s", c)
				}
			}
			page := testVisit(t, b, h.beginURL("par"))
			h.mustFail(page, "par_failed")
			h.mustHaveNoSession(b)
			if h.idp.Hits("authorize") != 0 {
				t.Fatal("the browser reached the authorization endpoint")
			}
		})
	}
}

// A pushed request's request_uri swapped into another browser (an
// attacker's own pushed login, sent to the victim as a link) comes back
// with the attacker's state, which names no flow of the victim's: no
// session. The request_uri is then spent (RFC 9126 §4: single use).
func TestPARRequestURISwapped(t *testing.T) {
	h := newHarness(t)
	h.register("par", providers.Config{PushAuthorizationRequests: true})
	attacker, victim := oauthlogintest.NewBrowser(), oauthlogintest.NewBrowser()
	link := h.beginAt(attacker, "par").Location
	h.beginAt(victim, "par") // the victim's own login under way
	page := testVisit(t, victim, link.String())
	h.mustFail(page, "state_mismatch")
	h.mustHaveNoSession(victim)
	if again := testVisit(t, attacker, link.String()); again.Status != http.StatusBadRequest {
		t.Fatalf("the spent request_uri answered %d at %s, want 400", again.Status, again.URL)
	}
	h.mustHaveNoSession(attacker)
}

// PushAuthorizationRequests needs the endpoint: refused at construction
// when discovery names none, also when discovery requires pushing; a
// plain OAuth 2.0 provider has none.
func TestPARRefusedWithoutEndpoint(t *testing.T) {
	h := newHarness(t)
	h.idp.Behave(oauthlogintest.Behavior{Discovery: map[string]any{"pushed_authorization_request_endpoint": nil}})
	cfg := providers.Config{ClientID: h.idp.ClientID, ClientSecret: h.idp.ClientSecret, PushAuthorizationRequests: true}
	if _, err := providers.OIDC(context.Background(), "p1", h.idp.URL, cfg); !errors.Is(err, oauthlogin.ErrConfig) {
		t.Fatalf("OIDC with PushAuthorizationRequests and no endpoint: %v, want ErrConfig", err)
	}
	h.idp.Behave(oauthlogintest.Behavior{RequirePAR: true, Discovery: map[string]any{"pushed_authorization_request_endpoint": nil}})
	cfg.PushAuthorizationRequests = false
	if _, err := providers.OIDC(context.Background(), "p2", h.idp.URL, cfg); !errors.Is(err, oauthlogin.ErrConfig) {
		t.Fatalf("OIDC requiring PAR without an endpoint: %v, want ErrConfig", err)
	}
	spec := providers.Spec{Endpoint: oauth2.Endpoint{AuthURL: h.idp.URL + "/authorize", TokenURL: h.idp.URL + "/token"}, UserInfoURL: h.idp.URL + "/userinfo"}
	if _, err := providers.OAuth2("p3", spec, providers.Config{ClientID: "id", PushAuthorizationRequests: true}); !errors.Is(err, oauthlogin.ErrConfig) {
		t.Fatalf("OAuth2 with PushAuthorizationRequests: %v, want ErrConfig", err)
	}
	if err := h.m.Register(pusherAt{h.prov, "p4", ""}); !errors.Is(err, oauthlogin.ErrConfig) {
		t.Fatalf("Register of a pusher without an endpoint: %v, want ErrConfig", err)
	}
}

// pusherAt is an OpenID provider under another name that pushes to
// endpoint.
type pusherAt struct {
	*providers.OIDCProvider
	name, endpoint string
}

func (p pusherAt) Name() string                        { return p.name }
func (p pusherAt) PushedAuthorization() (string, bool) { return p.endpoint, true }

// A provider whose client authenticates with a JWT (a ClientAsserter)
// never sends its secret to the PAR endpoint, neither Basic nor in the
// form: the back-channel transport adds the assertion (RFC 7523 §2.2).
func TestPARClientAsserterSendsNoSecret(t *testing.T) {
	h := newHarness(t)
	var p pushed
	h.idp.Behave(oauthlogintest.Behavior{Intercept: map[string]func(http.Handler) http.Handler{"par": p.intercept}})
	if err := h.m.Register(asserterAt{pusherAt{h.prov, "jwt", h.idp.URL + "/par"}}); err != nil {
		t.Fatal(err)
	}
	h.beginAt(oauthlogintest.NewBrowser(), "jwt")
	if len(p.forms) != 1 {
		t.Fatalf("%d pushes, want 1", len(p.forms))
	}
	if p.forms[0].Has("client_secret") || p.auth[0] != "" || p.forms[0].Get("client_id") != h.idp.ClientID {
		t.Fatalf("pushed form %v, Authorization %q: want client_id and no secret", p.forms[0], p.auth[0])
	}
}

// asserterAt is a pusher that authenticates its client with a JWT: like
// the providers package's, its OAuth2Config has no secret.
type asserterAt struct{ pusherAt }

func (p asserterAt) OAuth2Config() oauth2.Config {
	c := p.pusherAt.OAuth2Config()
	c.ClientSecret, c.Endpoint.AuthStyle = "", oauth2.AuthStyleInParams
	return c
}

func (asserterAt) ClientAssertion(context.Context, string) (string, error) { return "assertion", nil }
