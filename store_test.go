package oauthlogin_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
	"github.com/oauthlogin/oauthlogin/store/cookiestore"
)

// coreStore is a Store with the core only: no SessionLister, no
// SessionToucher.
type coreStore struct{ oauthlogin.Store }

// Without a SessionLister, GET {prefix}sessions answers 501 unsupported;
// ending one session by its ID still works.
func TestSessionListWithoutLister(t *testing.T) {
	h := newHarness(t, func(c *oauthlogin.Config) { c.Store = coreStore{c.Store} })
	b := oauthlogintest.NewBrowser()
	h.mustSucceed(h.login(b))
	resp := h.do(b, "GET", "/auth/sessions")
	var v map[string]any
	decode(t, resp, &v)
	if resp.StatusCode != http.StatusNotImplemented || v["error"] != "unsupported" {
		t.Fatalf("GET /auth/sessions without a lister = %d %v, want 501 %s", resp.StatusCode, v, "unsupported")
	}
	s, _ := h.session(b)
	if resp := h.do(b, "DELETE", "/auth/sessions/"+s["id"].(string), "Sec-Fetch-Site", "same-origin"); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE /auth/sessions/{id} without a lister = %d", resp.StatusCode)
	}
	if _, status := h.session(b); status != http.StatusUnauthorized {
		t.Fatalf("the ended session = %d, want 401", status)
	}
}

// Unlinking an identity ends its sessions. A store that cannot list
// sessions cannot find them, so every session of the user ends: none of
// the identity's may outlive it.
func TestUnlinkWithoutListerEndsAllSessions(t *testing.T) {
	for _, lister := range []bool{true, false} {
		h := newHarness(t, func(c *oauthlogin.Config) {
			if !lister {
				c.Store = coreStore{c.Store}
			}
		})
		b, c := oauthlogintest.NewBrowser(), oauthlogintest.NewBrowser()
		h.mustSucceed(h.login(b))
		h.mustSucceed(h.login(c))
		s, _ := h.session(b)
		other := &oauthlogin.Identity{ID: "other-1", UserID: s["userId"].(string), Issuer: "https://other.example", Provider: "other", ProviderUID: "o-1"}
		if err := h.store.CreateIdentity(context.Background(), other); err != nil {
			t.Fatal(err)
		}
		if resp := h.do(b, "DELETE", "/auth/identities/"+other.ID, "Sec-Fetch-Site", "same-origin"); resp.StatusCode != http.StatusNoContent {
			t.Fatalf("lister=%v: unlink = %d", lister, resp.StatusCode)
		}
		for name, br := range map[string]*oauthlogintest.Browser{"unlinker": b, "other device": c} {
			_, status := h.session(br)
			if lister && status != http.StatusOK {
				t.Errorf("with a lister, the %s's session of another identity = %d, want it kept", name, status)
			}
			if !lister && status != http.StatusUnauthorized {
				t.Errorf("without a lister, the %s's session = %d, want 401: every session of the user ends", name, status)
			}
		}
	}
}

// A token-mode pending record is no session: its secret, sent as a
// bearer token or as the session cookie, is a 401; it is stored under an
// ID no session token can name, and GET {prefix}sessions leaves it out.
func TestPendingRecordIsNoSession(t *testing.T) {
	h := newHarness(t, func(c *oauthlogin.Config) { c.NativeApps.Schemes = []string{"myapp-callback"} })
	b := oauthlogintest.NewBrowser()
	h.mustSucceed(h.login(b))
	q := nativeLogin(t, h, "myapp-callback://auth", "myapp-callback://auth/failed").Query()
	secret := q.Get("secret")
	h.logs.secret(secret)
	secretIsNoSession(t, h, secret)
	all, err := h.store.UserSessions(context.Background(), q.Get("userId"))
	if err != nil || len(all) != 2 {
		t.Fatalf("stored records = %d, %v; want the session and the pending record", len(all), err)
	}
	pending := 0
	for _, v := range all {
		if strings.HasPrefix(v.ID, "p.") {
			pending++
		}
	}
	if pending != 1 {
		t.Fatalf("%d stored records under the pending namespace, want 1", pending)
	}
	resp := h.do(b, "GET", "/auth/sessions")
	var list struct {
		Total    int              `json:"total"`
		Sessions []map[string]any `json:"sessions"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil || list.Total != 1 || len(list.Sessions) != 1 || strings.HasPrefix(list.Sessions[0]["id"].(string), "p.") {
		t.Fatalf("GET /auth/sessions = %+v, %v; want the browser's session only", list, err)
	}
	if resp, _ := exchange(t, h, q.Get("userId"), secret); resp.StatusCode != http.StatusCreated {
		t.Fatalf("the pending record's exchange = %d", resp.StatusCode)
	}
}

// With sessions in the client the pending record is sealed into the
// secret, under the same "p." ID namespace: the secret, sent as a bearer
// token or as the session cookie, opens as no session (401), and still
// redeems once.
func TestSealedPendingRecordIsNoSession(t *testing.T) {
	h := newHarness(t, func(c *oauthlogin.Config) {
		c.Store = cookiestore.New(c.Store, c.Keys.Cookie...)
		c.NativeApps.Schemes = []string{"myapp-callback"}
	})
	q := nativeLogin(t, h, "myapp-callback://auth", "myapp-callback://auth/failed").Query()
	secret := q.Get("secret")
	h.logs.secret(secret)
	secretIsNoSession(t, h, secret)
	resp, s := exchange(t, h, q.Get("userId"), secret)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("exchange = %d", resp.StatusCode)
	}
	token, _ := s["secret"].(string)
	h.logs.secret(token)
	if resp := withBearer(t, "GET", h.app.URL+"/auth/session", token); resp.StatusCode != http.StatusOK {
		t.Fatalf("the session from the exchange = %d", resp.StatusCode)
	}
}

// secretIsNoSession checks that a token-mode secret opens no session,
// sent as a bearer token or as the session cookie: 401 both ways.
func secretIsNoSession(t *testing.T, h *harness, secret string) {
	t.Helper()
	if resp := withBearer(t, "GET", h.app.URL+"/auth/session", secret); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the secret as a bearer token = %d, want 401", resp.StatusCode)
	}
	req, _ := http.NewRequest("GET", h.app.URL+"/auth/session", nil)
	req.AddCookie(&http.Cookie{Name: "oauthlogin_session", Value: secret})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the secret as the session cookie = %d, want 401", resp.StatusCode)
	}
}
