package cookiestore_test

import (
	"testing"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/store/cookiestore"
	"github.com/oauthlogin/oauthlogin/store/internal/scenario"
)

// The DPoP key is sealed in the session cookie and the identity: a
// refresh on another instance signs with it.
func TestDPoPAcrossInstances(t *testing.T) {
	keys := []oauthlogin.CookieKey{oauthlogin.GenerateCookieKey()}
	scenario.DPoPAcrossInstances(t, cookiestore.New(oauthlogin.NewMemoryStore(), keys...))
}

// The memory store, the default, runs the same scenario.
func TestDPoPAcrossInstancesMemory(t *testing.T) {
	scenario.DPoPAcrossInstances(t, oauthlogin.NewMemoryStore())
}
