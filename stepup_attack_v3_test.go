package oauthlogin_test

import (
	"testing"
	"time"

	"github.com/oauthlogin/oauthlogin/oauthlogintest"
)

// OpenID Connect Core §3.1.2.1 (max_age): "Specifies the allowable elapsed
// time in seconds since the last time the End-User was actively
// authenticated"; §3.1.3.7 step 12: the Client "SHOULD check the auth_time
// Claim value and request re-authentication if it determines too much
// time has elapsed". checkLoginFacts computes now - auth_time and only
// compares it with max_age: an auth_time in the future gives a negative
// age, which always passes. The session then records an AuthTime in the
// future, so an app's own freshness check (time.Since(s.AuthTime) <
// 5*time.Minute, or authTime in GET {prefix}session) passes for as long
// as the session lives: a permanent step-up from one bad ID token (a
// provider clock error, a misconfigured IdP, a tenant-controlled claim).
func TestAttackV3FutureAuthTimePassesMaxAge(t *testing.T) {
	h := newHarness(t)
	future := time.Now().Add(365 * 24 * time.Hour).Unix()
	h.idp.Behave(oauthlogintest.Behavior{Claims: map[string]any{"auth_time": future}})
	b := oauthlogintest.NewBrowser()
	page := h.login(b, "max_age", "60")
	if page.URL != nil && page.URL.Query().Get("error") != "" {
		return // refused: no defect
	}
	if s := h.lastSession(); s.AuthTime.After(time.Now().Add(authTimeSkew)) {
		t.Fatalf("a login with max_age=60 accepted auth_time a year ahead; the session's AuthTime is %v", s.AuthTime)
	}
}

const authTimeSkew = 5 * time.Minute
