package main

// Tests of the demo provider's side of logout: its end-session endpoint
// (LoggedOut) and a back-channel logout it sends (LogoutToken,
// SendBackChannelLogout).

import (
	"html"
	"net/http"
	"regexp"
	"testing"

	"github.com/oauthlogin/oauthlogin/oauthlogintest"
)

// providerSID reads the provider session id (the ID token's sid) that the
// profile page shows.
func providerSID(t *testing.T, profile *oauthlogintest.Page) string {
	t.Helper()
	m := regexp.MustCompile(`<code id="provider-sid">([^<]+)</code>`).FindSubmatch(profile.Body)
	if m == nil {
		t.Fatalf("the profile shows no provider sid:\n%s", profile.Body)
	}
	return html.UnescapeString(string(m[1]))
}

// "Sign out of the provider too" ends the provider's session, the one
// the login's sid names (RP-Initiated Logout 1.0 §2: id_token_hint).
func TestSignOutEndsProviderSession(t *testing.T) {
	idp := oauthlogintest.NewServer()
	t.Cleanup(idp.Close)
	app, _, b, profile := signedInWithOIDC(t, idp, nil)
	allowPostLogoutRedirect(idp, app.URL+"/auth/logout/callback")
	sid := providerSID(t, profile)
	if idp.LoggedOut(sid) {
		t.Fatal("the provider session ended before the sign-out")
	}
	if home := visit(t, b, href(t, profile, app, "signout-provider-link")); home.URL.Path != "/" {
		t.Fatalf("after the sign-out link: %s\n%s", home.URL, home.Body)
	}
	if !idp.LoggedOut(sid) {
		t.Error("signed out of the provider too, but its session did not end")
	}
}

// A back-channel logout sent to the URL the app lists ends the app's
// session of that provider session (Back-Channel Logout 1.0 §2.7).
func TestBackChannelLogoutEndsSession(t *testing.T) {
	idp := oauthlogintest.NewServer()
	t.Cleanup(idp.Close)
	app, a, b, profile := signedInWithOIDC(t, idp, nil)
	token := idp.LogoutToken(oauthlogintest.LogoutClaims{SID: providerSID(t, profile)})
	resp, err := idp.SendBackChannelLogout(t.Context(), a.provider("oidc").BackChannelLogoutURI, token)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("back-channel logout = %d", resp.StatusCode)
	}
	if after := visit(t, b, app.URL+"/profile"); after.URL.Path != "/" {
		t.Errorf("after the back-channel logout, /profile ended at %s", after.URL)
	}
}
