package main

import (
	"net/http"

	"github.com/oauthlogin/oauthlogin/oauthlogintest"
)

// The demo providers' part of step-up: their ID tokens carry the acr of
// the login.

// approveAs finishes the held login id for u, who authenticated as acr
// says: the ID token's acr claim is acr, whatever acr_values asked for,
// as a real provider reports what the user did. oauthlogintest sets acr
// through its Behavior, which is the provider's, so approvals take turns.
func (d *demoProvider) approveAs(w http.ResponseWriter, r *http.Request, id string, u oauthlogintest.User, acr string) {
	d.approving.Lock()
	defer d.approving.Unlock()
	d.idp.Behave(oauthlogintest.Behavior{ACR: acr})
	d.idp.Approve(w, r, id, u)
}
