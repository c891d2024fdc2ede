package oauthlogin_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
)

// Found by an adversarial review: the owner of a compromised provider account (or anyone signing
// in with it) races the victim's unlink of that account. Unlink deletes the
// identity first and then sweeps its sessions (UserSessions, then
// DeleteSession each); a login that read and updated the identity before
// the delete but stores its session after the sweep keeps a session of the
// victim's user, signed in with an identity that no longer exists, for the
// whole SessionLifetime. Nothing re-checks the identity when the session is
// stored or used.
//
// What is demanded: Unlink's doc ("Every session that signed in with that
// identity ends with it, pending token-mode logins included") and
// SECURITY.md's threat model (the mapping of provider accounts to users is
// protected: an unlinked account must not keep a way into the user).
func TestLoginRacingUnlinkKeepsNoSession(t *testing.T) {
	var g *heldSaves
	h := newHarness(t, func(c *oauthlogin.Config) { g = newHeldSaves(c) })
	victim := oauthlogintest.NewBrowser()
	h.mustSucceed(h.login(victim)) // user A, identity of user-1
	h.idp.SetUser(oauthlogintest.User{Subject: "user-9"})
	h.mustSucceed(h.link(victim, "test")) // a second way in; the victim's session is now user-9's
	first, err := h.store.Identity(context.Background(), h.idp.URL, "user-1")
	if err != nil {
		t.Fatal(err)
	}
	// The attacker signs in with user-1; its session write is held.
	h.idp.SetUser(oauthlogintest.User{Subject: "user-1"})
	g.arm(func(s *oauthlogin.Session) bool { return s.IdentityID == first.ID })
	attacker := oauthlogintest.NewBrowser()
	done := make(chan *oauthlogintest.Page, 1)
	go func() {
		page, err := attacker.Visit(context.Background(), h.beginURL("test"), nil)
		if err != nil {
			t.Error(err)
		}
		done <- page
	}()
	<-g.entered
	// The victim unlinks user-1 meanwhile.
	if resp := h.do(victim, "DELETE", "/auth/identities/"+first.ID); resp.StatusCode != http.StatusNoContent {
		close(g.release)
		t.Fatalf("unlink = %d", resp.StatusCode)
	}
	if _, err := h.store.Identity(context.Background(), h.idp.URL, "user-1"); err == nil {
		t.Fatal("setup: the identity is still there after the unlink")
	}
	close(g.release)
	<-done
	if v, status := h.session(attacker); status == http.StatusOK {
		t.Fatalf("a login racing the unlink of its identity keeps a session of the victim's user after the unlink: %v (identity %s is gone)", v["userId"], first.ID)
	}
}
