package oauthlogintest_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/oauthlogin/oauthlogin/internal/testapp"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
)

// loginPage records the login requests it is shown and answers each with
// a page naming its ID.
type loginPage struct {
	mu   sync.Mutex
	seen []oauthlogintest.LoginRequest
}

func (p *loginPage) serve(w http.ResponseWriter, r *http.Request, req oauthlogintest.LoginRequest) {
	p.mu.Lock()
	p.seen = append(p.seen, req)
	p.mu.Unlock()
	fmt.Fprintf(w, "login request %s", req.ID)
}

func (p *loginPage) requests() []oauthlogintest.LoginRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.seen)
}

// interactiveIDP starts a provider with a recording login page.
func interactiveIDP(t *testing.T) (*oauthlogintest.Server, *loginPage) {
	t.Helper()
	idp := testapp.NewIdP(t)
	page := &loginPage{}
	idp.SetLoginPage(page.serve)
	return idp, page
}

// holdLogin visits authURL, expects the login page, and returns the
// request it was shown.
func holdLogin(t *testing.T, idp *oauthlogintest.Server, page *loginPage, authURL string) oauthlogintest.LoginRequest {
	t.Helper()
	before := len(page.requests())
	p, err := oauthlogintest.NewBrowser().Visit(t.Context(), authURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	seen := page.requests()
	if p.Status != http.StatusOK || len(seen) != before+1 {
		t.Fatalf("authorize answered %d %q; want the login page", p.Status, p.Body)
	}
	if got := p.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("login page Cache-Control = %q, want no-store", got)
	}
	req := seen[len(seen)-1]
	if string(p.Body) != "login request "+req.ID {
		t.Errorf("login page body = %q", p.Body)
	}
	return req
}

// answer calls decide (Approve or Deny, wrapped) with a request of the
// given method and returns the recorded response.
func answer(method string, decide func(http.ResponseWriter, *http.Request)) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	decide(w, httptest.NewRequest(method, "http://idp.example/consent", nil))
	return w
}

// callbackQuery checks that w redirected to the callback with status and
// returns the query it carried.
func callbackQuery(t *testing.T, w *httptest.ResponseRecorder, status int) url.Values {
	t.Helper()
	loc, err := url.Parse(w.Header().Get("Location"))
	if w.Code != status || err != nil || !strings.HasPrefix(loc.String(), callbackURL) {
		t.Fatalf("answered %d, Location %q; want %d to %s", w.Code, w.Header().Get("Location"), status, callbackURL)
	}
	if got := w.Header().Get("Cache-Control"); got != "no-store" {
		t.Errorf("redirect Cache-Control = %q, want no-store", got)
	}
	return loc.Query()
}

func TestLoginPageApprove(t *testing.T) {
	t.Parallel()
	idp, page := interactiveIDP(t)
	cfg := clientConfig(idp)
	verifier := oauth2.GenerateVerifier()
	req := holdLogin(t, idp, page, cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)))

	if req.ClientID != idp.ClientID || req.RedirectURI != callbackURL ||
		!slices.Equal(req.Scopes, []string{"openid", "email", "profile"}) || len(req.ID) < 43 {
		t.Errorf("login request = %+v", req)
	}
	if d := time.Until(req.Expires); d < 9*time.Minute || d > 10*time.Minute {
		t.Errorf("login request expires in %v, want about ten minutes", d)
	}
	if got, ok := idp.PendingLogin(req.ID); !ok || got.ID != req.ID || !slices.Equal(got.Scopes, req.Scopes) {
		t.Errorf("PendingLogin = %+v, %v", got, ok)
	}

	grace := oauthlogintest.User{Subject: "grace", Email: "grace@example.com", EmailVerified: false, Name: "Grace Hopper"}
	q := callbackQuery(t, answer(http.MethodPost, func(w http.ResponseWriter, r *http.Request) {
		idp.Approve(w, r, req.ID, grace)
	}), http.StatusSeeOther)
	if q.Get("state") != "st" || q.Get("iss") != idp.URL || q.Get("code") == "" || q.Has("error") {
		t.Fatalf("callback query = %v", q)
	}
	if _, ok := idp.PendingLogin(req.ID); ok {
		t.Error("PendingLogin still finds an approved request")
	}

	tok, err := cfg.Exchange(t.Context(), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	_, claims := decodeJWT(t, rawIDToken(t, tok))
	if claims["sub"] != "grace" || claims["email"] != "grace@example.com" || claims["email_verified"] != false || claims["name"] != "Grace Hopper" {
		t.Errorf("ID token claims = %v; want the approved user", claims)
	}
	if n := idp.Hits("authorize"); n != 1 {
		t.Errorf("authorize hits = %d, want 1", n)
	}
}

