package cookiestore_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/oauthlogin/oauthlogin/oauthlogintest"
)

// Back-channel logout cannot reach sessions kept in the client: the
// Manager answers 400 {"error": "invalid_request", "error_description":
// "unsupported"} (Back-Channel Logout 1.0 §2.8) and the session stands:
// the cookie store's documented logout limit.
func TestBackChannelLogoutUnsupported(t *testing.T) {
	a := newApp(t, false)
	b := oauthlogintest.NewBrowser()
	a.login(t, b)
	token := a.idp.LogoutToken(oauthlogintest.LogoutClaims{Subject: "user-1"})
	resp, err := a.idp.SendBackChannelLogout(context.Background(), a.srv.URL+"/auth/test/backchannel-logout", token)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]string
	json.NewDecoder(resp.Body).Decode(&v)
	if resp.StatusCode != http.StatusBadRequest || v["error"] != "invalid_request" || v["error_description"] != "unsupported" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("back-channel logout = %d %v, want 400 unsupported", resp.StatusCode, v)
	}
	if resp, _ := a.do(t, b, "GET", "/auth/session"); resp.StatusCode != http.StatusOK {
		t.Fatalf("session after the refused logout = %d", resp.StatusCode)
	}
}
