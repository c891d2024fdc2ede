package oauthlogin_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
	"github.com/oauthlogin/oauthlogin/store/cookiestore"
)

// Found by an adversarial review: a client-held session (store/cookiestore) outlives the unlink of
// the identity it signed in with; the same provider account then signs in
// again, which makes a NEW identity belonging to a DIFFERENT user. The old
// session's POST /auth/refresh looks the identity up by (issuer, subject)
// only, never checking that it is still the session's identity
// (Session.IdentityID) or user, so user A's session is handed the provider
// tokens of user B's identity.
//
// What is demanded: store/cookiestore's package doc ("Unlinking an
// identity ... sessions of that identity on other devices live until they
// expire, but their refresh finds no identity and answers
// no_refresh_token"), RefreshSession's doc ("when it was deleted ... an
// unlink ... the refresh writes nothing"), and the threat model (the
// mapping of provider accounts to users is protected; tokens go only to the
// session of the identity they were issued for). Token mode already guards
// the same case (newSessionFor compares id.ID with IdentityID).
func TestRefreshAfterRelinkNeverTakesAnotherIdentity(t *testing.T) {
	h := newHarness(t, func(c *oauthlogin.Config) { c.Store = cookiestore.New(c.Store, c.Keys.Cookie...) })
	laptop, phone := oauthlogintest.NewBrowser(), oauthlogintest.NewBrowser()
	h.mustSucceed(h.login(laptop)) // user A, identity of user-1
	h.mustSucceed(h.login(phone))  // user A again, on a second device
	a, _ := h.session(phone)
	// A second way in for A, so that user-1 may be unlinked.
	h.idp.SetUser(oauthlogintest.User{Subject: "user-9"})
	h.mustSucceed(h.link(laptop, "test"))
	first, err := h.store.Identity(context.Background(), h.idp.URL, "user-1")
	if err != nil {
		t.Fatal(err)
	}
	if resp := h.do(laptop, "DELETE", "/auth/identities/"+first.ID); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("unlink = %d", resp.StatusCode)
	}
	// The provider account user-1 signs in again: a new identity, of a new
	// user B.
	h.idp.SetUser(oauthlogintest.User{Subject: "user-1"})
	other := oauthlogintest.NewBrowser()
	h.mustSucceed(h.login(other))
	bSess, _ := h.session(other)
	if bSess["userId"] == a["userId"] {
		t.Fatalf("setup: expected a new user, got %v", bSess["userId"])
	}
	// A's old phone session refreshes.
	resp := h.do(phone, "POST", "/auth/refresh")
	var v map[string]any
	json.NewDecoder(resp.Body).Decode(&v)
	if tok, ok := v["providerAccessToken"].(string); ok {
		h.logs.secret(tok)
	}
	if resp.StatusCode == http.StatusOK {
		t.Fatalf("user %v's session, whose identity was unlinked, refreshed with the tokens of user %v's new identity: %d %v; want 400 no_refresh_token",
			a["userId"], bSess["userId"], resp.StatusCode, v)
	}
	if v["error"] != oauthlogin.ErrNoRefreshToken.Code() {
		t.Fatalf("refresh = %d %v, want 400 %s", resp.StatusCode, v, oauthlogin.ErrNoRefreshToken.Code())
	}
}
