package oauthlogin_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
)

// The device flow over HTTP against oauthlogintest: start, pending,
// approval on "another device", a bearer session for the verified account.
func TestDeviceFlowHTTP(t *testing.T) {
	h := newHarness(t, func(c *oauthlogin.Config) { c.DeviceProviders = []string{"test"} })
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
	status, start := post("/auth/test/device", nil)
	if status != http.StatusOK || start["verification_uri"] != h.idp.URL+"/activate" {
		t.Fatalf("start = %d %v", status, start)
	}
	handle := url.Values{"handle": {start["handle"].(string)}}
	if status, v := post("/auth/device/token", handle); status != http.StatusBadRequest || v["error"] != "authorization_pending" {
		t.Fatalf("before approval = %d %v", status, v)
	}
	// Polling again at once would be too fast (the harness has no clock
	// to move): approve another device code, and poll its first handle.
	_, start = post("/auth/test/device", nil)
	handle = url.Values{"handle": {start["handle"].(string)}}
	if err := h.idp.ApproveDevice(start["user_code"].(string), oauthlogintest.User{Subject: "tv-user", Email: "tv@example.com", EmailVerified: true}); err != nil {
		t.Fatal(err)
	}
	status, s := post("/auth/device/token", handle)
	if status != http.StatusCreated || s["providerUid"] != "tv-user" || s["provider"] != "test" {
		t.Fatalf("after approval = %d %v", status, s)
	}
	h.logs.secret(s["secret"].(string))
	resp := withBearer(t, "GET", h.app.URL+"/auth/identities", s["secret"].(string))
	var ids struct{ Total int }
	json.NewDecoder(resp.Body).Decode(&ids)
	if resp.StatusCode != http.StatusOK || ids.Total != 1 {
		t.Fatalf("identities with the device's bearer = %d %+v", resp.StatusCode, ids)
	}
	// The device code is spent.
	if status, _ := post("/auth/device/token", handle); status == http.StatusCreated {
		t.Fatal("a device code made two sessions")
	}
	// Denied.
	_, start = post("/auth/test/device", nil)
	h.idp.DenyDevice(start["user_code"].(string))
	if status, v := post("/auth/device/token", url.Values{"handle": {start["handle"].(string)}}); status != http.StatusBadRequest || v["error"] != oauthlogin.ErrProviderDenied.Code() {
		t.Fatalf("denied = %d %v", status, v)
	}
}

// Client credentials against oauthlogintest's grant.
func TestServiceClientFake(t *testing.T) {
	h := newHarness(t)
	ts, err := h.m.ServiceTokenSource(t.Context(), "test", nil, "reports")
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if tok, err := ts.Token(); err != nil || tok.AccessToken == "" {
			t.Fatalf("Token() = %v, %v", tok, err)
		}
	}
	if h.idp.Hits("token") != 1 {
		t.Fatalf("%d token requests for three calls", h.idp.Hits("token"))
	}
}
