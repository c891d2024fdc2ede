package oauthlogin_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
)

// concurrentRefreshes sends n refresh requests for b's session at once,
// spread over the handlers, and returns how many answered 200.
func concurrentRefreshes(t *testing.T, h *harness, b *oauthlogintest.Browser, n int, handlers ...http.Handler) int {
	t.Helper()
	cookies := b.Client.Jar.Cookies(mustParse(t, h.app.URL))
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			req := httptest.NewRequest("POST", h.app.URL+"/auth/refresh", nil)
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			for _, c := range cookies {
				req.AddCookie(c)
			}
			w := httptest.NewRecorder()
			<-start
			handlers[i%len(handlers)].ServeHTTP(w, req)
			var v map[string]any
			if w.Code == http.StatusOK && json.Unmarshal(w.Body.Bytes(), &v) == nil && v["providerAccessToken"] != "" {
				mu.Lock()
				ok++
				mu.Unlock()
			} else {
				t.Errorf("refresh = %d %s", w.Code, w.Body)
			}
		})
	}
	close(start)
	wg.Wait()
	return ok
}

// 200 concurrent refreshes of an expiring session, with a provider that
// rotates refresh tokens and revokes the whole grant when an old one comes
// back: exactly one refresh request, 200 successes, and the grant lives on.
func TestConcurrentRefreshOneInstance(t *testing.T) {
	h := newHarness(t)
	h.idp.Behave(oauthlogintest.Behavior{RotateRefreshTokens: true})
	h.idp.SetAccessTokenTTL(time.Minute) // inside the 5-minute margin: due for refresh
	b := oauthlogintest.NewBrowser()
	h.mustSucceed(h.login(b))
	h.idp.SetAccessTokenTTL(time.Hour)
	before := h.idp.Hits("token")

	if ok := concurrentRefreshes(t, h, b, 200, h.m.Handler()); ok != 200 {
		t.Fatalf("%d of 200 refreshes succeeded", ok)
	}
	if got := h.idp.Hits("token") - before; got != 1 {
		t.Fatalf("%d refresh requests reached the provider, want 1", got)
	}
	// The token now held is the rotated one, and the provider still honours it.
	h.pastRefreshReuse()
	if resp := h.do(b, "POST", "/auth/refresh"); resp.StatusCode != http.StatusOK || h.idp.Hits("token")-before != 2 {
		t.Fatalf("refresh after the race = %d: an old refresh token was sent", resp.StatusCode)
	}
}

// The same across two instances sharing the store and its Locker.
func TestConcurrentRefreshTwoInstances(t *testing.T) {
	h := newHarness(t)
	h.idp.Behave(oauthlogintest.Behavior{RotateRefreshTokens: true})
	h.idp.SetAccessTokenTTL(time.Minute)
	b := oauthlogintest.NewBrowser()
	h.mustSucceed(h.login(b))
	h.idp.SetAccessTokenTTL(time.Hour)
	before := h.idp.Hits("token")

	if ok := concurrentRefreshes(t, h, b, 200, h.m.Handler(), h.twin().Handler()); ok != 200 {
		t.Fatalf("%d of 200 refreshes succeeded", ok)
	}
	if got := h.idp.Hits("token") - before; got != 1 {
		t.Fatalf("%d refresh requests reached the provider from two instances, want 1", got)
	}
	h.pastRefreshReuse()
	if resp := h.do(b, "POST", "/auth/refresh"); resp.StatusCode != http.StatusOK || h.idp.Hits("token")-before != 2 {
		t.Fatalf("refresh after the race = %d", resp.StatusCode)
	}
}

