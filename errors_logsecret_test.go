package oauthlogin_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
	"github.com/oauthlogin/oauthlogin/providers"
)

// attack2Passphrase is a client secret that scrubCredentials' shape rule
// does not catch (no digit, no capital): only redaction by value can.
const attack2Passphrase = "correct-horse-battery-staple-passphrase"

// attack2EchoSecret answers with a malformed HTTP response whose first
// line is the client secret the request authenticated with: net/http then
// fails with `malformed HTTP response "<secret>"`, quoting it.
func attack2EchoSecret(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, secret, _ := r.BasicAuth()
		if s, err := url.QueryUnescape(secret); err == nil {
			secret = s
		}
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		buf.WriteString(secret + "\r\n\r\n")
		buf.Flush()
	})
}

// TestClientSecretEchoedNotLogged: SECURITY.md's threat model says a reader
// of the logs must not "find a ... client secret ... in them", and
// "Secrets in logs" says details are "redacted by value (... client
// secrets ...)". A hostile provider that answers with a malformed HTTP
// response echoing the client secret it was sent gets it into the log on
// two paths that redact only one other value: the device poll's
// "provider unavailable" record (writeNextHandle: logDetail(err,
// next.DeviceCode)) and a failed revocation (revokeToken: logDetail(err,
// t.token)). A secret that looks random is caught by shape; a passphrase
// like this one is not. The harness's log fails the test when the
// secret appears in any record.
func TestClientSecretEchoedNotLogged(t *testing.T) {
	t.Run("DevicePoll", func(t *testing.T) {
		h := newHarness(t, func(c *oauthlogin.Config) { c.DeviceProviders = []string{"pass"} })
		h.idp.SetClientSecret(attack2Passphrase)
		h.register("pass", providers.Config{})
		resp, err := http.Post(h.app.URL+"/auth/pass/device", "application/x-www-form-urlencoded", nil)
		if err != nil {
			t.Fatal(err)
		}
		var start map[string]any
		json.NewDecoder(resp.Body).Decode(&start)
		resp.Body.Close()
		handle, _ := start["handle"].(string)
		if resp.StatusCode != http.StatusOK || handle == "" {
			t.Fatalf("device start = %d %v", resp.StatusCode, start)
		}
		h.idp.Behave(oauthlogintest.Behavior{Intercept: map[string]func(http.Handler) http.Handler{"token": attack2EchoSecret}})
		resp, err = http.Post(h.app.URL+"/auth/device/token", "application/x-www-form-urlencoded", strings.NewReader(url.Values{"handle": {handle}}.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if attack2Logged(h, attack2Passphrase) {
			t.Errorf("the client secret reached the log (device poll)")
		}
	})
	t.Run("Revocation", func(t *testing.T) {
		h := newHarness(t, func(c *oauthlogin.Config) { c.Sessions.RevokeOnLogout = true })
		h.idp.SetClientSecret(attack2Passphrase)
		h.register("pass", providers.Config{})
		b := oauthlogintest.NewBrowser()
		page, err := b.Visit(t.Context(), h.beginURL("pass"), nil)
		if err != nil {
			t.Fatal(err)
		}
		h.mustSucceed(page)
		h.idp.Behave(oauthlogintest.Behavior{Intercept: map[string]func(http.Handler) http.Handler{"revoke": attack2EchoSecret}})
		resp := h.do(b, "DELETE", "/auth/session", "Sec-Fetch-Site", "same-origin")
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("logout = %d", resp.StatusCode)
		}
		if attack2Logged(h, attack2Passphrase) {
			t.Errorf("the client secret reached the log (revocation)")
		}
	})
}

// TestFormEncodedClientSecretNotLogged: at the callback, the token
// exchange's failure is logged with the client secret redacted by value,
// but only in its raw form (Callback: logDetail(..., rp.oauth.ClientSecret)),
// while client_secret_basic sends it form-encoded (RFC 6749 §2.3.1):
// a secret with a space is sent as "correct+horse+...", which a hostile
// token endpoint echoes into a malformed response, and that form reaches
// the log. (requestSecrets, used by writeError, adds url.QueryEscape of
// each secret; the callback's redaction does not.)
func TestFormEncodedClientSecretNotLogged(t *testing.T) {
	const secret = "correct horse battery staple passphrase"
	h := newHarness(t)
	h.idp.SetClientSecret(secret)
	h.register("pass", providers.Config{})
	h.idp.Behave(oauthlogintest.Behavior{Intercept: map[string]func(http.Handler) http.Handler{"token": func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, sent, _ := r.BasicAuth() // as sent: form-encoded
			conn, buf, err := w.(http.Hijacker).Hijack()
			if err != nil {
				return
			}
			defer conn.Close()
			buf.WriteString(sent + "\r\n\r\n")
			buf.Flush()
		})
	}}})
	b := oauthlogintest.NewBrowser()
	page, err := b.Visit(t.Context(), h.beginURL("pass"), nil)
	if err != nil {
		t.Fatal(err)
	}
	h.mustFail(page, oauthlogin.ErrTokenExchange.Code())
	if escaped := url.QueryEscape(secret); attack2Logged(h, escaped) {
		t.Errorf("the client secret reached the log, form-encoded: %q", escaped)
	}
}

func attack2Logged(h *harness, s string) bool {
	return h.logs.Contains(s)
}
