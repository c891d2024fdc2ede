//go:build oauthlogin_stepup

package main

import "github.com/oauthlogin/oauthlogin/oauthlogintest"

// The demo providers' part of step-up, which needs acr in the ID tokens of
// issue 17's oauthlogintest. Until that is merged, demo_stepup_pending.go
// stands in; the merge deletes it and this file's build constraint.

// demoStepUp: the demo providers' ID tokens carry the acr of the login.
const demoStepUp = true

// withACR returns u signing in with the authentication context class acr
// (the ID token's acr claim).
func withACR(u oauthlogintest.User, acr string) oauthlogintest.User {
	u.ACR = acr
	return u
}
