package scenario

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/internal/testapp"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
)

// send is Do off the test's goroutine: the answer comes on the channel.
func (d *Deployment) send(i int, method, path, token string) <-chan testapp.Answer {
	return testapp.Send(d.Client, method, d.Inst[i].Server.URL+path, "oauthlogin_session", token)
}

// RefreshAfterLogout checks, through two Managers over store, that a
// refresh in flight when the user logs out never writes the session back
// (issue 15 item 11): with the provider's token endpoint held, a refresh
// starts on one instance, the user logs out on the other (this session,
// or everywhere), the provider answers; the refresh is 401 no_session,
// the cookie stays dead on both instances, and the store has no record.
// Repeated, alternating the logout.
func RefreshAfterLogout(t *testing.T, store Backend) {
	d := NewDeployment(t, store, 2)
	ctx := context.Background()
	for round := range 4 {
		d.IdP.Behave(oauthlogintest.Behavior{})
		b := oauthlogintest.NewBrowser()
		d.Login(b)
		token := d.SessionToken(b)
		status, v := d.Do(0, "GET", "/auth/session", token)
		if status != http.StatusOK {
			t.Fatalf("GET /auth/session = %d %v", status, v)
		}
		id, user := v["id"].(string), v["userId"].(string)

		entered, release := testapp.HoldToken(d.IdP)
		refresh := d.send(0, "POST", "/auth/refresh", token)
		<-entered
		logout := "/auth/session"
		if round%2 == 1 {
			logout = "/auth/sessions" // everywhere
		}
		if status, v := d.Do(1, "DELETE", logout, token); status != http.StatusNoContent {
			t.Fatalf("round %d: DELETE %s = %d %v", round, logout, status, v)
		}
		release()
		got := <-refresh
		if got.Err != nil {
			t.Fatal(got.Err)
		}
		if got.Status != http.StatusUnauthorized || got.Body["error"] != oauthlogin.ErrNoSession.Code() {
			t.Fatalf("round %d: the refresh that outlived DELETE %s = %d %v, want 401 no_session", round, logout, got.Status, got.Body)
		}
		for i := range 2 {
			if status, v := d.Do(i, "GET", "/auth/session", token); status != http.StatusUnauthorized {
				t.Fatalf("round %d: the session is back on instance %d: %d %v", round, i, status, v)
			}
		}
		if s, err := store.Session(ctx, id); !errors.Is(err, oauthlogin.ErrNotFound) {
			t.Fatalf("round %d: the store holds the session again: %+v, %v", round, s, err)
		}
		if list, err := store.UserSessions(ctx, user); err != nil || len(list) != 0 {
			t.Fatalf("round %d: the user has %d sessions after the logout, %v", round, len(list), err)
		}
	}
}

// IdentitySessions checks, through two Managers over store, what ends with
// an identity's grant or the identity itself (issue 15 item 12): after one
// session's refresh finds the grant revoked, another session of the same
// identity says hasProviderRefreshToken false on the other instance, and
// its refresh answers no_refresh_token; unlinking the identity ends both
// sessions, and a session of the user's other identity stays.
func IdentitySessions(t *testing.T, store Backend) {
	d := NewDeployment(t, store, 2)
	ctx := context.Background()
	laptop, phone := oauthlogintest.NewBrowser(), oauthlogintest.NewBrowser()
	d.Login(laptop)
	d.Login(phone)
	lt, pt := d.SessionToken(laptop), d.SessionToken(phone)

	d.IdP.Behave(oauthlogintest.Behavior{TokenError: "invalid_grant"})
	if status, v := d.Do(0, "POST", "/auth/refresh", lt); status != http.StatusConflict || v["error"] != oauthlogin.ErrProviderTokenRevoked.Code() {
		t.Fatalf("refresh on a revoked grant = %d %v", status, v)
	}
	d.IdP.Behave(oauthlogintest.Behavior{})
	status, v := d.Do(1, "GET", "/auth/session", pt)
	if status != http.StatusOK || v["hasProviderRefreshToken"] != false || v["providerAccessToken"] != nil {
		t.Fatalf("the other session after the revocation = %d %v, want no provider tokens", status, v)
	}
	if status, v := d.Do(1, "POST", "/auth/refresh", pt); status != http.StatusBadRequest || v["error"] != oauthlogin.ErrNoRefreshToken.Code() {
		t.Fatalf("the other session's refresh = %d %v, want 400 no_refresh_token", status, v)
	}

	// A second identity of the user, with a session of its own.
	first, err := store.Identity(ctx, d.IdP.URL, "user-1")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	second := &oauthlogin.Identity{ID: "second-identity", UserID: first.UserID, Issuer: "https://other.example", Provider: "other", ProviderUID: "x", Created: now, Updated: now}
	if err := store.CreateIdentity(ctx, second); err != nil {
		t.Fatal(err)
	}
	keep := &oauthlogin.Session{ID: "session-of-the-second", UserID: first.UserID, IdentityID: second.ID, Provider: "other", ProviderUID: "x", Created: now, LastSeen: now, Expires: now.Add(time.Hour)}
	if err := store.SaveSession(ctx, keep); err != nil {
		t.Fatal(err)
	}
	if status, v := d.Do(1, "DELETE", "/auth/identities/"+first.ID, lt); status != http.StatusNoContent {
		t.Fatalf("unlink = %d %v", status, v)
	}
	for name, token := range map[string]string{"laptop": lt, "phone": pt} {
		if status, v := d.Do(0, "GET", "/auth/session", token); status != http.StatusUnauthorized {
			t.Fatalf("%s's session of the unlinked identity = %d %v, want 401", name, status, v)
		}
	}
	list, err := store.UserSessions(ctx, first.UserID)
	if err != nil || len(list) != 1 || list[0].ID != keep.ID {
		t.Fatalf("the user's sessions after the unlink = %d, %v; want only the other identity's", len(list), err)
	}
}
