package oauthlogin_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
	"github.com/oauthlogin/oauthlogin/providers"
)

type sessionList struct {
	Total    int
	Sessions []map[string]any
}

func TestSessionsListAndEnd(t *testing.T) {
	h := newHarness(t)
	laptop, phone, other := oauthlogintest.NewBrowser(), oauthlogintest.NewBrowser(), oauthlogintest.NewBrowser()
	h.mustSucceed(h.login(laptop))
	h.mustSucceed(h.login(phone))
	h.idp.SetUser(oauthlogintest.User{Subject: "user-2"})
	h.mustSucceed(h.login(other))
	mine, _ := h.session(laptop)
	phoneSession, _ := h.session(phone)

	var list sessionList
	decode(t, h.do(laptop, "GET", "/auth/sessions"), &list)
	if list.Total != 2 || len(list.Sessions) != 2 {
		t.Fatalf("sessions = %+v", list)
	}
	for _, s := range list.Sessions {
		if current := s["id"] == mine["id"]; s["current"] != current {
			t.Fatalf("session %v: current = %v", s["id"], s["current"])
		}
		if s["provider"] != "test" || s["ip"] != "127.0.0.1" || s["lastSeen"] == "" {
			t.Fatalf("session entry %v", s)
		}
		for k := range s {
			if strings.Contains(strings.ToLower(k), "token") {
				t.Fatalf("session list shows %q", k)
			}
		}
	}

	// Another user's session is not ours to end.
	otherSession, _ := h.session(other)
	if resp := h.do(laptop, "DELETE", "/auth/sessions/"+otherSession["id"].(string)); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("ending another user's session = %d", resp.StatusCode)
	}
	// Sign the phone out from the laptop.
	if resp := h.do(laptop, "DELETE", "/auth/sessions/"+phoneSession["id"].(string)); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("ending the phone's session = %d", resp.StatusCode)
	}
	if _, status := h.session(phone); status != http.StatusUnauthorized {
		t.Fatal("the phone is still signed in")
	}
	if _, status := h.session(laptop); status != http.StatusOK {
		t.Fatal("the laptop was signed out")
	}
	if resp := h.do(laptop, "DELETE", "/auth/sessions", "Sec-Fetch-Site", "cross-site"); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site sign-out everywhere = %d", resp.StatusCode)
	}

	// Everywhere: the laptop too, and the other user is untouched.
	h.idp.SetUser(oauthlogintest.User{Subject: "user-1"})
	h.mustSucceed(h.login(phone))
	if resp := h.do(laptop, "DELETE", "/auth/sessions"); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("sign-out everywhere = %d", resp.StatusCode)
	}
	for name, b := range map[string]*oauthlogintest.Browser{"laptop": laptop, "phone": phone} {
		if _, status := h.session(b); status != http.StatusUnauthorized {
			t.Fatalf("%s still signed in", name)
		}
	}
	if _, status := h.session(other); status != http.StatusOK {
		t.Fatal("another user's session ended")
	}
}

// A session cookie copied before logout is dead after it.
func TestCopiedCookieDeadAfterLogout(t *testing.T) {
	h := newHarness(t)
	b := oauthlogintest.NewBrowser()
	h.mustSucceed(h.login(b))
	copyJar := oauthlogintest.NewBrowser()
	copyJar.Client.Jar.SetCookies(mustParse(t, h.app.URL), b.Client.Jar.Cookies(mustParse(t, h.app.URL)))
	if _, status := h.session(copyJar); status != http.StatusOK {
		t.Fatal("the copied cookie did not work before logout")
	}
	h.do(b, "DELETE", "/auth/session")
	if _, status := h.session(copyJar); status != http.StatusUnauthorized {
		t.Fatal("the copied cookie still works after logout")
	}
}

func TestEvents(t *testing.T) {
	var mu sync.Mutex
	var events []oauthlogin.Event
	h := newHarness(t, func(c *oauthlogin.Config) {
		c.Hooks.OnEvent = func(ctx context.Context, e oauthlogin.Event) {
			mu.Lock()
			events = append(events, e)
			mu.Unlock()
		}
	})
	h.register("other", providers.Config{})
	b := oauthlogintest.NewBrowser()
	h.mustSucceed(h.login(b)) // signup
	h.mustSucceed(h.login(b)) // login
	h.idp.SetUser(oauthlogintest.User{Subject: "user-9"})
	h.mustSucceed(h.link(b, "other"))
	ids := identities(t, h, b)
	h.do(b, "DELETE", "/auth/identities/"+ids[0]["id"].(string))
	h.idp.Behave(oauthlogintest.Behavior{TokenError: "invalid_grant"})
	h.do(b, "POST", "/auth/refresh")
	h.do(b, "DELETE", "/auth/session")

	mu.Lock()
	defer mu.Unlock()
	var types []oauthlogin.EventType
	for _, e := range events {
		types = append(types, e.Type)
		if e.UserID == "" || e.Provider == "" || e.IP != "127.0.0.1" || e.Time.IsZero() || e.SessionID == "" {
			t.Errorf("event %+v lacks its metadata", e)
		}
	}
	want := []oauthlogin.EventType{oauthlogin.EventSignUp, oauthlogin.EventLogin, oauthlogin.EventLink, oauthlogin.EventUnlink, oauthlogin.EventRefreshFailed, oauthlogin.EventLogout}
	if !slices.Equal(types, want) {
		t.Fatalf("events %v, want %v", types, want)
	}
	if events[4].Code != oauthlogin.ErrProviderTokenRevoked.Code() {
		t.Fatalf("refresh failure code %q", events[4].Code)
	}
	user := events[0].UserID
	for _, e := range events {
		if e.UserID != user {
			t.Fatalf("event %s for user %s, want %s", e.Type, e.UserID, user)
		}
	}
}
