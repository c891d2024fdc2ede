package oauthlogin_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
)

func TestRefresh(t *testing.T) {
	h := newHarness(t)
	h.idp.SetAccessTokenTTL(2 * time.Minute)
	b := oauthlogintest.NewBrowser()
	h.mustSucceed(h.login(b))
	before, _ := h.session(b)
	h.idp.SetAccessTokenTTL(time.Hour)

	resp := h.do(b, "POST", "/auth/refresh")
	var after map[string]any
	decode(t, resp, &after)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /auth/refresh = %d %v", resp.StatusCode, after)
	}
	if after["providerAccessToken"] == before["providerAccessToken"] || after["providerAccessToken"] == "" {
		t.Fatal("the access token did not change")
	}
	oldExp, _ := time.Parse(time.RFC3339, before["providerAccessTokenExpiry"].(string))
	newExp, _ := time.Parse(time.RFC3339, after["providerAccessTokenExpiry"].(string))
	if newExp.Sub(oldExp) < 50*time.Minute {
		t.Fatalf("expiry went from %v to %v", oldExp, newExp)
	}
	if after["id"] != before["id"] || after["userId"] != before["userId"] {
		t.Fatal("refresh changed the session")
	}
	// Saved: the next read shows the new token, and so does the identity.
	again, _ := h.session(b)
	if again["providerAccessToken"] != after["providerAccessToken"] {
		t.Fatal("the refreshed token was not saved")
	}
	id, err := h.store.Identity(context.Background(), h.idp.URL, "user-1")
	if err != nil || !id.ProviderAccessTokenExpiry.Truncate(time.Second).Equal(newExp) {
		t.Fatalf("identity expiry %v, session %v (%v)", id.ProviderAccessTokenExpiry, newExp, err)
	}
}

func TestRefreshKeepsRefreshTokenAndRotates(t *testing.T) {
	for _, rotate := range []bool{false, true} {
		h := newHarness(t)
		h.idp.Behave(oauthlogintest.Behavior{RotateRefreshTokens: rotate})
		b := oauthlogintest.NewBrowser()
		h.mustSucceed(h.login(b))
		first := h.refreshToken(b)
		if resp := h.do(b, "POST", "/auth/refresh"); resp.StatusCode != http.StatusOK {
			t.Fatalf("rotate=%v: first refresh = %d", rotate, resp.StatusCode)
		}
		second := h.refreshToken(b)
		if rotate == (first == second) {
			t.Fatalf("rotate=%v: refresh token %q then %q", rotate, first, second)
		}
		// The token now held works again (a rotated-out one would end the login).
		if resp := h.do(b, "POST", "/auth/refresh"); resp.StatusCode != http.StatusOK {
			t.Fatalf("rotate=%v: second refresh = %d", rotate, resp.StatusCode)
		}
	}
}

// refreshToken opens the refresh token of b's session from the store.
func (h *harness) refreshToken(b *oauthlogintest.Browser) string {
	h.t.Helper()
	v, _ := h.session(b)
	s, err := h.store.Session(context.Background(), v["id"].(string))
	if err != nil {
		h.t.Fatal(err)
	}
	tok, err := h.m.ProviderToken(s)
	if err != nil {
		h.t.Fatal(err)
	}
	return tok.RefreshToken
}

func TestRefreshFailures(t *testing.T) {
	t.Run("NoSession", func(t *testing.T) {
		h := newHarness(t)
		if resp := h.do(oauthlogintest.NewBrowser(), "POST", "/auth/refresh"); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("= %d, want 401", resp.StatusCode)
		}
	})
	t.Run("NoRefreshToken", func(t *testing.T) {
		h := newHarness(t)
		h.idp.Behave(oauthlogintest.Behavior{OmitRefreshToken: true})
		b := oauthlogintest.NewBrowser()
		h.mustSucceed(h.login(b))
		resp := h.do(b, "POST", "/auth/refresh")
		var v map[string]string
		decode(t, resp, &v)
		if resp.StatusCode != http.StatusBadRequest || v["error"] != oauthlogin.CodeNoRefreshToken {
			t.Fatalf("= %d %v", resp.StatusCode, v)
		}
		if h.idp.Hits("token") != 1 {
			t.Fatal("a refresh was attempted without a refresh token")
		}
	})
	t.Run("ProviderRefuses", func(t *testing.T) {
		h := newHarness(t)
		b := oauthlogintest.NewBrowser()
		h.mustSucceed(h.login(b))
		before, _ := h.session(b)
		h.idp.Behave(oauthlogintest.Behavior{TokenError: "invalid_grant"})
		resp := h.do(b, "POST", "/auth/refresh")
		var v map[string]string
		decode(t, resp, &v)
		if resp.StatusCode != http.StatusBadGateway || v["error"] != oauthlogin.CodeRefresh {
			t.Fatalf("= %d %v", resp.StatusCode, v)
		}
		if after, _ := h.session(b); after["providerAccessToken"] != before["providerAccessToken"] {
			t.Fatal("a failed refresh changed the stored token")
		}
	})
}
