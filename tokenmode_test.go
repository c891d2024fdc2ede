package oauthlogin_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
)

// nativeLogin runs a token-mode login to the app scheme and returns where
// the browser was sent.
func nativeLogin(t *testing.T, h *harness, success, failure string) *url.URL {
	t.Helper()
	q := url.Values{"mode": {"token"}, "success": {success}, "failure": {failure}}
	page, err := oauthlogintest.NewBrowser().Visit(context.Background(), h.app.URL+"/auth/test?"+q.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if page.Location == nil {
		t.Fatalf("token-mode login ended at %s (%d): %s", page.URL, page.Status, page.Body)
	}
	return page.Location
}

// exchange posts userId and secret to POST /auth/session as JSON.
func exchange(t *testing.T, h *harness, userID, secret string) (*http.Response, map[string]any) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"userId": userID, "secret": secret})
	req, _ := http.NewRequest("POST", h.app.URL+"/auth/session", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]any
	json.NewDecoder(resp.Body).Decode(&v)
	return resp, v
}

func withBearer(t *testing.T, method, u, token string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, u, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestTokenMode(t *testing.T) {
	h := newHarness(t, func(c *oauthlogin.Config) { c.NativeApps.Schemes = []string{"myapp-callback"} })
	to := nativeLogin(t, h, "myapp-callback://auth", "myapp-callback://auth/failed")
	q := to.Query()
	if to.Scheme != "myapp-callback" || to.Host != "auth" || to.Path != "" || q.Get("userId") == "" || len(q.Get("secret")) < 43 {
		t.Fatalf("redirected to %s", to)
	}
	h.logs.secret(q.Get("secret"))
	// The secret is no session.
	if resp := withBearer(t, "GET", h.app.URL+"/auth/session", q.Get("secret")); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the one-time secret works as a bearer token: %d", resp.StatusCode)
	}

	// A wrong userId with the right secret is refused and consumes nothing.
	if resp, _ := exchange(t, h, "someone-else", q.Get("secret")); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong userId = %d", resp.StatusCode)
	}
	resp, s := exchange(t, h, q.Get("userId"), q.Get("secret"))
	if resp.StatusCode != http.StatusCreated || s["userId"] != q.Get("userId") || s["provider"] != "test" || len(resp.Cookies()) != 0 {
		t.Fatalf("exchange = %d %v, cookies %v", resp.StatusCode, s, resp.Cookies())
	}
	token, _ := s["secret"].(string)
	h.logs.secret(token)
	if len(token) != 43 || s["providerAccessToken"] == "" {
		t.Fatalf("session JSON = %v", s)
	}

	// The bearer token is the session, on every endpoint, with no CSRF check.
	resp = withBearer(t, "GET", h.app.URL+"/auth/session", token)
	var got map[string]any
	json.NewDecoder(resp.Body).Decode(&got)
	if resp.StatusCode != http.StatusOK || got["id"] != s["id"] {
		t.Fatalf("GET /auth/session with the bearer = %d %v", resp.StatusCode, got)
	}
	if resp := withBearer(t, "GET", h.app.URL+"/private", token); resp.StatusCode != http.StatusOK {
		t.Fatalf("middleware with the bearer = %d", resp.StatusCode)
	}
	if resp := withBearer(t, "POST", h.app.URL+"/auth/refresh", token); resp.StatusCode != http.StatusOK {
		t.Fatalf("refresh with the bearer = %d", resp.StatusCode)
	}

	// The secret is dead now.
	if resp, v := exchange(t, h, q.Get("userId"), q.Get("secret")); resp.StatusCode != http.StatusUnauthorized || v["error"] != "invalid_secret" {
		t.Fatalf("reused secret = %d %v", resp.StatusCode, v)
	}
	if resp := withBearer(t, "DELETE", h.app.URL+"/auth/session", token); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("logout with the bearer = %d", resp.StatusCode)
	}
	if resp := withBearer(t, "GET", h.app.URL+"/auth/session", token); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("bearer after logout = %d", resp.StatusCode)
	}
}

func TestTokenModeRefusals(t *testing.T) {
	h := newHarness(t, func(c *oauthlogin.Config) { c.NativeApps.Schemes = []string{"myapp-callback"} })
	for _, tc := range []struct {
		name, mode, success string
		status              int
	}{
		{"UnknownScheme", "token", "otherapp://auth", http.StatusBadRequest},
		{"SchemeInSessionMode", "", "myapp-callback://auth", http.StatusBadRequest},
		{"LoopbackInSessionMode", "", "http://127.0.0.1:54321/cb", http.StatusBadRequest},
		{"LocalhostName", "token", "http://localhost:54321/cb", http.StatusBadRequest},
		{"LoopbackHTTPS", "token", "https://127.0.0.1:54321/cb", http.StatusBadRequest},
		{"UserInfo", "token", "myapp-callback://evil@auth", http.StatusBadRequest},
		{"Opaque", "token", "myapp-callback:auth", http.StatusBadRequest},
		{"SchemeCase", "token", "MYAPP-CALLBACK://auth", http.StatusFound},
		{"SchemePrefix", "token", "myapp-callback-evil://auth", http.StatusBadRequest},
		{"CRLF", "token", "myapp-callback://auth\r\nSet-Cookie:x=y", http.StatusBadRequest},
		{"LoopbackUserInfo", "token", "http://evil@127.0.0.1:54321/cb", http.StatusBadRequest},
		{"LoopbackLookalike", "token", "http://127.0.0.1.evil.example:54321/cb", http.StatusBadRequest},
		{"LoopbackOtherAddress", "token", "http://127.0.0.2:54321/cb", http.StatusBadRequest},
		{"Loopback", "token", "http://127.0.0.1:54321/cb", http.StatusFound},
		{"LoopbackV6", "token", "http://[::1]:54321/cb", http.StatusFound},
		{"OtherMode", "implicit", h.app.URL + "/done", http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := url.Values{"mode": {tc.mode}, "success": {tc.success}, "failure": {tc.success}}
			noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			resp, err := noFollow.Get(h.app.URL + "/auth/test?" + q.Encode())
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("= %d, want %d", resp.StatusCode, tc.status)
			}
		})
	}
	if resp, v := exchange(t, h, "u", "not-a-secret"); resp.StatusCode != http.StatusUnauthorized || v["error"] != "invalid_secret" {
		t.Fatalf("made-up secret = %d %v", resp.StatusCode, v)
	}
}

func TestTokenModeFailure(t *testing.T) {
	h := newHarness(t, func(c *oauthlogin.Config) { c.NativeApps.Schemes = []string{"myapp-callback"} })
	h.idp.Behave(oauthlogintest.Behavior{AuthorizeError: "access_denied"})
	to := nativeLogin(t, h, "myapp-callback://auth", "myapp-callback://auth/failed")
	if to.String() != "myapp-callback://auth/failed?error=access_denied" {
		t.Fatalf("failure went to %s", to)
	}
}

// A bearer request is authenticated by its token alone: a cookie does not
// stand in for a bad one.
func TestBearerAlone(t *testing.T) {
	h := newHarness(t)
	b := oauthlogintest.NewBrowser()
	h.mustSucceed(h.login(b))
	if resp := h.do(b, "GET", "/auth/session", "Authorization", "Bearer nope"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("bad bearer with a good cookie = %d", resp.StatusCode)
	}
}
