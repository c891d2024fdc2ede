//go:build !oauthlogin_logout

package main

import "github.com/oauthlogin/oauthlogin/oauthlogintest"

// Stands in for demo_logout.go until issue 17's oauthlogintest (its
// end-session endpoint) is merged. The merge deletes this file and
// demo_logout.go's build constraint.

// demoLogout: the demo providers cannot end their sessions yet.
const demoLogout = false

// allowPostLogoutRedirect would register uri as the app's post-logout
// redirect URI at idp.
func allowPostLogoutRedirect(*oauthlogintest.Server, string) {}