func TestLoginPageDeny(t *testing.T) {
	t.Parallel()
	idp, page := interactiveIDP(t)
	req := holdLogin(t, idp, page, clientConfig(idp).AuthCodeURL("st"))
	q := callbackQuery(t, answer(http.MethodPost, func(w http.ResponseWriter, r *http.Request) {
		idp.Deny(w, r, req.ID)
	}), http.StatusSeeOther)
	if q.Get("error") != "access_denied" || q.Has("code") || q.Get("state") != "st" || q.Get("iss") != idp.URL {
		t.Errorf("callback query = %v", q)
	}
}

func TestLoginPageAnswerWithGET(t *testing.T) {
	t.Parallel()
	idp, page := interactiveIDP(t)
	req := holdLogin(t, idp, page, clientConfig(idp).AuthCodeURL("st"))
	q := callbackQuery(t, answer(http.MethodGet, func(w http.ResponseWriter, r *http.Request) {
		idp.Approve(w, r, req.ID, oauthlogintest.User{Subject: "s"})
	}), http.StatusFound)
	if q.Get("code") == "" {
		t.Errorf("callback query = %v", q)
	}
}

func TestLoginPageFollowsBehavior(t *testing.T) {
	t.Parallel()
	idp, page := interactiveIDP(t)
	req := holdLogin(t, idp, page, clientConfig(idp).AuthCodeURL("st"))
	// The behavior in force when the user answers is the one that counts.
	idp.Behave(oauthlogintest.Behavior{OmitState: true, AuthorizeIssuer: "https://evil.example"})
	q := callbackQuery(t, answer(http.MethodPost, func(w http.ResponseWriter, r *http.Request) {
		idp.Approve(w, r, req.ID, oauthlogintest.User{Subject: "s"})
	}), http.StatusSeeOther)
	if q.Has("state") || q.Get("iss") != "https://evil.example" || q.Get("code") == "" {
		t.Errorf("callback query = %v", q)
	}
}

func TestLoginPageIDIsSingleUse(t *testing.T) {
	t.Parallel()
	idp, page := interactiveIDP(t)
	req := holdLogin(t, idp, page, clientConfig(idp).AuthCodeURL("st"))
	callbackQuery(t, answer(http.MethodPost, func(w http.ResponseWriter, r *http.Request) {
		idp.Approve(w, r, req.ID, oauthlogintest.User{Subject: "s"})
	}), http.StatusSeeOther)

	again := map[string]func(http.ResponseWriter, *http.Request){
		"approve": func(w http.ResponseWriter, r *http.Request) {
			idp.Approve(w, r, req.ID, oauthlogintest.User{Subject: "s"})
		},
		"deny": func(w http.ResponseWriter, r *http.Request) { idp.Deny(w, r, req.ID) },
	}
	for name, decide := range again {
		w := answer(http.MethodPost, decide)
		if w.Code != http.StatusBadRequest || w.Header().Get("Location") != "" {
			t.Errorf("%s a second time: %d, Location %q; want 400 without redirect", name, w.Code, w.Header().Get("Location"))
		}
	}
}

func TestLoginPageUnknownID(t *testing.T) {
	t.Parallel()
	idp, page := interactiveIDP(t)
	holdLogin(t, idp, page, clientConfig(idp).AuthCodeURL("st"))
	for _, id := range []string{"", "nope"} {
		w := answer(http.MethodPost, func(w http.ResponseWriter, r *http.Request) {
			idp.Approve(w, r, id, oauthlogintest.User{Subject: "s"})
		})
		if w.Code != http.StatusBadRequest || w.Header().Get("Location") != "" {
			t.Errorf("Approve(%q): %d, Location %q; want 400 without redirect", id, w.Code, w.Header().Get("Location"))
		}
		if _, ok := idp.PendingLogin(id); ok {
			t.Errorf("PendingLogin(%q) found a request", id)
		}
	}
}

