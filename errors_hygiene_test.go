package oauthlogin_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
)

// echoer makes the fake provider's back-channel endpoints (token, device,
// revoke) answer 400 with every secret they were sent (code, verifier,
// refresh token, device code, token to revoke, client secret) in
// error_description and as the error code, once hostile is set; before,
// it only collects the secrets of honest answers.
type echoer struct {
	logs    secretLog
	mu      sync.Mutex
	hostile bool
	secrets []string
}

func (e *echoer) add(vs ...string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, v := range vs {
		if len(v) >= 8 {
			e.logs.secret(v)
			e.secrets = append(e.secrets, v)
		}
	}
}

func (e *echoer) behavior() oauthlogintest.Behavior {
	wrap := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			form, _ := url.ParseQuery(string(body))
			var got []string
			for _, k := range []string{"code", "code_verifier", "refresh_token", "device_code", "token", "client_secret"} {
				got = append(got, form.Get(k))
			}
			if _, pw, ok := r.BasicAuth(); ok {
				unescaped, _ := url.QueryUnescape(pw)
				got = append(got, pw, unescaped)
			}
			e.add(got...)
			e.mu.Lock()
			hostile := e.hostile
			e.mu.Unlock()
			if hostile {
				all := strings.TrimSpace(strings.Join(got, " "))
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				json.NewEncoder(w).Encode(map[string]string{"error": strings.Fields(all + " x")[0], "error_description": all})
				return
			}
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			var v struct {
				Access  string `json:"access_token"`
				Refresh string `json:"refresh_token"`
				ID      string `json:"id_token"`
				Device  string `json:"device_code"`
			}
			json.Unmarshal(rec.Body.Bytes(), &v)
			e.add(v.Access, v.Refresh, v.ID, v.Device)
			for k, vs := range rec.Header() {
				w.Header()[k] = vs
			}
			w.WriteHeader(rec.Code)
			w.Write(rec.Body.Bytes())
		})
	}
	return oauthlogintest.Behavior{Intercept: map[string]func(http.Handler) http.Handler{"token": wrap, "device": wrap, "revoke": wrap}}
}

// TestSecretHygieneRoutes: the routes that call the provider (callback,
// refresh, device start and poll, logout with revocation) while it echoes
// what it was sent: every answer carries a code and its fixed message, and
// neither an answer nor a log record holds a secret (RFC 6749 §10.3).
func TestSecretHygieneRoutes(t *testing.T) {
	h := newHarness(t, func(c *oauthlogin.Config) {
		c.Sessions.RevokeOnLogout = true
		c.Sessions.ExposeProviderAccessToken = false
		c.DeviceProviders = []string{"test"}
	})
	e := &echoer{logs: h.logs}
	h.idp.Behave(e.behavior())
	b := oauthlogintest.NewBrowser()
	h.mustSucceed(h.login(b))
	var dev struct{ Handle string }
	decode(t, h.do(b, "POST", "/auth/test/device"), &dev)

	e.mu.Lock()
	e.hostile = true
	e.mu.Unlock()
	var answers []string
	check := func(what string, resp *http.Response, wantCodes ...string) {
		t.Helper()
		body, _ := io.ReadAll(resp.Body)
		var hdr strings.Builder
		resp.Header.Write(&hdr)
		answers = append(answers, what+"\n"+hdr.String()+"\n"+string(body))
		var v struct{ Error, Message string }
		if err := json.Unmarshal(body, &v); err != nil || !strings.Contains(strings.Join(wantCodes, " "), v.Error) || v.Error == "" || v.Message == "" {
			t.Errorf("%s = %d %s, want one of %v", what, resp.StatusCode, body, wantCodes)
		}
	}
	form := []string{"Content-Type", "application/x-www-form-urlencoded", "Sec-Fetch-Site", "same-origin"}
	check("refresh", h.do(b, "POST", "/auth/refresh", form...), oauthlogin.ErrRefreshFailed.Code())
	poll, _ := http.NewRequest("POST", h.app.URL+"/auth/device/token", strings.NewReader(url.Values{"handle": {dev.Handle}}.Encode()))
	poll.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := b.Client.Do(poll)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	check("device poll", resp, oauthlogin.ErrTokenExchange.Code())
	check("device start", h.do(b, "POST", "/auth/test/device"), "provider_error")
	logout := h.do(b, "DELETE", "/auth/session", form...)
	if logout.StatusCode != http.StatusNoContent {
		t.Fatalf("logout = %d", logout.StatusCode)
	}
	if h.idp.Hits("revoke") == 0 {
		t.Fatal("logout did not revoke: the hostile revocation endpoint was not tried")
	}
	c := oauthlogintest.NewBrowser()
	page := h.login(c)
	h.mustFail(page, oauthlogin.ErrTokenExchange.Code())
	answers = append(answers, page.URL.String()+"\n"+string(page.Body))

	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.secrets) == 0 {
		t.Fatal("no secret was collected: the check proves nothing")
	}
	for _, a := range answers {
		for _, s := range e.secrets {
			if strings.Contains(a, s) || strings.Contains(a, url.QueryEscape(s)) {
				t.Errorf("an answer holds a secret %.20q:\n%.500s", s, a)
			}
		}
	}
}
