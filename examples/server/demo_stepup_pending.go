//go:build !oauthlogin_stepup

package main

import (
	"net/http"

	"github.com/oauthlogin/oauthlogin/oauthlogintest"
)

// Stands in for demo_stepup.go until issue 17's oauthlogintest (acr in ID
// tokens) is merged. The merge deletes this file and demo_stepup.go's
// build constraint.

// demoStepUp: the demo providers' ID tokens carry no acr yet.
const demoStepUp = false

// approveAs finishes the held login id for u; acr is left out for now.
func (d *demoProvider) approveAs(w http.ResponseWriter, r *http.Request, id string, u oauthlogintest.User, _ string) {
	d.approving.Lock()
	defer d.approving.Unlock()
	d.idp.Approve(w, r, id, u)
}
