package oauthlogin_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
	"github.com/oauthlogin/oauthlogin/providers"
)

func TestLogin(t *testing.T) {
	h := newHarness(t)
	b := oauthlogintest.NewBrowser()
	before := time.Now()
	h.mustSucceed(h.login(b))

	s, status := h.session(b)
	if status != http.StatusOK {
		t.Fatalf("GET /auth/session = %d %v", status, s)
	}
	if s["provider"] != "test" || s["providerUid"] != "user-1" || s["current"] != true {
		t.Fatalf("session = %v", s)
	}
	if tok, _ := s["providerAccessToken"].(string); tok == "" {
		t.Fatalf("no providerAccessToken in %v", s)
	}
	if s["hasProviderRefreshToken"] != true {
		t.Fatalf("hasProviderRefreshToken = %v", s["hasProviderRefreshToken"])
	}
	exp, err := time.Parse(time.RFC3339, s["providerAccessTokenExpiry"].(string))
	if err != nil || exp.Before(before.Add(59*time.Minute)) || exp.After(time.Now().Add(61*time.Minute)) {
		t.Fatalf("providerAccessTokenExpiry = %v (%v), want about an hour from now", s["providerAccessTokenExpiry"], err)
	}
	for k := range s {
		if strings.Contains(strings.ToLower(k), "refreshtoken") && k != "hasProviderRefreshToken" {
			t.Fatalf("session JSON has %q", k)
		}
	}
	userID := s["userId"].(string)

	// The middleware sees the same session.
	resp := h.do(b, "GET", "/private")
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || string(body) != userID {
		t.Fatalf("GET /private = %d %q, want 200 %q", resp.StatusCode, body, userID)
	}

	// One identity, for the provider account.
	resp = h.do(b, "GET", "/auth/identities")
	var ids struct {
		Total      int
		Identities []map[string]any
	}
	decode(t, resp, &ids)
	if ids.Total != 1 || ids.Identities[0]["providerUid"] != "user-1" || ids.Identities[0]["providerEmail"] != "ada@example.com" || ids.Identities[0]["userId"] != userID {
		t.Fatalf("identities = %+v", ids)
	}
	for k := range ids.Identities[0] {
		if strings.Contains(strings.ToLower(k), "token") && k != "providerAccessTokenExpiry" {
			t.Fatalf("identity JSON has %q", k)
		}
	}

	// Logging in again: same user and identity, a new session, the old one gone.
	oldID := s["id"].(string)
	h.mustSucceed(h.login(b))
	s2, _ := h.session(b)
	if s2["userId"] != userID || s2["id"] == oldID {
		t.Fatalf("second login: session %v, first %v", s2, s)
	}
	if _, err := h.store.Session(context.Background(), oldID); err == nil {
		t.Fatal("the session the browser had before logging in again still exists")
	}
	if got, _ := h.store.UserIdentities(context.Background(), userID); len(got) != 1 {
		t.Fatalf("after a second login the user has %d identities", len(got))
	}
}

func TestLoginSecondAccountIsAnotherUser(t *testing.T) {
	h := newHarness(t)
	a := oauthlogintest.NewBrowser()
	h.mustSucceed(h.login(a))
	h.idp.SetUser(oauthlogintest.User{Subject: "user-2", Email: "grace@example.com", EmailVerified: true})
	b := oauthlogintest.NewBrowser()
	h.mustSucceed(h.login(b))
	sa, _ := h.session(a)
	sb, _ := h.session(b)
	if sa["userId"] == sb["userId"] || sb["providerUid"] != "user-2" {
		t.Fatalf("two accounts, sessions %v and %v", sa, sb)
	}
}

