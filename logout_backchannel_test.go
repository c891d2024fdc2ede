package oauthlogin_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
)

// sendLogout posts a logout token to the app's back-channel logout URI
// for provider and returns the status and JSON body (nil when empty).
func (h *harness) sendLogout(t *testing.T, base, provider, token string) (int, map[string]string, http.Header) {
	t.Helper()
	resp, err := h.idp.SendBackChannelLogout(context.Background(), base+"/auth/"+provider+"/backchannel-logout", token)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var v map[string]string
	if len(body) > 0 {
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatalf("body %q: %v", body, err)
		}
	}
	return resp.StatusCode, v, resp.Header
}

func (h *harness) mustBeStored(t *testing.T, sessionID string, want bool) {
	t.Helper()
	_, err := h.store.Session(context.Background(), sessionID)
	if got := err == nil; got != want {
		t.Fatalf("session stored = %v, want %v (%v)", got, want, err)
	}
}

// Back-Channel Logout 1.0 §2.7: "If the Logout Token contains a sid
// Claim, the RP SHOULD destroy only sessions with that sid"; §2.8: "If
// the logout succeeded, the RP MUST respond with HTTP 200 OK", with
// Cache-Control: no-store.
func TestBackChannelLogoutBySID(t *testing.T) {
	var mu sync.Mutex
	var events []oauthlogin.Event
	h := newLogoutHarness(t, func(c *oauthlogin.Config) {
		c.Hooks.OnEvent = func(_ context.Context, e oauthlogin.Event) {
			mu.Lock()
			events = append(events, e)
			mu.Unlock()
		}
	})
	b1, b2 := oauthlogintest.NewBrowser(), oauthlogintest.NewBrowser()
	sid1, s1 := h.loginSID(t, b1)
	sid2, s2 := h.loginSID(t, b2)
	if sid1 == sid2 {
		t.Fatal("two browser logins share a provider session")
	}
	status, body, header := h.sendLogout(t, h.app.URL, "test", h.idp.LogoutToken(oauthlogintest.LogoutClaims{Subject: "user-1", SID: sid1}))
	if status != http.StatusOK || body != nil || header.Get("Cache-Control") != "no-store" {
		t.Fatalf("back-channel logout = %d %v %v, want 200, empty, no-store", status, body, header)
	}
	h.mustBeStored(t, s1, false)
	h.mustBeStored(t, s2, true)
	if _, status := h.session(b1); status != http.StatusUnauthorized {
		t.Fatal("the browser of the ended provider session is still signed in")
	}
	mu.Lock()
	defer mu.Unlock()
	if last := events[len(events)-1]; last.Type != oauthlogin.EventProviderLogout || last.Provider != "test" {
		t.Fatalf("last event %+v, want provider_logout", last)
	}
}

// §2.7: with only sub, every session of that account ends.
func TestBackChannelLogoutBySubject(t *testing.T) {
	h := newLogoutHarness(t)
	b1, b2 := oauthlogintest.NewBrowser(), oauthlogintest.NewBrowser()
	_, s1 := h.loginSID(t, b1)
	_, s2 := h.loginSID(t, b2)
	if status, body, _ := h.sendLogout(t, h.app.URL, "test", h.idp.LogoutToken(oauthlogintest.LogoutClaims{Subject: "user-1"})); status != http.StatusOK {
		t.Fatalf("back-channel logout = %d %v", status, body)
	}
	h.mustBeStored(t, s1, false)
	h.mustBeStored(t, s2, false)
	// A subject with no identity here ends nothing and is no error.
	if status, _, _ := h.sendLogout(t, h.app.URL, "test", h.idp.LogoutToken(oauthlogintest.LogoutClaims{Subject: "nobody"})); status != http.StatusOK {
		t.Fatalf("unknown subject = %d, want 200", status)
	}
}

