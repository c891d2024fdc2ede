package scenario

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/internal/testapp"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
	"github.com/oauthlogin/oauthlogin/providers"
)

// appScheme is the native app's redirect scheme in the token-mode
// scenarios.
const appScheme = "com.example.app"

// nativeApp is two app instances over the same stores, with token mode
// enabled for appScheme, and the fake provider.
type nativeApp struct {
	t    *testing.T
	idp  *oauthlogintest.Server
	inst []*httptest.Server
}

func newNativeApp(t *testing.T, store oauthlogin.Store) *nativeApp {
	t.Helper()
	a := &nativeApp{t: t, idp: testapp.NewIdP(t)}
	front := httptest.NewUnstartedServer(nil) // one BaseURL for both: the redirect URI must not change
	cfg := testapp.Config("http://"+front.Listener.Addr().String(), store, slog.New(slog.DiscardHandler))
	cfg.Sessions = oauthlogin.SessionOptions{} // the provider access token stays hidden
	cfg.NativeApps = oauthlogin.NativeApps{Schemes: []string{appScheme}}
	for range 2 {
		m, err := oauthlogin.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		testapp.Register(t, m, a.idp, "test", providers.Config{})
		srv := httptest.NewServer(m.Handler())
		t.Cleanup(srv.Close)
		a.inst = append(a.inst, srv)
	}
	// Logins go through the front server (instance 0); redemptions are
	// sent to either instance directly.
	front.Config.Handler = a.inst[0].Config.Handler
	front.Start()
	t.Cleanup(front.Close)
	a.inst[0] = front
	return a
}