func TestBeginRedirect(t *testing.T) {
	h := newHarness(t)
	b := oauthlogintest.NewBrowser()
	page, err := b.Visit(context.Background(), h.beginURL("test", "scopes", "repo,calendar", "scopes", "repo"), func(u *url.URL) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	if page.Status != http.StatusFound || page.Location == nil {
		t.Fatalf("begin answered %d", page.Status)
	}
	if cc := page.Header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("Cache-Control = %q", cc)
	}
	u := page.Location
	if !strings.HasPrefix(u.String(), h.idp.URL+"/authorize?") {
		t.Fatalf("redirected to %s", u)
	}
	q := u.Query()
	want := map[string]string{
		"response_type":         "code",
		"client_id":             h.idp.ClientID,
		"redirect_uri":          h.app.URL + "/auth/test/callback",
		"code_challenge_method": "S256",
		"scope":                 "openid email profile repo calendar",
	}
	for k, v := range want {
		if q.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, q.Get(k), v)
		}
	}
	// 256-bit state and nonce, base64url; a 43-character S256 challenge.
	for _, k := range []string{"state", "nonce", "code_challenge"} {
		if len(q.Get(k)) != 43 {
			t.Errorf("%s = %q, want 43 base64url characters", k, q.Get(k))
		}
	}
	if q.Get("state") == q.Get("nonce") {
		t.Error("state and nonce are equal")
	}
}

func TestTwoTabs(t *testing.T) {
	h := newHarness(t)
	b := oauthlogintest.NewBrowser()
	atCallback := func(u *url.URL) bool { return strings.HasSuffix(u.Path, "/callback") }
	var callbacks []string
	for range 2 {
		page, err := b.Visit(context.Background(), h.beginURL("test"), atCallback)
		if err != nil || page.Location == nil {
			t.Fatalf("tab did not reach the callback: %v", err)
		}
		callbacks = append(callbacks, page.Location.String())
	}
	// Finish the second tab first, then the first.
	for _, i := range []int{1, 0} {
		page, err := b.Visit(context.Background(), callbacks[i], nil)
		if err != nil {
			t.Fatal(err)
		}
		h.mustSucceed(page)
	}
}

func TestConcurrentFirstLogins(t *testing.T) {
	h := newHarness(t)
	const n = 8
	users := make(chan any, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			b := oauthlogintest.NewBrowser()
			page, err := b.Visit(context.Background(), h.beginURL("test"), nil)
			if err != nil || page.URL.Path != "/done" {
				t.Errorf("login failed: %v %v", err, page)
				return
			}
			s, _ := h.session(b)
			users <- s["userId"]
		})
	}
	wg.Wait()
	close(users)
	var first any
	for u := range users {
		if first == nil {
			first = u
		}
		if u != first {
			t.Fatalf("concurrent logins of one account made users %v and %v", first, u)
		}
	}
	if ids, _ := h.store.UserIdentities(context.Background(), first.(string)); len(ids) != 1 {
		t.Fatalf("%d identities for one account", len(ids))
	}
}

func TestLogout(t *testing.T) {
	h := newHarness(t)
	b := oauthlogintest.NewBrowser()
	h.mustSucceed(h.login(b))
	s, _ := h.session(b)

	resp := h.do(b, "DELETE", "/auth/session")
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE /auth/session = %d", resp.StatusCode)
	}
	if _, err := h.store.Session(context.Background(), s["id"].(string)); err == nil {
		t.Fatal("the session is still in the store")
	}
	if v, status := h.session(b); status != http.StatusUnauthorized {
		t.Fatalf("after logout GET /auth/session = %d %v", status, v)
	}
	if resp := h.do(b, "DELETE", "/auth/session"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("second logout = %d, want 401", resp.StatusCode)
	}
}

func TestLogoutRevokes(t *testing.T) {
	h := newHarness(t, func(c *oauthlogin.Config) { c.Sessions.RevokeOnLogout = true })
	b := oauthlogintest.NewBrowser()
	h.mustSucceed(h.login(b))
	s, _ := h.session(b)
	sess, err := h.store.Session(context.Background(), s["id"].(string))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := h.m.ProviderToken(sess)
	if err != nil || tok.RefreshToken == "" {
		t.Fatalf("ProviderToken = %v, %v", tok, err)
	}
	if resp := h.do(b, "DELETE", "/auth/session"); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("logout = %d", resp.StatusCode)
	}
	if !h.idp.Revoked(tok.RefreshToken) {
		t.Fatal("the refresh token was not revoked")
	}
}

