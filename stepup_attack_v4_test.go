package oauthlogin_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/internal/testapp"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
	"github.com/oauthlogin/oauthlogin/providers"
)

// The provider's own acr_values and max_age (providers.Config.AuthParams)
// are the host's policy for every login of that provider: "go with every
// login and are checked the same way" (README, Step-up authentication).
// But the begin URL is the browser's, and loginParams lets a begin's
// acr_values and max_age replace the provider's, so the check at the
// callback is against whatever the user asked for. OpenID Connect Core
// §3.1.3.7 step 12/§2 (acr): the RP, not the End-User, decides what level
// is acceptable; RFC 9470 §4/§5 likewise has the resource (the host)
// state the required acr and max_age. A begin may only make them stricter.
// Impact: a host that requires MFA for every login of a provider
// (AuthParams acr_values=mfa) signs a password-only user in by
// /auth/strict?acr_values=pwd; a host that requires a fresh authentication
// (max_age=60) accepts a year-old one by &max_age=31536000. The session's
// ACR says "pwd", but nothing tells the host that its floor was waived.
func TestAttackV4BeginDowngradesProviderACRValues(t *testing.T) {
	h := newHarness(t)
	h.idp.SetUser(oauthlogintest.User{Subject: "user-1", ACR: "pwd"})
	h.register("strict", providers.Config{AuthParams: url.Values{"acr_values": {"mfa"}}})
	h.idp.Behave(oauthlogintest.Behavior{ACR: "pwd"})
	b := oauthlogintest.NewBrowser()
	page := testapp.Visit(context.Background(), t, b, h.beginURL("strict", "acr_values", "pwd"))
	if page.Status != http.StatusBadRequest || !strings.Contains(string(page.Body), "invalid_auth_param") {
		t.Fatalf("the provider requires acr_values=mfa, a begin asked for pwd, and the login ended at %s (%d)", page.URL, page.Status)
	}
	h.mustHaveNoSession(b)
}

// As above, for max_age: the provider's max_age=60 is lifted by a begin's
// max_age of a year. A begin that asks for less than the provider's
// floor is refused: 400 invalid_auth_param, no session.
func TestAttackV4BeginDowngradesProviderMaxAge(t *testing.T) {
	h := newHarness(t)
	h.register("fresh", providers.Config{AuthParams: url.Values{"max_age": {"60"}}})
	h.idp.SetAuthTime(time.Now().Add(-time.Hour))
	h.idp.Behave(oauthlogintest.Behavior{Claims: map[string]any{"auth_time": time.Now().Add(-time.Hour).Unix()}})
	b := oauthlogintest.NewBrowser()
	page := testapp.Visit(context.Background(), t, b, h.beginURL("fresh", "max_age", "31536000"))
	if page.Status != http.StatusBadRequest || !strings.Contains(string(page.Body), "invalid_auth_param") {
		t.Fatalf("the provider requires max_age=60, a begin asked for a year, and the login ended at %s (%d)", page.URL, page.Status)
	}
	if _, status := h.session(b); status != http.StatusUnauthorized {
		t.Fatalf("GET session = %d, want 401", status)
	}
}

// The provider's own acr_values (providers.Config.AuthParams) "go with
// every login and are checked the same way" (README, Step-up
// authentication): the callback checks them (checkLoginFacts with
// rp.stepUp), but the device flow (RFC 8628) neither sends them nor checks
// the ID token against them: finishDevice only refuses a future auth_time.
// OpenID Connect Core §3.1.3.7 step 12 / §2 acr: the RP checks the acr it
// requires. Impact: a host that requires MFA for every login of a provider
// (acr_values=mfa) and lists it in DeviceProviders signs in, through
// POST {prefix}{provider}/device, a user whose ID token has no acr at all
// (or a password-level one); the same holds for the provider's max_age.
func TestAttackV4DeviceFlowSkipsProviderACRValues(t *testing.T) {
	h := newHarness(t, func(c *oauthlogin.Config) { c.DeviceProviders = []string{"strict"} })
	h.register("strict", providers.Config{AuthParams: url.Values{"acr_values": {"mfa"}}})
	h.idp.Behave(oauthlogintest.Behavior{ACR: "pwd"})
	post := func(path string, form url.Values) (int, map[string]any) {
		resp, err := http.Post(h.app.URL+path, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v map[string]any
		json.NewDecoder(resp.Body).Decode(&v)
		return resp.StatusCode, v
	}
	status, start := post("/auth/strict/device", nil)
	if status != http.StatusOK {
		t.Fatalf("device start = %d %v", status, start)
	}
	if err := h.idp.ApproveDevice(start["user_code"].(string), oauthlogintest.User{Subject: "tv-user", ACR: "pwd"}); err != nil {
		t.Fatal(err)
	}
	status, s := post("/auth/device/token", url.Values{"handle": {start["handle"].(string)}})
	if status == http.StatusCreated {
		t.Fatalf("the provider requires acr_values=mfa, and a device login with acr %v got a session: %v", s["acr"], s)
	}
}
