//go:build !oauthlogin_issue17

package main

import "github.com/oauthlogin/oauthlogin/oauthlogintest"

// Stand-ins for demo_issue17.go until issue 17's oauthlogintest is merged:
// the demo providers have no end-session endpoint and send no acr yet, so
// these do nothing. The merge deletes this file and demo_issue17.go's
// build constraint.

// allowPostLogoutRedirect would register uri as the app's post-logout
// redirect URI at idp.
func allowPostLogoutRedirect(*oauthlogintest.Server, string) {}

// withACR would return u signing in with the authentication context class
// acr; for now it returns u.
func withACR(u oauthlogintest.User, _ string) oauthlogintest.User { return u }
