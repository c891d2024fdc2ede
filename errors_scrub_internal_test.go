package oauthlogin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestWriteErrorFixedMessage: a JSON error answer carries the error's code,
// its status and its one fixed message, never the error's text, which may
// quote what a provider sent or echoed (RFC 6749 §10.3: credentials stay
// confidential). Every sentinel is tried with a cause that holds an echoed
// secret, answered with its own status and with another one
// (writeErrorStatus), and so is an unexpected error, as a 400 and a 500.
// The log gets the details, without the secret.
func TestWriteErrorFixedMessage(t *testing.T) {
	const echoed = "EchoedRefreshToken-0123456789abcdef"
	var logs bytes.Buffer
	m, err := New(Config{
		BaseURL: "https://app.example.com",
		Keys:    Keys{Cookie: []CookieKey{GenerateCookieKey()}},
		Logger:  slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	type tc struct {
		err          error
		status       int // 0: the error's own
		code, msg    string
		wantedStatus int
	}
	var cases []tc
	for _, e := range append([]*Error{errUnsupported}, sentinelErrors()...) {
		wrapped := fmt.Errorf("%w: provider said %q", e, echoed)
		if e == errUnsupported {
			wrapped = fmt.Errorf("%w: provider said %q", errors.ErrUnsupported, echoed)
		}
		other := http.StatusBadGateway
		if e == ErrStoreUnavailable {
			other = http.StatusServiceUnavailable
		}
		cases = append(cases,
			tc{wrapped, 0, e.code, e.public, e.status},
			tc{wrapped, http.StatusBadGateway, e.code, e.public, other})
	}
	other := fmt.Errorf("oauthlogin: something unexpected: %s", echoed)
	cases = append(cases,
		tc{other, http.StatusBadRequest, "bad_request", "bad request", http.StatusBadRequest},
		tc{other, http.StatusInternalServerError, "server_error", "internal error", http.StatusInternalServerError},
		tc{other, 0, "server_error", "internal error", http.StatusInternalServerError})
	for _, c := range cases {
		if c.msg == "" || strings.Contains(c.msg, "%") {
			t.Errorf("code %s has no fixed message", c.code)
		}
		logs.Reset()
		w := httptest.NewRecorder()
		r := httptest.NewRequest("POST", "/auth/refresh", nil)
		if c.status == 0 {
			m.writeError(w, r, c.err)
		} else {
			m.writeErrorStatus(w, r, c.status, c.err)
		}
		var v struct{ Error, Message string }
		if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
			t.Fatalf("%s: %v", c.code, err)
		}
		if w.Code != c.wantedStatus || v.Error != c.code || v.Message != c.msg {
			t.Errorf("%v (status %d): answered %d %+v, want %d {%s %s}", c.err, c.status, w.Code, v, c.wantedStatus, c.code, c.msg)
		}
		if strings.Contains(w.Body.String(), echoed) || strings.Contains(fmt.Sprint(w.Header()), echoed) {
			t.Errorf("%s: the answer holds the echoed secret: %s", c.code, w.Body)
		}
		if !strings.Contains(logs.String(), "code="+c.code) {
			t.Errorf("%s: not logged: %q", c.code, logs.String())
		}
		if strings.Contains(logs.String(), echoed) {
			t.Errorf("%s: the log holds the echoed secret: %s", c.code, logs.String())
		}
	}
}

// TestScrubCredentials: a log record may quote provider text, which may
// echo a credential nobody at the logging site knows (a refresh token in
// an ID token's aud, a device code in a URL). Words shaped like one go;
// the codes, words, hosts and paths of an error text stay readable.
func TestScrubCredentials(t *testing.T) {
	for in, want := range map[string]string{
		`untrusted audience "SeoBr6iP_Qtq5a8rHBRAaxf0C6lUVo3O5flyKps0hbs"`:                             `untrusted audience "[redacted]"`,
		`expected "https://idp.example" got "1//0gAbCdEfGhIjKlMnOpQrStUv"`:                             `expected "https://idp.example" got "[redacted]"`,
		"Post \"http://127.0.0.1:41234/token?c=9f86d081884c7d659a2feaa0c55ad015\": stopped":            "Post \"http://127.0.0.1:41234/token?c=[redacted]\": stopped",
		"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c": "eyJhbGciOiJSUzI1NiJ9.[redacted].[redacted]", // a JWT: its header is no secret
		"oauthlogin: token refresh failed: provider_token_revoked":                                     "oauthlogin: token refresh failed: provider_token_revoked",
		"token_exchange_failed: token endpoint answered 400 unsupported_grant_type":                    "token_exchange_failed: token endpoint answered 400 unsupported_grant_type",
		"https://login.microsoftonline.com/common/oauth2/v2.0/token":                                   "https://login.microsoftonline.com/common/oauth2/v2.0/token",
		"": "",
	} {
		if got := scrubCredentials(in); got != want {
			t.Errorf("scrubCredentials(%q)\n= %q\nwant %q", in, got, want)
		}
	}
	if got := logDetail(errors.New("client secret lowercasesecretvalue here"), "lowercasesecretvalue"); strings.Contains(got, "lowercasesecretvalue") {
		t.Errorf("a known secret was not redacted: %q", got)
	}
}
