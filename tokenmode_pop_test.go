package oauthlogin_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
	"github.com/oauthlogin/oauthlogin/providers"
)

// lenientSealer keeps sessions in the client, sealed (here only encoded)
// into a token that opens with or without trailing "=": two spellings of
// one pending session, as a store's lenient decoder may allow.
type lenientSealer struct{ *oauthlogin.MemoryStore }

func (lenientSealer) SealSession(s *oauthlogin.Session) (string, error) {
	b, err := json.Marshal(s)
	return base64.RawURLEncoding.EncodeToString(b), err
}

func (lenientSealer) OpenSession(token string) (*oauthlogin.Session, error) {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(token, "="))
	if err != nil {
		return nil, oauthlogin.ErrNotFound
	}
	var s oauthlogin.Session
	if json.Unmarshal(b, &s) != nil {
		return nil, oauthlogin.ErrNotFound
	}
	return &s, nil
}

// A token-mode secret is single use (RFC 6749 §10.5, applied to the
// app's one-time secret), whatever spelling of it the store would open:
// the mark is on the pending session's own id, not on the bytes sent.
func TestSecretSingleUseAcrossSpellings(t *testing.T) {
	mem := oauthlogin.NewMemoryStore()
	h := newHarness(t, func(c *oauthlogin.Config) {
		c.Store = lenientSealer{mem}
		c.NativeApps.Schemes = []string{"com.example.app"}
	})
	to := nativeLogin(t, h, "com.example.app://cb", "com.example.app://failed")
	userID, secret := to.Query().Get("userId"), to.Query().Get("secret")
	if resp, _ := exchange(t, h, userID, secret); resp.StatusCode != http.StatusCreated {
		t.Fatalf("exchange = %d", resp.StatusCode)
	}
	for _, again := range []string{secret, secret + "=", secret + "=="} {
		if resp, _ := exchange(t, h, userID, again); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("the secret spelled %q... again = %d, want 401", again[len(again)-4:], resp.StatusCode)
		}
	}
}

func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// The app's own code_challenge at a token-mode begin (RFC 8252 §8.1, RFC
// 7636 §4.2–4.3): S256 only (plain, and an absent method, which means
// plain, are refused), a 43-character base64url SHA-256 only; with Config.NativeApps.RequireChallenge a token-mode begin without one is
// refused. Each refusal is a 400 invalid_challenge before any redirect.
func TestAppChallengeAtBegin(t *testing.T) {
	verifier := strings.Repeat("v", 43)
	good := s256(verifier)
	for _, require := range []bool{false, true} {
		h := newHarness(t, func(c *oauthlogin.Config) {
			c.NativeApps.Schemes = []string{"com.example.app"}
			c.NativeApps.RequireChallenge = require
		})
		begin := func(q url.Values) (int, string) {
			if !q.Has("success") {
				q.Set("success", "com.example.app://cb")
				q.Set("failure", "com.example.app://failed")
			}
			resp, err := noFollow().Get(h.app.URL + "/auth/test?" + q.Encode())
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var v struct{ Error string }
			json.NewDecoder(resp.Body).Decode(&v)
			return resp.StatusCode, v.Error
		}
		refused := map[string]url.Values{
			"plain":           {"mode": {"token"}, "code_challenge": {good}, "code_challenge_method": {"plain"}},
			"no method":       {"mode": {"token"}, "code_challenge": {good}},
			"lower-case s256": {"mode": {"token"}, "code_challenge": {good}, "code_challenge_method": {"s256"}},
			"method only":     {"mode": {"token"}, "code_challenge_method": {"S256"}},
			"short":           {"mode": {"token"}, "code_challenge": {good[:42]}, "code_challenge_method": {"S256"}},
			"long":            {"mode": {"token"}, "code_challenge": {good + "A"}, "code_challenge_method": {"S256"}},
			"padded":          {"mode": {"token"}, "code_challenge": {good + "="}, "code_challenge_method": {"S256"}},
			"std base64":      {"mode": {"token"}, "code_challenge": {"+" + good[1:]}, "code_challenge_method": {"S256"}},
			"not canonical":   {"mode": {"token"}, "code_challenge": {good[:42] + "B"}, "code_challenge_method": {"S256"}},
			"with LF":         {"mode": {"token"}, "code_challenge": {good[:20] + "\n" + good[20:42]}, "code_challenge_method": {"S256"}},
			"a verifier":      {"mode": {"token"}, "code_challenge": {verifier + "xyz"}, "code_challenge_method": {"S256"}},
			"repeated":        {"mode": {"token"}, "code_challenge": {good, good}, "code_challenge_method": {"S256"}},
		}
		if good[42] == 'B' {
			refused["not canonical"]["code_challenge"] = []string{good[:42] + "C"}
		}
		if require {
			refused["required"] = url.Values{"mode": {"token"}}
		}
		for name, q := range refused {
			if status, code := begin(q); status != http.StatusBadRequest || code != "invalid_challenge" {
				t.Errorf("require=%v, %s: begin = %d %s, want 400 %s", require, name, status, code, "invalid_challenge")
			}
		}
		if status, _ := begin(url.Values{"mode": {"token"}, "code_challenge": {good}, "code_challenge_method": {"S256"}}); status != http.StatusFound {
			t.Errorf("require=%v: begin with a good challenge = %d, want 302", require, status)
		}
		if !require {
			if status, _ := begin(url.Values{"mode": {"token"}}); status != http.StatusFound {
				t.Errorf("begin without a challenge = %d, want 302", status)
			}
		}
	}
}

