//go:build !oauthlogin_stepup

package main

import "github.com/oauthlogin/oauthlogin/oauthlogintest"

// Stands in for demo_stepup.go until issue 17's oauthlogintest (acr in ID
// tokens) is merged. The merge deletes this file and demo_stepup.go's
// build constraint.

// demoStepUp: the demo providers' ID tokens carry no acr yet.
const demoStepUp = false

// withACR would return u signing in with the authentication context class
// acr; for now it returns u.
func withACR(u oauthlogintest.User, _ string) oauthlogintest.User { return u }
