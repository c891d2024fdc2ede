package main

import "github.com/oauthlogin/oauthlogin/oauthlogintest"

// The demo providers' part of logout, which needs the end-session endpoint
// of issue 17's oauthlogintest. Until that is merged,
// demo_logout_pending.go stands in; the merge deletes it and this file's
// build constraint.

// demoLogout: the demo providers end their sessions at the end-session
// endpoint and send the browser back to the app.
const demoLogout = true

// allowPostLogoutRedirect registers uri as the app's post-logout redirect
// URI at idp.
func allowPostLogoutRedirect(idp *oauthlogintest.Server, uri string) {
	idp.SetPostLogoutRedirectURIs(uri)
}