// Two sessions of one identity (two devices): after one refreshes with
// rotation, the other adopts the identity's new tokens and never sends its
// own, rotated-out refresh token.
func TestSecondDeviceNeverSendsOldRefreshToken(t *testing.T) {
	h := newHarness(t)
	h.idp.Behave(oauthlogintest.Behavior{RotateRefreshTokens: true})
	laptop, phone := oauthlogintest.NewBrowser(), oauthlogintest.NewBrowser()
	h.mustSucceed(h.login(laptop))
	h.mustSucceed(h.login(phone)) // a new grant; the identity holds the phone's tokens
	// With reuse detection on, one old refresh token sent would end the
	// grant, and every later refresh would fail.
	for i, b := range []*oauthlogintest.Browser{phone, laptop, phone, laptop, phone} {
		h.pastRefreshReuse() // each asks the provider
		hits := h.idp.Hits("token")
		if resp := h.do(b, "POST", "/auth/refresh"); resp.StatusCode != http.StatusOK || h.idp.Hits("token") != hits+1 {
			t.Fatalf("refresh %d = %d: an old refresh token was sent", i, resp.StatusCode)
		}
	}
}

func TestTokenSourceAndClient(t *testing.T) {
	h := newHarness(t)
	h.idp.SetAccessTokenTTL(time.Minute)
	b := oauthlogintest.NewBrowser()
	h.mustSucceed(h.login(b))
	h.idp.SetAccessTokenTTL(time.Hour)
	v, _ := h.session(b)
	s, err := h.store.Session(context.Background(), v["id"].(string))
	if err != nil {
		t.Fatal(err)
	}
	old, _ := h.m.ProviderToken(s)

	// The client refreshes the expiring token, then calls the API with it.
	resp, err := h.m.Client(context.Background(), s).Get(h.idp.URL + "/userinfo")
	if err != nil {
		t.Fatal(err)
	}
	var info map[string]any
	json.NewDecoder(resp.Body).Decode(&info)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || info["sub"] != "user-1" {
		t.Fatalf("userinfo through Client = %d %v", resp.StatusCode, info)
	}
	saved, _ := h.store.Session(context.Background(), s.ID)
	tok, _ := h.m.ProviderToken(saved)
	if tok.AccessToken == old.AccessToken || time.Until(tok.Expiry) < 50*time.Minute {
		t.Fatal("the client's refresh was not saved on the session")
	}
	// A fresh token is used as is.
	hits := h.idp.Hits("token")
	got, err := h.m.TokenSource(context.Background(), saved).Token()
	if err != nil || got.AccessToken != tok.AccessToken || h.idp.Hits("token") != hits {
		t.Fatalf("TokenSource on a fresh token: %v, %v, %d refreshes", got, err, h.idp.Hits("token")-hits)
	}
}

// An ID token in a refresh response must be for the same subject, issuer
// and audience; otherwise nothing of the response is kept.
func TestRefreshIDToken(t *testing.T) {
	for _, tc := range []struct {
		name   string
		behave oauthlogintest.Behavior
		ok     bool
	}{
		{"Valid", oauthlogintest.Behavior{IDTokenOnRefresh: true}, true},
		{"OtherSubject", oauthlogintest.Behavior{IDTokenOnRefresh: true, Claims: map[string]any{"sub": "user-2"}}, false},
		{"OtherIssuer", oauthlogintest.Behavior{IDTokenOnRefresh: true, IDTokenIssuer: "https://attacker.example"}, false},
		{"OtherAudience", oauthlogintest.Behavior{IDTokenOnRefresh: true, IDTokenAudience: "another-client"}, false},
		{"BadSignature", oauthlogintest.Behavior{IDTokenOnRefresh: true, BadSignature: true}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			b := oauthlogintest.NewBrowser()
			h.mustSucceed(h.login(b))
			before, _ := h.session(b)
			h.idp.Behave(tc.behave)
			resp := h.do(b, "POST", "/auth/refresh")
			after, _ := h.session(b)
			if tc.ok != (resp.StatusCode == http.StatusOK) {
				t.Fatalf("refresh = %d", resp.StatusCode)
			}
			if !tc.ok && after["providerAccessToken"] != before["providerAccessToken"] {
				t.Fatal("a rejected refresh response was kept")
			}
		})
	}
}

var _ = oauthlogin.ErrRefreshFailed
