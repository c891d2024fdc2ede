//go:build oauthlogin_issue17

package main

import "github.com/oauthlogin/oauthlogin/oauthlogintest"

// The demo providers' part of logout and step-up, which needs issue 17's
// oauthlogintest (an end-session endpoint, acr in ID tokens). Until it is
// merged, demo_issue17_pending.go stands in; the merge deletes that file
// and this file's build constraint.

// allowPostLogoutRedirect registers uri as the app's post-logout redirect
// URI at idp.
func allowPostLogoutRedirect(idp *oauthlogintest.Server, uri string) {
	idp.SetPostLogoutRedirectURIs(uri)
}

// withACR returns u signing in with the authentication context class acr
// (the ID token's acr claim).
func withACR(u oauthlogintest.User, acr string) oauthlogintest.User {
	u.ACR = acr
	return u
}