func TestCrossOriginStateChangesRefused(t *testing.T) {
	h := newHarness(t)
	b := oauthlogintest.NewBrowser()
	h.mustSucceed(h.login(b))
	for _, tc := range []struct{ method, path string }{{"DELETE", "/auth/session"}, {"POST", "/auth/refresh"}} {
		resp := h.do(b, tc.method, tc.path, "Sec-Fetch-Site", "cross-site")
		var v map[string]string
		decode(t, resp, &v)
		if resp.StatusCode != http.StatusForbidden || v["error"] != "cross_origin" {
			t.Fatalf("cross-site %s %s = %d %v, want 403 cross_origin", tc.method, tc.path, resp.StatusCode, v)
		}
	}
	if _, status := h.session(b); status != http.StatusOK {
		t.Fatal("a cross-site logout ended the session")
	}
}

func TestRequireSession(t *testing.T) {
	h := newHarness(t)
	resp := h.do(oauthlogintest.NewBrowser(), "GET", "/private")
	var v map[string]string
	decode(t, resp, &v)
	if resp.StatusCode != http.StatusUnauthorized || v["error"] != oauthlogin.ErrNoSession.Code() {
		t.Fatalf("GET /private without a session = %d %v", resp.StatusCode, v)
	}
	// A forged cookie is no session either.
	b := oauthlogintest.NewBrowser()
	b.Client.Jar.SetCookies(mustParse(t, h.app.URL), []*http.Cookie{{Name: "oauthlogin_session", Value: "forged"}})
	if resp := h.do(b, "GET", "/private"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("forged cookie: %d", resp.StatusCode)
	}
}

func TestLoadSession(t *testing.T) {
	h := newHarness(t)
	var seen []bool
	handler := h.m.LoadSession(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, ok := oauthlogin.SessionFromContext(r.Context())
		seen = append(seen, ok)
	}))
	b := oauthlogintest.NewBrowser()
	h.mustSucceed(h.login(b))
	signedIn := httptest.NewRequest("GET", "/", nil)
	for _, c := range b.Client.Jar.Cookies(mustParse(t, h.app.URL)) {
		signedIn.AddCookie(c)
	}
	handler.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	handler.ServeHTTP(httptest.NewRecorder(), signedIn)
	if len(seen) != 2 || seen[0] || !seen[1] {
		t.Fatalf("LoadSession saw sessions %v, want [false true]", seen)
	}
}

// The session JSON leaves the provider access token out unless
// Sessions.ExposeProviderAccessToken says otherwise: by default it stays on
// the server.
func TestProviderAccessTokenHiddenByDefault(t *testing.T) {
	for name, opts := range map[string]oauthlogin.SessionOptions{
		"default":  {},
		"explicit": {ExposeProviderAccessToken: false},
	} {
		h := newHarness(t, func(c *oauthlogin.Config) { c.Sessions = opts })
		b := oauthlogintest.NewBrowser()
		h.mustSucceed(h.login(b))
		s, status := h.session(b)
		if _, ok := s["providerAccessToken"]; ok || status != http.StatusOK {
			t.Fatalf("%s: providerAccessToken shown: %d %v", name, status, s)
		}
	}
	h := newHarness(t) // the harness exposes it
	b := oauthlogintest.NewBrowser()
	h.mustSucceed(h.login(b))
	if s, _ := h.session(b); s["providerAccessToken"] == nil {
		t.Fatalf("ExposeProviderAccessToken: providerAccessToken missing: %v", s)
	}
}

func TestTokensSealedAtRest(t *testing.T) {
	h := newHarness(t)
	b := oauthlogintest.NewBrowser()
	h.mustSucceed(h.login(b))
	s, _ := h.session(b)
	stored, err := h.store.Session(context.Background(), s["id"].(string))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := h.m.ProviderToken(stored)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{tok.AccessToken, tok.RefreshToken} {
		if strings.Contains(string(stored.ProviderTokens), secret) {
			t.Fatal("a provider token is stored in the clear")
		}
	}
	// The cookie holds the session token; the store knows only its hash.
	for _, c := range b.Client.Jar.Cookies(mustParse(t, h.app.URL)) {
		if c.Name == "oauthlogin_session" && (c.Value == stored.ID || strings.Contains(stored.ID, c.Value)) {
			t.Fatal("the session id is the session token")
		}
	}
	// Sealed tokens are bound to their session: moved to another, they do not open.
	moved := *stored
	moved.ID = "another"
	if _, err := h.m.ProviderToken(&moved); err == nil {
		t.Fatal("sealed tokens opened under another session id")
	}
}

