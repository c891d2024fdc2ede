package main

import "github.com/oauthlogin/oauthlogin/oauthlogintest"

// The demo providers' part of logout: their end-session endpoint sends
// the browser back to the app.

// allowPostLogoutRedirect registers uri as the app's post-logout redirect
// URI at idp.
func allowPostLogoutRedirect(idp *oauthlogintest.Server, uri string) {
	idp.SetPostLogoutRedirectURIs(uri)
}