// Back-Channel Logout 1.0 §2.6 lists the checks; §2.8: "If there is an
// error validating the request, the RP MUST respond with HTTP 400".
// Each hostile token leaves the session standing.
func TestBackChannelLogoutHostileTokens(t *testing.T) {
	h := newLogoutHarness(t)
	b := oauthlogintest.NewBrowser()
	sid, s := h.loginSID(t, b)
	now := time.Now()
	for name, c := range map[string]oauthlogintest.LogoutClaims{
		"nonce":               {SID: sid, Nonce: "n-1"},
		"no events":           {SID: sid, OmitEvents: true},
		"events not object":   {SID: sid, Events: map[string]any{"http://schemas.openid.net/event/backchannel-logout": "yes"}},
		"other event":         {SID: sid, Events: map[string]any{"http://schemas.openid.net/event/other": map[string]any{}}},
		"wrong aud":           {SID: sid, Audience: "another-client"},
		"other issuer":        {SID: sid, Issuer: "https://evil.example"},
		"expired":             {SID: sid, IssuedAt: now.Add(-time.Minute), Expires: now.Add(-2 * time.Minute)},
		"no exp":              {SID: sid, OmitExpires: true},
		"old iat":             {SID: sid, IssuedAt: now.Add(-10 * time.Minute), Expires: now.Add(time.Hour)},
		"future iat":          {SID: sid, IssuedAt: now.Add(10 * time.Minute)},
		"no iat":              {SID: sid, Claims: map[string]any{"iat": nil}},
		"no jti":              {SID: sid, JTI: "-"},
		"jti over 256 bytes":  {SID: sid, JTI: strings.Repeat("j", 257)},
		"neither sid nor sub": {},
		"typ JWT":             {SID: sid, Typ: "JWT"},
		"alg none":            {SID: sid, Signing: oauthlogintest.Behavior{AlgNone: true}},
		"unpublished key":     {SID: sid, Signing: oauthlogintest.Behavior{UnknownKID: true}},
		"bad signature":       {SID: sid, Signing: oauthlogintest.Behavior{BadSignature: true}},
		"ES256 not pinned":    {SID: sid, Signing: oauthlogintest.Behavior{TokenAlg: "ES256"}},
		"sid not a string":    {Claims: map[string]any{"sid": 7}},
	} {
		status, body, header := h.sendLogout(t, h.app.URL, "test", h.idp.LogoutToken(c))
		if status != http.StatusBadRequest || body["error"] != "invalid_request" || body["error_description"] != "invalid_logout_token" || header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: %d %v, want 400 invalid_request invalid_logout_token, no-store", name, status, body)
		}
	}
	// An ID token is no logout token (its typ, nonce and lack of events).
	if status, _, _ := h.sendLogout(t, h.app.URL, "test", h.idp.LastIDToken()); status != http.StatusBadRequest {
		t.Errorf("an ID token as logout token = %d, want 400", status)
	}
	h.mustBeStored(t, s, true)
	// The honest token still works after all that.
	if status, body, _ := h.sendLogout(t, h.app.URL, "test", h.idp.LogoutToken(oauthlogintest.LogoutClaims{SID: sid})); status != http.StatusOK {
		t.Fatalf("honest token = %d %v", status, body)
	}
	h.mustBeStored(t, s, false)
}

// §2.6 step 6 (the jti): a logout token is accepted once, by any instance
// sharing the store.
func TestBackChannelLogoutReplayedAcrossInstances(t *testing.T) {
	h := newLogoutHarness(t)
	other := httptest.NewServer(h.twin().Handler())
	t.Cleanup(other.Close)
	b1, b2 := oauthlogintest.NewBrowser(), oauthlogintest.NewBrowser()
	_, s1 := h.loginSID(t, b1)
	token := h.idp.LogoutToken(oauthlogintest.LogoutClaims{Subject: "user-1"})
	if status, body, _ := h.sendLogout(t, h.app.URL, "test", token); status != http.StatusOK {
		t.Fatalf("first = %d %v", status, body)
	}
	h.mustBeStored(t, s1, false)
	_, s2 := h.loginSID(t, b2)
	status, body, _ := h.sendLogout(t, other.URL, "test", token)
	if status != http.StatusBadRequest || body["error_description"] != "invalid_logout_token" {
		t.Fatalf("replay at the other instance = %d %v, want 400 invalid_logout_token", status, body)
	}
	h.mustBeStored(t, s2, true)
}

