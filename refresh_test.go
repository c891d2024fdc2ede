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
		hits := h.idp.Hits("token")
		if resp := h.do(b, "POST", "/auth/refresh"); resp.StatusCode != http.StatusOK || h.idp.Hits("token") != hits+1 {
			t.Fatalf("rotate=%v: first refresh = %d", rotate, resp.StatusCode)
		}
		second := h.refreshToken(b)
		if rotate == (first == second) {
			t.Fatalf("rotate=%v: refresh token %q then %q", rotate, first, second)
		}
		// The token now held works again (a rotated-out one would end the login).
		h.pastRefreshReuse()
		if resp := h.do(b, "POST", "/auth/refresh"); resp.StatusCode != http.StatusOK || h.idp.Hits("token") != hits+2 {
			t.Fatalf("rotate=%v: second refresh = %d, %d provider requests, want 2", rotate, resp.StatusCode, h.idp.Hits("token")-hits)
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
		resp := h.do(b, "POST", "/auth/refresh")
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
		resp = h.do(b, "POST", "/auth/refresh")
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
		resp := h.do(b, "POST", "/auth/refresh")
		var v map[string]string
		decode(t, resp, &v)
		if resp.StatusCode != http.StatusServiceUnavailable || v["error"] != "provider_unavailable" || resp.Header.Get("Retry-After") != "1" {
			t.Fatalf("= %d %v Retry-After %q", resp.StatusCode, v, resp.Header.Get("Retry-After"))
		}
		if after, _ := h.session(b); after["providerAccessToken"] != before["providerAccessToken"] || after["hasProviderRefreshToken"] != true {
			t.Fatal("a failed refresh changed the stored tokens")
		}
		// Backing off: the next attempt does not reach the provider.
		resp = h.do(b, "POST", "/auth/refresh")
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || h.idp.Hits("token") != hits+1 {
			t.Fatalf("second attempt = %d, provider hit %d times", resp.StatusCode, h.idp.Hits("token")-hits)
		}
	})
	t.Run("ProviderRefuses", func(t *testing.T) {
		h := newHarness(t)
		b := oauthlogintest.NewBrowser()
		h.mustSucceed(h.login(b))
		h.idp.Behave(oauthlogintest.Behavior{TokenStatus: http.StatusUnauthorized}) // invalid_client
		resp := h.do(b, "POST", "/auth/refresh")
		var v map[string]string
		decode(t, resp, &v)
		if resp.StatusCode != http.StatusBadGateway || v["error"] != oauthlogin.ErrRefreshFailed.Code() {
			t.Fatalf("= %d %v", resp.StatusCode, v)
		}
		if after, _ := h.session(b); after["hasProviderRefreshToken"] != true {
			t.Fatal("a refused refresh dropped the tokens")
		}
	})
}

// POST {prefix}refresh renews a token far from expiry (Appwrite's "update
// OAuth session" refreshes when asked), and so does Manager.Refresh; the
// force=1 of earlier versions is accepted and changes nothing.
func TestRefreshWhenAsked(t *testing.T) {
	for _, path := range []string{"/auth/refresh", "/auth/refresh?force=1"} {
		t.Run(path, func(t *testing.T) {
			h := newHarness(t) // access tokens live an hour: far from the 5-minute margin
			b := oauthlogintest.NewBrowser()
			h.mustSucceed(h.login(b))
			before, _ := h.session(b)
			hits := h.idp.Hits("token")
			resp := h.do(b, "POST", path)
			var after map[string]any
			decode(t, resp, &after)
			if resp.StatusCode != http.StatusOK || h.idp.Hits("token") != hits+1 {
				t.Fatalf("POST %s = %d %v, %d provider requests, want 1", path, resp.StatusCode, after, h.idp.Hits("token")-hits)
			}
			if after["providerAccessToken"] == before["providerAccessToken"] || after["providerAccessToken"] == "" {
				t.Fatal("the access token did not change")
			}
		})
	}
	t.Run("Manager.Refresh", func(t *testing.T) {
		h := newHarness(t)
		b := oauthlogintest.NewBrowser()
		h.mustSucceed(h.login(b))
		v, _ := h.session(b)
		s, err := h.store.Session(context.Background(), v["id"].(string))
		if err != nil {
			t.Fatal(err)
		}
		old, _ := h.m.ProviderToken(s)
		hits := h.idp.Hits("token")
		got, err := h.m.Refresh(context.Background(), s)
		if err != nil || h.idp.Hits("token") != hits+1 {
			t.Fatalf("Refresh: %v, %d provider requests, want 1", err, h.idp.Hits("token")-hits)
		}
		tok, _ := h.m.ProviderToken(got)
		saved, _ := h.store.Session(context.Background(), s.ID)
		stored, _ := h.m.ProviderToken(saved)
		if tok.AccessToken == old.AccessToken || stored.AccessToken != tok.AccessToken {
			t.Fatal("Refresh did not renew and save the access token")
		}
	})
}

