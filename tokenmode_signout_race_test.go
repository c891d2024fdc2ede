package oauthlogin_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
)

// heldSaves holds the first SaveSession that its armed predicate
// accepts, until release is closed, so that a test can act between a
// handler's reads and its write.
type heldSaves struct {
	*oauthlogin.MemoryStore
	mu      sync.Mutex
	when    func(*oauthlogin.Session) bool
	entered chan struct{}
	release chan struct{}
}

func newHeldSaves(c *oauthlogin.Config) *heldSaves {
	g := &heldSaves{MemoryStore: c.Store.(*oauthlogin.MemoryStore), entered: make(chan struct{}), release: make(chan struct{})}
	c.Store = g
	return g
}

// arm holds the next save of a session that when accepts.
func (g *heldSaves) arm(when func(*oauthlogin.Session) bool) {
	g.mu.Lock()
	g.when = when
	g.mu.Unlock()
}

func (g *heldSaves) SaveSession(ctx context.Context, s *oauthlogin.Session) error {
	g.mu.Lock()
	hold := g.when != nil && g.when(s)
	if hold {
		g.when = nil
	}
	g.mu.Unlock()
	if hold {
		g.entered <- struct{}{}
		<-g.release
	}
	return g.MemoryStore.SaveSession(ctx, s)
}

// Found by an adversarial review: a token-mode secret (say one intercepted from the redirect to
// the app) is redeemed while the user signs out everywhere. The exchange
// reads the pending record, consumes and deletes it, and only then stores
// the new session; DELETE /auth/sessions (DeleteUserSessions) in between
// finds nothing of it, and the session made from a secret issued BEFORE
// the sign-out lives on for SessionLifetime. Same root cause as
// TestLoginRacingUnlinkKeepsNoSession: a session is stored without
// re-checking that nothing ended its user's sessions since its login.
//
// What is demanded: EndAllSessions' doc ("signs the user out everywhere")
// and UserSessions' contract (pending token-mode records are a user's
// sessions, so that signing out everywhere ends them too); SECURITY.md:
// a stolen credential must not be usable after logout.
func TestTokenExchangeRacingSignOutEverywhere(t *testing.T) {
	var g *heldSaves
	h := newHarness(t, func(c *oauthlogin.Config) {
		g = newHeldSaves(c)
		c.NativeApps.Schemes = []string{"myapp-callback"}
	})
	browser := oauthlogintest.NewBrowser()
	h.mustSucceed(h.login(browser))
	q := nativeLogin(t, h, "myapp-callback://auth", "myapp-callback://auth/failed").Query()
	h.logs.secret(q.Get("secret"))

	g.arm(func(s *oauthlogin.Session) bool { return !strings.HasPrefix(s.ID, "p.") })
	type result struct {
		status int
		body   map[string]any
	}
	done := make(chan result, 1)
	go func() {
		resp, v := exchange(t, h, q.Get("userId"), q.Get("secret"))
		done <- result{resp.StatusCode, v}
	}()
	<-g.entered
	resp := h.do(browser, "DELETE", "/auth/sessions", "Sec-Fetch-Site", "same-origin")
	close(g.release)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("sign out everywhere = %d", resp.StatusCode)
	}
	got := <-done
	token, _ := got.body["secret"].(string)
	h.logs.secret(token)
	if got.status != http.StatusCreated {
		return // refused: the defended outcome
	}
	if r := withBearer(t, "GET", h.app.URL+"/auth/session", token); r.StatusCode == http.StatusOK {
		t.Fatalf("a session made from a secret issued before \"sign out everywhere\" outlives it (exchange %d, session 200)", got.status)
	}
}
