package conformance_test

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"testing"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
)

// TestMain runs the suite; every harness logs through a capturing slog
// handler that fails its test if a code, token, verifier, secret or cookie
// value reaches a record. Here the suite also checks that the logs were
// not empty, so that the check means something.
//
// The tests run with an http.DefaultTransport that keeps no idle
// connections: they run in parallel, and every httptest.Server.Close
// closes the default transport's idle connections, which can break a
// connection another test has just taken from the pool ("http:
// CloseIdleConnections called").
func TestMain(m *testing.M) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DisableKeepAlives = true
	http.DefaultTransport = tr
	code := m.Run()
	recordsSeen.mu.Lock()
	n := recordsSeen.n
	recordsSeen.mu.Unlock()
	if code == 0 && n == 0 && flagRunAll() {
		fmt.Fprintln(os.Stderr, "conformance: no log record was written: the secret check proved nothing")
		code = 1
	}
	os.Exit(code)
}

// flagRunAll reports whether the whole suite ran (no -run filter).
func flagRunAll() bool {
	f := flag.Lookup("test.run")
	return f == nil || f.Value.String() == ""
}

// TestSecretHygiene makes a hostile provider echo every secret it is sent
// back in its error answers, and checks that the log, which records every
// failure, holds none of them.
func TestSecretHygiene(t *testing.T) {
	echo := func(status int, contentType string, shape func(form url.Values, secret string) string) map[string]func(http.Handler) http.Handler {
		return map[string]func(http.Handler) http.Handler{"token": func(http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				form, _ := url.ParseQuery(string(body))
				_, secret, _ := r.BasicAuth()
				w.Header().Set("Content-Type", contentType)
				w.Header().Set("WWW-Authenticate", `Bearer error="`+form.Get("code")+`"`)
				w.WriteHeader(status)
				io.WriteString(w, shape(form, secret))
			})
		}}
	}
	all := func(form url.Values, secret string) string {
		return form.Get("code") + " " + form.Get("code_verifier") + " " + secret + " " + form.Get("redirect_uri")
	}
	jsonError := func(code string) func(url.Values, string) string {
		return func(form url.Values, secret string) string {
			out, _ := json.Marshal(map[string]string{"error": code, "error_description": all(form, secret), "error_uri": "https://x/" + form.Get("code")})
			return string(out)
		}
	}
	for _, tc := range []struct {
		name   string
		behave oauthlogintest.Behavior
		code   string
	}{
		{"TokenErrorEchoesInDescription", oauthlogintest.Behavior{Intercept: echo(400, "application/json", jsonError("invalid_grant"))}, oauthlogin.ErrTokenExchange.Code()},
		{"TokenErrorCodeIsTheCode", oauthlogintest.Behavior{Intercept: echo(400, "application/json", func(f url.Values, s string) string {
			return jsonError(f.Get("code"))(f, s)
		})}, oauthlogin.ErrTokenExchange.Code()},
		{"TokenErrorCodeIsTheVerifier", oauthlogintest.Behavior{Intercept: echo(401, "application/json", func(f url.Values, s string) string {
			return jsonError(f.Get("code_verifier"))(f, s)
		})}, oauthlogin.ErrTokenExchange.Code()},
		{"TokenErrorPlainText", oauthlogintest.Behavior{Intercept: echo(500, "text/plain", all)}, oauthlogin.ErrTokenExchange.Code()},
		{"TokenOKButNotJSON", oauthlogintest.Behavior{Intercept: echo(200, "application/json", all)}, oauthlogin.ErrTokenExchange.Code()},
		{"TokenOKAsForm", oauthlogintest.Behavior{Intercept: echo(200, "application/x-www-form-urlencoded", func(f url.Values, s string) string {
			return "error=" + url.QueryEscape(f.Get("code")) + "&error_description=" + url.QueryEscape(all(f, s))
		})}, oauthlogin.ErrTokenExchange.Code()},
		{"UserInfoErrorEchoesToken", oauthlogintest.Behavior{Intercept: map[string]func(http.Handler) http.Handler{"userinfo": func(http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("WWW-Authenticate", r.Header.Get("Authorization"))
				http.Error(w, "bad token: "+r.Header.Get("Authorization"), http.StatusUnauthorized)
			})
		}}}, oauthlogin.ErrProfileUnavailable.Code()},
		{"UserInfoNotJSONEchoesToken", oauthlogintest.Behavior{Intercept: map[string]func(http.Handler) http.Handler{"userinfo": func(http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, r.Header.Get("Authorization"))
			})
		}}}, oauthlogin.ErrProfileUnavailable.Code()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.behave(tc.behave)
			b := oauthlogintest.NewBrowser()
			h.refused(b, h.login(b), tc.code)
			if h.log.count() == 0 {
				t.Fatal("the failure was not logged")
			}
		})
	}

	// The callback's own parameters: an error that carries the state or
	// the code, which the log must not repeat.
	for name, edit := range map[string]func(q url.Values){
		"CallbackErrorIsTheState": func(q url.Values) { q.Set("error", q.Get("state")); q.Del("code") },
		"CallbackErrorIsTheCode":  func(q url.Values) { q.Set("error", q.Get("code")) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			b := oauthlogintest.NewBrowser()
			cb := h.toCallback(b, "test")
			q := cb.Query()
			edit(q)
			cb.RawQuery = q.Encode()
			h.refused(b, h.visit(b, cb.String()), "provider_error")
			if h.log.count() == 0 {
				t.Fatal("the failure was not logged")
			}
		})
	}
}