// The request itself: unknown provider, no token, an oversized body.
func TestBackChannelLogoutBadRequests(t *testing.T) {
	h := newLogoutHarness(t)
	post := func(path, ctype, body string) (int, map[string]string) {
		resp := h.a.Do(http.DefaultClient, "POST", path, strings.NewReader(body), "Content-Type", ctype)
		var v map[string]string
		json.NewDecoder(resp.Body).Decode(&v)
		return resp.StatusCode, v
	}
	form := "application/x-www-form-urlencoded"
	for name, tc := range map[string]struct{ path, ctype, body, code string }{
		"unknown provider": {"/auth/nope/backchannel-logout", form, "logout_token=x", "unknown_provider"},
		"no token":         {"/auth/test/backchannel-logout", form, "", "invalid_logout_token"},
		"not a form":       {"/auth/test/backchannel-logout", "application/json", `{"logout_token":"x"}`, "invalid_logout_token"},
		"oversized":        {"/auth/test/backchannel-logout", form, "logout_token=" + strings.Repeat("a", 70<<10), "invalid_logout_token"},
	} {
		if status, v := post(tc.path, tc.ctype, tc.body); status != http.StatusBadRequest || v["error_description"] != tc.code {
			t.Errorf("%s: %d %v, want 400 %s", name, status, v, tc.code)
		}
	}
}

// noSIDStore is a store without ProviderSessionDeleter (nor any other
// optional capability).
type noSIDStore struct{ oauthlogin.Store }

// A token with only a sid needs a store that finds sessions by sid: 400
// unsupported otherwise; with a sub too, the account's sessions end.
func TestBackChannelLogoutSIDWithoutDeleter(t *testing.T) {
	mem := oauthlogin.NewMemoryStore()
	h := newLogoutHarness(t, func(c *oauthlogin.Config) { c.Store = noSIDStore{mem} })
	h.store = mem
	b := oauthlogintest.NewBrowser()
	sid, s := h.loginSID(t, b)
	status, body, _ := h.sendLogout(t, h.app.URL, "test", h.idp.LogoutToken(oauthlogintest.LogoutClaims{SID: sid}))
	if status != http.StatusBadRequest || body["error_description"] != "unsupported" {
		t.Fatalf("sid only = %d %v, want 400 unsupported", status, body)
	}
	h.mustBeStored(t, s, true)
	if status, body, _ := h.sendLogout(t, h.app.URL, "test", h.idp.LogoutToken(oauthlogintest.LogoutClaims{SID: sid, Subject: "user-1"})); status != http.StatusOK {
		t.Fatalf("sid and sub = %d %v", status, body)
	}
	if _, err := mem.Session(context.Background(), s); !errors.Is(err, oauthlogin.ErrNotFound) {
		t.Fatal("the account's session outlived the logout token")
	}
}

// Concurrent deliveries of one logout token to two instances: exactly one
// is accepted (Store.Consume is atomic), whatever the interleaving.
func TestBackChannelLogoutConcurrentReplay(t *testing.T) {
	h := newLogoutHarness(t)
	other := httptest.NewServer(h.twin().Handler())
	t.Cleanup(other.Close)
	h.loginSID(t, oauthlogintest.NewBrowser())
	token := h.idp.LogoutToken(oauthlogintest.LogoutClaims{Subject: "user-1"})
	const n = 8
	statuses := make(chan int, n)
	var wg sync.WaitGroup
	for i := range n {
		base := h.app.URL
		if i%2 == 1 {
			base = other.URL
		}
		wg.Go(func() {
			resp, err := h.idp.SendBackChannelLogout(context.Background(), base+"/auth/test/backchannel-logout", token)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			statuses <- resp.StatusCode
		})
	}
	wg.Wait()
	close(statuses)
	ok := 0
	for s := range statuses {
		if s == http.StatusOK {
			ok++
		} else if s != http.StatusBadRequest {
			t.Errorf("status %d", s)
		}
	}
	if ok != 1 {
		t.Fatalf("%d deliveries accepted, want exactly 1", ok)
	}
}

// The user signs out at the provider itself: the provider's back-channel
// logout (oauthlogintest's, as a real one sends it: sid and sub) ends the
// session of that provider session here, and only that one.
func TestSignOutAtProviderEndsSession(t *testing.T) {
	h := newLogoutHarness(t)
	h.idp.SetBackChannelLogoutURI(h.app.URL + "/auth/test/backchannel-logout")
	b1, b2 := oauthlogintest.NewBrowser(), oauthlogintest.NewBrowser()
	sid1, s1 := h.loginSID(t, b1)
	_, s2 := h.loginSID(t, b2)
	if err := h.idp.EndProviderSession(context.Background(), sid1); err != nil {
		t.Fatal(err)
	}
	h.mustBeStored(t, s1, false)
	h.mustBeStored(t, s2, true)
}