// login runs a token-mode login, with extra begin parameters, and returns
// the userId and secret the app's redirect carries.
func (a *nativeApp) login(extra url.Values) (userID, secret string) {
	a.t.Helper()
	q := url.Values{"mode": {"token"}, "success": {appScheme + "://cb"}, "failure": {appScheme + "://failed"}}
	for k, v := range extra {
		q[k] = v
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	page, err := oauthlogintest.NewBrowser().Visit(ctx, a.inst[0].URL+"/auth/test?"+q.Encode(), nil)
	if err != nil {
		a.t.Fatal(err)
	}
	if page.Location == nil || page.Location.Scheme != appScheme || page.Location.Host != "cb" {
		a.t.Fatalf("token-mode login ended at %s (%d), redirect %v: %s", page.URL, page.Status, page.Location, page.Body)
	}
	return page.Location.Query().Get("userId"), page.Location.Query().Get("secret")
}

// redeem posts userId, secret and verifier (when not empty) to POST
// /auth/session of instance i, as JSON or as a form, and returns the
// status.
func (a *nativeApp) redeem(i int, asJSON bool, userID, secret, verifier string) int {
	a.t.Helper()
	var body, ct string
	if asJSON {
		v := map[string]string{"userId": userID, "secret": secret}
		if verifier != "" {
			v["code_verifier"] = verifier
		}
		b, _ := json.Marshal(v)
		body, ct = string(b), "application/json"
	} else {
		f := url.Values{"userId": {userID}, "secret": {secret}}
		if verifier != "" {
			f.Set("code_verifier", verifier)
		}
		body, ct = f.Encode(), "application/x-www-form-urlencoded"
	}
	req, err := http.NewRequest("POST", a.inst[i].URL+"/auth/session", strings.NewReader(body))
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Content-Type", ct)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// respellings are other spellings of secret that a lenient decoder could
// read as the same bytes: base64 decoders skip CR and LF, and padding is
// optional to some.
func respellings(secret string) map[string]string {
	trimmed := strings.TrimRight(secret, "=")
	return map[string]string{
		"trailing LF":      secret + "\n",
		"trailing CRLF":    secret + "\r\n",
		"inner LF":         secret[:10] + "\n" + secret[10:],
		"inner CRLF":       secret[:10] + "\r\n" + secret[10:],
		"leading space":    " " + secret,
		"padding added":    secret + "=",
		"padding added 2":  secret + "==",
		"padding dropped":  trimmed,
		"padding dropped+": trimmed + "===",
		"NUL":              secret + "\x00",
	}
}

// TokenModeReplay checks that a token-mode secret (userId + secret,
// exchanged at POST /auth/session) redeems exactly once with the given
// stores, on either of two instances: the secret again, in the same or
// another spelling (RFC 4648 §3.3: a decoder that skips characters outside
// the alphabet lets one value have many spellings; §3.2: padding), or in
// concurrent requests, gets 401 after the one 201. A non-canonical
// spelling never redeems at all.
func TokenModeReplay(t *testing.T, store oauthlogin.Store) {
	a := newNativeApp(t, store)

	t.Run("spellings", func(t *testing.T) {
		userID, secret := a.login(nil)
		for name, s := range respellings(secret) {
			if s == secret {
				continue
			}
			if got := a.redeem(1, true, userID, s, ""); got != http.StatusUnauthorized {
				t.Errorf("before the exchange, the secret with %s = %d, want 401", name, got)
			}
		}
		if got := a.redeem(0, false, userID, secret, ""); got != http.StatusCreated {
			t.Fatalf("the exchange = %d, want 201", got)
		}
		if got := a.redeem(1, false, userID, secret, ""); got != http.StatusUnauthorized {
			t.Errorf("the secret again on the other instance = %d, want 401", got)
		}
		for name, s := range respellings(secret) {
			if got := a.redeem(1, true, userID, s, ""); got != http.StatusUnauthorized {
				t.Errorf("after the exchange, the secret with %s = %d, want 401", name, got)
			}
		}
	})

	t.Run("concurrent", func(t *testing.T) {
		userID, secret := a.login(nil)
		const n = 16
		var wg sync.WaitGroup
		codes := make([]int, n)
		for i := range n {
			wg.Go(func() { codes[i] = a.redeem(i%2, i%4 < 2, userID, secret, "") })
		}
		wg.Wait()
		created := 0
		for _, c := range codes {
			switch c {
			case http.StatusCreated:
				created++
			case http.StatusUnauthorized:
			default:
				t.Errorf("a concurrent exchange answered %d", c)
			}
		}
		if created != 1 {
			t.Fatalf("%d of %d concurrent exchanges of one secret got a session, want exactly 1", created, n)
		}
	})
}

// S256 returns the RFC 7636 §4.2 S256 code_challenge of verifier.
func S256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// TokenModeProofOfPossession checks, with the given stores, that a secret
// issued to a begin with the app's own code_challenge (RFC 8252 §8.1, RFC
// 7636) redeems only with its code_verifier: a missing or wrong verifier
// is 401 and burns the secret, so the right verifier after it is 401 too;
// a verifier for a secret issued without a challenge is refused (a
// stripped challenge, RFC 9700 §4.8.2); the right verifier first is 201.
func TokenModeProofOfPossession(t *testing.T, store oauthlogin.Store) {
	a := newNativeApp(t, store)
	verifier := strings.Repeat("verifier-0123456789_~.", 3)
	bound := url.Values{"code_challenge": {S256(verifier)}, "code_challenge_method": {"S256"}}

	userID, secret := a.login(bound)
	if got := a.redeem(1, true, userID, secret, verifier); got != http.StatusCreated {
		t.Fatalf("the right verifier = %d, want 201", got)
	}
	for name, wrong := range map[string]string{"none": "", "wrong": strings.Repeat("x", 43), "malformed": verifier + " ", "the challenge itself": S256(verifier)} {
		userID, secret := a.login(bound)
		if got := a.redeem(0, name == "none", userID, secret, wrong); got != http.StatusUnauthorized {
			t.Errorf("verifier %s = %d, want 401", name, got)
		}
		if got := a.redeem(1, true, userID, secret, verifier); got != http.StatusUnauthorized {
			t.Errorf("after verifier %s, the right one = %d, want 401: the secret must be burnt", name, got)
		}
	}
	userID, secret = a.login(nil)
	if got := a.redeem(0, true, userID, secret, verifier); got != http.StatusUnauthorized {
		t.Errorf("a verifier for a secret issued without a challenge = %d, want 401", got)
	}
}