// NumericDate claims may be fractional (RFC 7519 §2); such an iat is valid.
func TestLoginFractionalIssuedAt(t *testing.T) {
	h := newHarness(t)
	h.idp.Behave(oauthlogintest.Behavior{Claims: map[string]any{"iat": float64(time.Now().Unix()) + 0.25}})
	h.mustSucceed(h.login(oauthlogintest.NewBrowser()))
}

// success and failure may be paths: the login lands on them, resolved
// against BaseURL, and the failure URL carries the code.
func TestLoginPathRedirects(t *testing.T) {
	h := newHarness(t)
	q := url.Values{"success": {"/done?from=login"}, "failure": {"/failed"}}
	b := oauthlogintest.NewBrowser()
	page, err := b.Visit(context.Background(), h.app.URL+"/auth/test?"+q.Encode(), nil)
	if err != nil || page.URL.String() != h.app.URL+"/done?from=login" || page.Status != http.StatusOK {
		t.Fatalf("landed on %v, %v; want %s/done?from=login", page, err, h.app.URL)
	}
	if _, status := h.session(b); status != http.StatusOK {
		t.Fatalf("no session after a login to a path: %d", status)
	}
	h.idp.Behave(oauthlogintest.Behavior{TokenError: "invalid_grant"})
	page, err = oauthlogintest.NewBrowser().Visit(context.Background(), h.app.URL+"/auth/test?"+q.Encode(), nil)
	if err != nil || page.URL.Path != "/failed" || page.URL.Host != mustParse(t, h.app.URL).Host || page.URL.Query().Get("error") != oauthlogin.ErrTokenExchange.Code() {
		t.Fatalf("a refused login landed on %v, %v", page, err)
	}
}

// A form_post provider's callback is a cross-site POST: over https its flow
// cookie is SameSite=None (and Secure), and the POSTed response is checked
// like a query one.
func TestFormPostProvider(t *testing.T) {
	idp := oauthlogintest.NewServer()
	t.Cleanup(idp.Close)
	const base = "https://app.example.com"
	m, err := oauthlogin.New(oauthlogin.Config{BaseURL: base, Keys: oauthlogin.Keys{Cookie: []oauthlogin.CookieKey{oauthlogin.GenerateCookieKey()}}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := providers.OIDC(context.Background(), "test", idp.URL, providers.Config{
		ClientID: idp.ClientID, ClientSecret: idp.ClientSecret,
		AuthParams: url.Values{"response_mode": {"form_post"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Register(p); err != nil {
		t.Fatal(err)
	}
	rc := recorded{t, idp}
	begin, cb := rc.begin(m, base)
	if q := mustParse(t, begin.Header.Get("Location")).Query(); q.Get("response_mode") != "form_post" {
		t.Fatalf("authorization request without response_mode: %v", q)
	}
	flow := begin.Cookies()[0]
	if flow.SameSite != http.SameSiteNoneMode || !flow.Secure {
		t.Fatalf("flow cookie for a form_post provider: %+v", flow)
	}
	// The fake answers with a redirect; replay its parameters as the form POST.
	post := httptest.NewRequest("POST", base+"/auth/test/callback", strings.NewReader(cb.URL.RawQuery))
	post.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	post.AddCookie(flow)
	resp := rc.callback(m, post)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != base+"/" { // 303 after a POST
		t.Fatalf("form_post callback = %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	// A POST without the state fails like a GET would.
	_, cb = rc.begin(m, base)
	q := cb.URL.Query()
	q.Del("state")
	post = httptest.NewRequest("POST", base+"/auth/test/callback", strings.NewReader(q.Encode()))
	post.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, c := range cb.Cookies() {
		post.AddCookie(c)
	}
	resp = rc.callback(m, post)
	if loc := resp.Header.Get("Location"); !strings.Contains(loc, "error="+"state_missing") {
		t.Fatalf("form_post callback without state = %d %s", resp.StatusCode, loc)
	}
}
