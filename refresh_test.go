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

	resp := h.do(b, "POST", "/auth/refresh") // expiring within the margin: no force needed
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
		if resp := h.do(b, "POST", "/auth/refresh?force=1"); resp.StatusCode != http.StatusOK {
			t.Fatalf("rotate=%v: first refresh = %d", rotate, resp.StatusCode)
		}
		second := h.refreshToken(b)
		if rotate == (first == second) {
			t.Fatalf("rotate=%v: refresh token %q then %q", rotate, first, second)
		}
		// The token now held works again (a rotated-out one would end the login).
		if resp := h.do(b, "POST", "/auth/refresh?force=1"); resp.StatusCode != http.StatusOK {
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
		if resp := h.do(oauthlogintest.NewBrowser(), "POST", "/auth/refresh?force=1"); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("= %d, want 401", resp.StatusCode)
		}
	})
	t.Run("NoRefreshToken", func(t *testing.T) {
		h := newHarness(t)
		h.idp.Behave(oauthlogintest.Behavior{OmitRefreshToken: true})
		b := oauthlogintest.NewBrowser()
		h.mustSucceed(h.login(b))
		resp := h.do(b, "POST", "/auth/refresh?force=1")
		var v map[string]string
		decode(t, resp, &v)
		if resp.StatusCode != http.StatusBadRequest || v["error"] != oauthlogin.ErrNoRefreshToken.Code() {
			t.Fatalf("= %d %v", resp.StatusCode, v)
		}
		if h.idp.Hits("token") != 1 {
			t.Fatal("a refresh was attempted without a refresh token")
		}
	})
	t.Run("GrantRevoked", func(t *testing.T) {
		h := newHarness(t)
		b := oauthlogintest.NewBrowser()
		h.mustSucceed(h.login(b))
		h.idp.Behave(oauthlogintest.Behavior{TokenError: "invalid_grant"})
		resp := h.do(b, "POST", "/auth/refresh?force=1")
		var v map[string]string
		decode(t, resp, &v)
		if resp.StatusCode != http.StatusConflict || v["error"] != oauthlogin.ErrProviderTokenRevoked.Code() {
			t.Fatalf("= %d %v", resp.StatusCode, v)
		}
		// The app session stays; its provider tokens are gone, and so are the identity's.
		after, status := h.session(b)
		if status != http.StatusOK || after["providerAccessToken"] != nil || after["hasProviderRefreshToken"] != false || after["providerAccessTokenExpiry"] != "" {
			t.Fatalf("after invalid_grant: %d %v", status, after)
		}
		id, err := h.store.Identity(context.Background(), h.idp.URL, "user-1")
		if err != nil || id.ProviderTokens != nil {
			t.Fatalf("identity tokens after invalid_grant: %v, %v", id.ProviderTokens, err)
		}
		hits := h.idp.Hits("token")
		resp = h.do(b, "POST", "/auth/refresh?force=1")
		decode(t, resp, &v)
		if resp.StatusCode != http.StatusBadRequest || v["error"] != oauthlogin.ErrNoRefreshToken.Code() || h.idp.Hits("token") != hits {
			t.Fatalf("refresh after the grant was revoked = %d %v", resp.StatusCode, v)
		}
	})
	t.Run("ProviderDown", func(t *testing.T) {
		h := newHarness(t)
		b := oauthlogintest.NewBrowser()
		h.mustSucceed(h.login(b))
		before, _ := h.session(b)
		h.idp.Behave(oauthlogintest.Behavior{TokenStatus: http.StatusServiceUnavailable})
		hits := h.idp.Hits("token")
		resp := h.do(b, "POST", "/auth/refresh?force=1")
		var v map[string]string
		decode(t, resp, &v)
		if resp.StatusCode != http.StatusServiceUnavailable || v["error"] != "provider_unavailable" || resp.Header.Get("Retry-After") != "1" {
			t.Fatalf("= %d %v Retry-After %q", resp.StatusCode, v, resp.Header.Get("Retry-After"))
		}
		if after, _ := h.session(b); after["providerAccessToken"] != before["providerAccessToken"] || after["hasProviderRefreshToken"] != true {
			t.Fatal("a failed refresh changed the stored tokens")
		}
		// Backing off: the next attempt does not reach the provider.
		resp = h.do(b, "POST", "/auth/refresh?force=1")
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || h.idp.Hits("token") != hits+1 {
			t.Fatalf("second attempt = %d, provider hit %d times", resp.StatusCode, h.idp.Hits("token")-hits)
		}
	})
	t.Run("ProviderRefuses", func(t *testing.T) {
		h := newHarness(t)
		b := oauthlogintest.NewBrowser()
		h.mustSucceed(h.login(b))
		h.idp.Behave(oauthlogintest.Behavior{TokenStatus: http.StatusUnauthorized}) // invalid_client
		resp := h.do(b, "POST", "/auth/refresh?force=1")
		var v map[string]string
		decode(t, resp, &v)
		if resp.StatusCode != http.StatusBadGateway || v["error"] != oauthlogin.ErrRefresh.Code() {
			t.Fatalf("= %d %v", resp.StatusCode, v)
		}
		if after, _ := h.session(b); after["hasProviderRefreshToken"] != true {
			t.Fatal("a refused refresh dropped the tokens")
		}
	})
}