// A refresh finished within RefreshReuse is reused, on this instance and
// on another over the same store: back-to-back calls make one provider
// request, and after the window the next call refreshes again.
func TestRefreshReusedWithinWindow(t *testing.T) {
	h := newHarness(t)
	h.clock.stop()
	b := oauthlogintest.NewBrowser()
	h.mustSucceed(h.login(b))
	twin := h.twin().Handler()
	hits := h.idp.Hits("token")

	refresh := func(step string, want int) string {
		t.Helper()
		resp := h.do(b, "POST", "/auth/refresh")
		var v map[string]any
		decode(t, resp, &v)
		if resp.StatusCode != http.StatusOK || h.idp.Hits("token")-hits != want {
			t.Fatalf("%s: POST /auth/refresh = %d %v, %d provider requests in all, want %d", step, resp.StatusCode, v, h.idp.Hits("token")-hits, want)
		}
		return v["providerAccessToken"].(string)
	}
	first := refresh("first", 1)
	if again := refresh("back to back", 1); again != first {
		t.Fatal("the reused refresh answered another token")
	}
	h.clock.advance(oauthlogin.RefreshReuse - time.Second)
	refresh("at the end of the window", 1)
	if ok := concurrentRefreshes(t, h, b, 1, twin); ok != 1 || h.idp.Hits("token")-hits != 1 {
		t.Fatalf("the other instance, within the window: %d provider requests in all, want 1", h.idp.Hits("token")-hits)
	}
	h.clock.advance(2 * time.Second)
	if next := refresh("after the window", 2); next == first {
		t.Fatal("the refresh after the window kept the old token")
	}
	// Within the window again, whichever instance refreshed.
	h.clock.advance(oauthlogin.RefreshReuse + time.Second)
	if ok := concurrentRefreshes(t, h, b, 1, twin); ok != 1 || h.idp.Hits("token")-hits != 3 {
		t.Fatalf("the other instance, after the window: %d provider requests in all, want 3", h.idp.Hits("token")-hits)
	}
	refresh("back to back, after the other instance", 3)
}

// A refresh stamped far ahead of this instance's clock (another instance's
// clock runs fast) is reused only within RefreshReuse either way, so that
// a skewed clock cannot stop refreshes for longer.
func TestRefreshReuseBoundedBothWays(t *testing.T) {
	h := newHarness(t)
	h.clock.stop()
	b := oauthlogintest.NewBrowser()
	h.mustSucceed(h.login(b))
	hits := h.idp.Hits("token")
	h.do(b, "POST", "/auth/refresh")
	h.clock.advance(-oauthlogin.RefreshReuse + time.Second)
	h.do(b, "POST", "/auth/refresh")
	if got := h.idp.Hits("token") - hits; got != 1 {
		t.Fatalf("a refresh stamped just ahead: %d provider requests, want 1", got)
	}
	h.clock.advance(-time.Hour)
	if resp := h.do(b, "POST", "/auth/refresh"); resp.StatusCode != http.StatusOK || h.idp.Hits("token")-hits != 2 {
		t.Fatalf("a refresh stamped an hour ahead = %d, %d provider requests, want 2", resp.StatusCode, h.idp.Hits("token")-hits)
	}
}

// Concurrent POSTs for a token far from expiry share one provider request.
func TestRefreshConcurrentCallsShareOne(t *testing.T) {
	h := newHarness(t)
	h.clock.stop()
	h.idp.Behave(oauthlogintest.Behavior{RotateRefreshTokens: true})
	b := oauthlogintest.NewBrowser()
	h.mustSucceed(h.login(b))
	before := h.idp.Hits("token")
	if ok := concurrentRefreshes(t, h, b, 50, h.m.Handler(), h.twin().Handler()); ok != 50 {
		t.Fatalf("%d of 50 refreshes succeeded", ok)
	}
	if got := h.idp.Hits("token") - before; got != 1 {
		t.Fatalf("%d refresh requests reached the provider, want 1", got)
	}
}

// ?ifExpiring=1 keeps the lazy rule: a token far from expiry is answered
// as is, one within Config.Sessions.RefreshMargin is renewed (once the last
// refresh is older than the reuse window).
func TestRefreshIfExpiring(t *testing.T) {
	h := newHarness(t)
	b := oauthlogintest.NewBrowser()
	h.mustSucceed(h.login(b))
	before, _ := h.session(b)
	hits := h.idp.Hits("token")
	var v map[string]any
	for _, q := range []string{"ifExpiring=1", "ifExpiring=true"} {
		resp := h.do(b, "POST", "/auth/refresh?"+q)
		decode(t, resp, &v)
		if resp.StatusCode != http.StatusOK || h.idp.Hits("token") != hits || v["providerAccessToken"] != before["providerAccessToken"] {
			t.Fatalf("%s far from expiry: %d %v, %d provider requests, want none", q, resp.StatusCode, v, h.idp.Hits("token")-hits)
		}
	}

	h.idp.SetAccessTokenTTL(time.Minute) // inside the margin
	h.pastRefreshReuse()
	h.do(b, "POST", "/auth/refresh")
	h.idp.SetAccessTokenTTL(time.Hour)
	h.pastRefreshReuse() // within the window the refresh just made is reused
	hits = h.idp.Hits("token")
	resp := h.do(b, "POST", "/auth/refresh?ifExpiring=1")
	decode(t, resp, &v)
	if resp.StatusCode != http.StatusOK || h.idp.Hits("token") != hits+1 {
		t.Fatalf("expiring: %d %v, %d provider requests, want 1", resp.StatusCode, v, h.idp.Hits("token")-hits)
	}
}
