package scenario

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/oauthlogin/oauthlogin/oauthlogintest"
)

// BackChannelLogout is OpenID Connect Back-Channel Logout 1.0 across
// instances: two browsers sign in through instance 0; the provider's
// logout token naming the first browser's provider session (sid) reaches
// instance 1 and ends that session everywhere, the other stays
// (§2.7: "destroy only sessions with that sid"); a token naming the
// account (sub only) ends the rest; the first token replayed at instance
// 0 is refused (its jti is single use across instances, §2.6). The store
// must implement oauthlogin.ProviderSessionDeleter.
func BackChannelLogout(t *testing.T, store Backend) {
	d := NewDeployment(t, store, 2)
	laptop, phone := oauthlogintest.NewBrowser(), oauthlogintest.NewBrowser()
	d.Login(laptop)
	sid := idTokenSID(t, d.IdP.LastIDToken())
	d.Login(phone)
	lt, pt := d.SessionToken(laptop), d.SessionToken(phone)

	bySID := d.IdP.LogoutToken(oauthlogintest.LogoutClaims{SID: sid})
	if status, body := d.sendLogout(t, 1, bySID); status != http.StatusOK {
		t.Fatalf("back-channel logout by sid at instance 1 = %d %s", status, body)
	}
	if status, v := d.Do(0, "GET", "/auth/session", lt); status != http.StatusUnauthorized {
		t.Fatalf("the laptop's session after its provider session ended = %d %v, want 401", status, v)
	}
	if status, v := d.Do(0, "GET", "/auth/session", pt); status != http.StatusOK {
		t.Fatalf("the phone's session (another provider session) = %d %v, want 200", status, v)
	}
	if status, body := d.sendLogout(t, 0, bySID); status != http.StatusBadRequest || !strings.Contains(body, "invalid_logout_token") {
		t.Fatalf("the token replayed at instance 0 = %d %s, want 400 invalid_logout_token", status, body)
	}
	if status, body := d.sendLogout(t, 0, d.IdP.LogoutToken(oauthlogintest.LogoutClaims{Subject: "user-1"})); status != http.StatusOK {
		t.Fatalf("back-channel logout by sub = %d %s", status, body)
	}
	if status, v := d.Do(1, "GET", "/auth/session", pt); status != http.StatusUnauthorized {
		t.Fatalf("the phone's session after the account's logout = %d %v, want 401", status, v)
	}
}

// sendLogout posts a logout token to instance i's back-channel logout
// URI and returns the status and body.
func (d *Deployment) sendLogout(t *testing.T, i int, token string) (int, string) {
	t.Helper()
	resp, err := d.IdP.SendBackChannelLogout(context.Background(), d.Inst[i].Server.URL+"/auth/test/backchannel-logout", token)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("back-channel logout answered without Cache-Control: no-store")
	}
	return resp.StatusCode, string(body)
}

// idTokenSID reads the sid claim of an ID token without verifying it.
func idTokenSID(t *testing.T, raw string) string {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", raw)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		SID string `json:"sid"`
	}
	if err := json.Unmarshal(b, &c); err != nil || c.SID == "" {
		t.Fatalf("no sid in the ID token: %v", err)
	}
	return c.SID
}