func TestLoginPageSeesOnlyValidRequests(t *testing.T) {
	t.Parallel()
	idp, page := interactiveIDP(t)
	cfg := clientConfig(idp)
	q := authorize(t, cfg.AuthCodeURL("st", oauth2.SetAuthURLParam("code_challenge_method", "plain"),
		oauth2.SetAuthURLParam("code_challenge", oauth2.GenerateVerifier())))
	if q.Get("error") != "invalid_request" {
		t.Errorf("plain PKCE: callback query = %v", q)
	}
	idp.Behave(oauthlogintest.Behavior{AuthorizeError: "temporarily_unavailable"})
	if q := authorize(t, cfg.AuthCodeURL("st")); q.Get("error") != "temporarily_unavailable" {
		t.Errorf("scripted error: callback query = %v", q)
	}
	if n := len(page.requests()); n != 0 {
		t.Errorf("the login page saw %d requests, want 0", n)
	}
}

func TestSetLoginPageNil(t *testing.T) {
	t.Parallel()
	idp, page := interactiveIDP(t)
	held := holdLogin(t, idp, page, clientConfig(idp).AuthCodeURL("st"))
	idp.SetLoginPage(nil)
	if q := authorize(t, clientConfig(idp).AuthCodeURL("st")); q.Get("code") == "" {
		t.Errorf("without a login page: callback query = %v, want a code at once", q)
	}
	// A request held before stays answerable.
	callbackQuery(t, answer(http.MethodPost, func(w http.ResponseWriter, r *http.Request) {
		idp.Deny(w, r, held.ID)
	}), http.StatusSeeOther)
}

func TestHandleServesOnTheProviderOrigin(t *testing.T) {
	t.Parallel()
	idp, page := interactiveIDP(t)
	idp.Handle("POST /consent", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.PostFormValue("id")
		if r.PostFormValue("decision") == "deny" {
			idp.Deny(w, r, id)
			return
		}
		idp.Approve(w, r, id, oauthlogintest.User{Subject: r.PostFormValue("sub")})
	}))
	cfg := clientConfig(idp)
	req := holdLogin(t, idp, page, cfg.AuthCodeURL("st"))

	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.PostForm(idp.URL+"/consent", url.Values{"id": {req.ID}, "sub": {"form-user"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || loc == nil || loc.Query().Get("code") == "" {
		t.Fatalf("consent answered %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	tok, err := cfg.Exchange(t.Context(), loc.Query().Get("code"))
	if err != nil {
		t.Fatal(err)
	}
	if _, claims := decodeJWT(t, rawIDToken(t, tok)); claims["sub"] != "form-user" {
		t.Errorf("sub = %v, want form-user", claims["sub"])
	}
	if n := idp.Hits("authorize"); n != 1 {
		t.Errorf("authorize hits = %d, want 1 (Handle's routes are not counted)", n)
	}

	defer func() {
		if recover() == nil {
			t.Error("Handle accepted a pattern that conflicts with /authorize")
		}
	}()
	idp.Handle("GET /authorize", http.NotFoundHandler())
}

func TestLoginPageConcurrentAnswers(t *testing.T) {
	t.Parallel()
	idp, page := interactiveIDP(t)
	req := holdLogin(t, idp, page, clientConfig(idp).AuthCodeURL("st"))
	const n = 8
	codes := make(chan int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			codes <- answer(http.MethodPost, func(w http.ResponseWriter, r *http.Request) {
				if i%2 == 0 {
					idp.Deny(w, r, req.ID)
				} else {
					idp.Approve(w, r, req.ID, oauthlogintest.User{Subject: "s"})
				}
			}).Code
		})
	}
	wg.Wait()
	close(codes)
	redirects := 0
	for c := range codes {
		if c == http.StatusSeeOther {
			redirects++
		}
	}
	if redirects != 1 {
		t.Errorf("%d of %d concurrent answers redirected, want exactly 1", redirects, n)
	}
}