// With Config.NativeApps.RequireChallenge the whole native login works with the
// verifier, and only with it.
func TestRequireAppChallengeLogin(t *testing.T) {
	h := newHarness(t, func(c *oauthlogin.Config) {
		c.NativeApps.Schemes = []string{"com.example.app"}
		c.NativeApps.RequireChallenge = true
	})
	verifier := strings.Repeat("abc-._~", 7)
	q := url.Values{"mode": {"token"}, "success": {"com.example.app://cb"}, "failure": {"com.example.app://failed"}, "code_challenge": {s256(verifier)}, "code_challenge_method": {"S256"}}
	page, err := oauthlogintest.NewBrowser().Visit(context.Background(), h.app.URL+"/auth/test?"+q.Encode(), nil)
	if err != nil || page.Location == nil {
		t.Fatalf("login: %v %v", page, err)
	}
	userID, secret := page.Location.Query().Get("userId"), page.Location.Query().Get("secret")
	h.logs.secret(secret)
	form := url.Values{"userId": {userID}, "secret": {secret}, "code_verifier": {verifier}}
	resp, err := http.PostForm(h.app.URL+"/auth/session", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("exchange with the verifier (form) = %d, want 201", resp.StatusCode)
	}
}

// Config.NativeApps.RequireChallenge holds at the exchange too: a secret issued
// without a challenge (a login begun before the setting, on an instance
// without it) does not redeem where it is required.
func TestRequireAppChallengeAtExchange(t *testing.T) {
	h := newHarness(t, func(c *oauthlogin.Config) { c.NativeApps.Schemes = []string{"com.example.app"} })
	to := nativeLogin(t, h, "com.example.app://cb", "com.example.app://failed")
	cfg := h.cfg
	cfg.NativeApps.RequireChallenge = true
	strict, err := oauthlogin.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p, err := providers.OIDC(context.Background(), "test", h.idp.URL, providers.Config{ClientID: h.idp.ClientID, ClientSecret: h.idp.ClientSecret})
	if err != nil {
		t.Fatal(err)
	}
	if err := strict.Register(p); err != nil {
		t.Fatal(err)
	}
	body := `{"userId":"` + to.Query().Get("userId") + `","secret":"` + to.Query().Get("secret") + `"}`
	w := httptest.NewRecorder()
	r := httptest.NewRequest("POST", "/auth/session", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	strict.Handler().ServeHTTP(w, r)
	if w.Code != http.StatusUnauthorized {
		t.Fatalf("a secret without a challenge where one is required = %d, want 401", w.Code)
	}
}

// A token-mode secret of an identity unlinked since the login signs in no
// one, even where the pending record lives in the secret itself (a
// SessionSealer, which the unlink's sweep cannot reach): 401
// invalid_secret, not a server error, and no session.
func TestSecretOfUnlinkedIdentity(t *testing.T) {
	mem := oauthlogin.NewMemoryStore()
	h := newHarness(t, func(c *oauthlogin.Config) {
		c.Store = lenientSealer{mem}
		c.NativeApps.Schemes = []string{"com.example.app"}
	})
	to := nativeLogin(t, h, "com.example.app://cb", "com.example.app://failed")
	userID, secret := to.Query().Get("userId"), to.Query().Get("secret")
	ctx := context.Background()
	ids, err := mem.UserIdentities(ctx, userID)
	if err != nil || len(ids) != 1 {
		t.Fatalf("identities of the new user: %v %v", ids, err)
	}
	// A second way in, so that the first may go.
	other := &oauthlogin.Identity{ID: "other-1", UserID: userID, Issuer: "https://other.example", Provider: "other", ProviderUID: "o-1"}
	if err := mem.CreateIdentity(ctx, other); err != nil {
		t.Fatal(err)
	}
	if err := mem.DeleteIdentity(ctx, userID, ids[0].ID); err != nil {
		t.Fatal(err)
	}
	resp, v := exchange(t, h, userID, secret)
	if resp.StatusCode != http.StatusUnauthorized || v["error"] != "invalid_secret" {
		t.Fatalf("exchange after unlink = %d %v, want 401 %s", resp.StatusCode, v["error"], "invalid_secret")
	}
}

// A token-mode secret past its lifetime is refused on the Manager's own
// clock, even where the store that opens it would not (a SessionSealer's
// clock, skewed, or one that checks nothing): 401 invalid_secret.
func TestExpiredSecretRefusedOnManagersClock(t *testing.T) {
	mem := oauthlogin.NewMemoryStore()
	sealer := lenientSealer{mem}
	h := newHarness(t, func(c *oauthlogin.Config) {
		c.Store = sealer
		c.NativeApps.Schemes = []string{"com.example.app"}
	})
	to := nativeLogin(t, h, "com.example.app://cb", "com.example.app://failed")
	userID, secret := to.Query().Get("userId"), to.Query().Get("secret")
	pending, err := sealer.OpenSession(secret)
	if err != nil {
		t.Fatal(err)
	}
	pending.Expires = time.Now().Add(-time.Second)
	stale, err := sealer.SealSession(pending)
	if err != nil {
		t.Fatal(err)
	}
	if resp, v := exchange(t, h, userID, stale); resp.StatusCode != http.StatusUnauthorized || v["error"] != "invalid_secret" {
		t.Fatalf("an expired secret = %d %v, want 401 %s", resp.StatusCode, v["error"], "invalid_secret")
	}
	if resp, _ := exchange(t, h, userID, secret); resp.StatusCode != http.StatusCreated {
		t.Fatalf("the control, the same secret within its lifetime = %d, want 201", resp.StatusCode)
	}
}
