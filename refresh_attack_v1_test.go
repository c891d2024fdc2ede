package oauthlogin_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
)

// Issue 16 §8: POST {prefix}refresh coalesces back-to-back calls "so a
// client loop cannot hammer the provider", with ifExpiring=1 too. A token
// whose whole lifetime is shorter than RefreshMargin (5 minutes by
// default; Entra's, Twitch's and many custom IdPs' tokens can be a minute
// or two, and a provider's negative expires_in is clamped to "now") is
// "expiring" the moment it is issued; the refresh that obtained it is
// still reused within the window, so a loop asks the provider once.
func TestRefreshIfExpiringLoopCoalesced(t *testing.T) {
	for _, ttl := range []time.Duration{time.Minute, -time.Minute} {
		t.Run(ttl.String(), func(t *testing.T) {
			h := newHarness(t)
			h.clock.stop()
			h.idp.SetAccessTokenTTL(time.Minute) // < RefreshMargin (5 min)
			b := oauthlogintest.NewBrowser()
			h.mustSucceed(h.login(b))
			h.idp.SetAccessTokenTTL(ttl) // refreshed tokens: the same, or already expired
			hits := h.idp.Hits("token")
			const calls = 10
			for range calls {
				if resp := h.do(b, "POST", "/auth/refresh?ifExpiring=1"); resp.StatusCode != http.StatusOK {
					t.Fatalf("POST /auth/refresh?ifExpiring=1 = %d", resp.StatusCode)
				}
			}
			if got := h.idp.Hits("token") - hits; got > 1 {
				t.Fatalf("%d back-to-back POST /auth/refresh?ifExpiring=1 (clock stopped) made %d provider refreshes, want at most 1 (the reuse window)", calls, got)
			}
			// Past the window, the next lazy call renews the token again.
			h.pastRefreshReuse()
			hits = h.idp.Hits("token")
			if resp := h.do(b, "POST", "/auth/refresh?ifExpiring=1"); resp.StatusCode != http.StatusOK || h.idp.Hits("token")-hits != 1 {
				t.Fatalf("POST /auth/refresh?ifExpiring=1 past the window = %d, %d provider refreshes, want 1", resp.StatusCode, h.idp.Hits("token")-hits)
			}
		})
	}
}

// The same through the Go API a host app uses for provider calls:
// Manager.Client / TokenSource refresh lazily, and with short-lived tokens
// Token() calls within the reuse window share one provider refresh.
func TestTokenSourceShortTokensCoalesced(t *testing.T) {
	h := newHarness(t)
	h.clock.stop()
	h.idp.SetAccessTokenTTL(time.Minute)
	b := oauthlogintest.NewBrowser()
	h.mustSucceed(h.login(b))
	v, _ := h.session(b)
	s, err := h.store.Session(context.Background(), v["id"].(string))
	if err != nil {
		t.Fatal(err)
	}
	hits := h.idp.Hits("token")
	for range 5 {
		// A fresh source per request, as a handler would make one.
		if _, err := h.m.TokenSource(context.Background(), s).Token(); err != nil {
			t.Fatal(err)
		}
		if s, err = h.store.Session(context.Background(), s.ID); err != nil {
			t.Fatal(err)
		}
	}
	if got := h.idp.Hits("token") - hits; got > 1 {
		t.Fatalf("5 Token() calls at one instant made %d provider refreshes", got)
	}
}

// Defence: a forced refresh in a loop, and ifExpiring calls between
// forced ones, ask the provider once in the reuse window; two sessions of
// one identity share it.
func TestAttackV1RefreshLoopCoalesced(t *testing.T) {
	h := newHarness(t)
	h.clock.stop()
	h.idp.SetAccessTokenTTL(time.Hour)
	a, b := oauthlogintest.NewBrowser(), oauthlogintest.NewBrowser()
	h.mustSucceed(h.login(a))
	h.mustSucceed(h.login(b)) // the same provider account: one identity, two sessions
	hits := h.idp.Hits("token")
	for i := range 12 {
		br, path := a, "/auth/refresh"
		switch i % 3 {
		case 1:
			br = b
		case 2:
			path = "/auth/refresh?ifExpiring=1"
		}
		if resp := h.do(br, "POST", path); resp.StatusCode != http.StatusOK {
			t.Fatalf("call %d %s = %d", i, path, resp.StatusCode)
		}
	}
	if got := h.idp.Hits("token") - hits; got != 1 {
		t.Fatalf("12 mixed refresh calls from two sessions of one identity made %d provider refreshes, want 1", got)
	}
}

// RFC 7009 / RFC 9700 §2.2.2: after the user signs out with
// RevokeOnLogout, the grant is dead at the provider. Another session of
// the same identity that refreshes within 10 s of an earlier refresh must
// not get the revoked tokens back as fresh (200): the logout's revocation
// drops them from the identity (and from its other sessions).
func TestRefreshAfterRevokingLogoutNeverReusesRevoked(t *testing.T) {
	h := newHarness(t, func(c *oauthlogin.Config) { c.Sessions.RevokeOnLogout = true })
	h.clock.stop()
	a, b := oauthlogintest.NewBrowser(), oauthlogintest.NewBrowser()
	h.mustSucceed(h.login(a))
	h.mustSucceed(h.login(b))
	if resp := h.do(a, "POST", "/auth/refresh"); resp.StatusCode != http.StatusOK {
		t.Fatalf("refresh = %d", resp.StatusCode)
	}
	fresh, _ := h.session(a)
	if resp := h.do(a, "DELETE", "/auth/session"); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("logout = %d", resp.StatusCode)
	}
	if !h.idp.Revoked(fresh["providerAccessToken"].(string)) {
		t.Fatal("setup: logout did not revoke the access token")
	}
	resp := h.do(b, "POST", "/auth/refresh")
	var got map[string]any
	decode(t, resp, &got)
	if tok, _ := got["providerAccessToken"].(string); resp.StatusCode == http.StatusOK && h.idp.Revoked(tok) {
		t.Fatalf("POST /auth/refresh from another session after a revoking logout = 200 with a token the provider revoked")
	}
}

// Instances whose clocks differ by more than refreshReuse (10 s) each find
// the other's "Refreshed" stamp outside the window (one too far ahead, the
// other too old); each also remembers its own last refresh on its own
// clock, so a client whose calls a load balancer alternates between them
// makes at most one provider refresh per instance in the window.
func TestRefreshClockSkewCoalesced(t *testing.T) {
	h := newHarness(t)
	h.clock.stop()
	b := oauthlogintest.NewBrowser()
	h.mustSucceed(h.login(b))
	v, _ := h.session(b)
	s, err := h.store.Session(context.Background(), v["id"].(string))
	if err != nil {
		t.Fatal(err)
	}
	behind := h.twin()
	oauthlogin.SetClock(behind, func() time.Time { return h.clock.now().Add(-time.Minute) })
	hits := h.idp.Hits("token")
	for i := range 6 {
		m := h.m
		if i%2 == 1 {
			m = behind
		}
		if s, err = m.Refresh(context.Background(), s); err != nil {
			t.Fatal(err)
		}
	}
	if got := h.idp.Hits("token") - hits; got > 2 {
		t.Fatalf("6 refreshes alternating between two instances 60 s apart, at one instant, made %d provider refreshes", got)
	}
}

// A revoking logout of a session holding the identity's tokens (here
// after its refresh, which renewed them) drops them from the identity's
// other sessions too (a refresh token's revocation ends the grant's
// access tokens, RFC 7009 §2.1): their session JSON says so, and a lazy
// refresh, which would answer a copy far from expiry as is, hands out no
// revoked token. Without a revocation, or when the session's tokens were
// of another grant (its own login, which the identity's tokens have
// replaced since), the other sessions keep theirs.
func TestRevokingLogoutDropsIdentityTokens(t *testing.T) {
	for _, tc := range []struct {
		name            string
		revoke, refresh bool
		dropped         bool
	}{
		{"Revoked", true, true, true},
		{"NotRevoked", false, true, false},
		{"OtherGrant", true, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, func(c *oauthlogin.Config) { c.Sessions.RevokeOnLogout = tc.revoke })
			h.clock.stop()
			a, b := oauthlogintest.NewBrowser(), oauthlogintest.NewBrowser()
			h.mustSucceed(h.login(a))
			h.mustSucceed(h.login(b))
			if tc.refresh {
				if resp := h.do(a, "POST", "/auth/refresh"); resp.StatusCode != http.StatusOK {
					t.Fatalf("refresh = %d", resp.StatusCode)
				}
			}
			if resp := h.do(a, "DELETE", "/auth/session"); resp.StatusCode != http.StatusNoContent {
				t.Fatalf("logout = %d", resp.StatusCode)
			}
			v, _ := h.session(b)
			tok, _ := v["providerAccessToken"].(string)
			if v["hasProviderRefreshToken"] != !tc.dropped || (tok != "") != !tc.dropped {
				t.Fatalf("the other session after the logout: %v, want its provider tokens dropped: %v", v, tc.dropped)
			}
			resp := h.do(b, "POST", "/auth/refresh?ifExpiring=1")
			var got map[string]any
			decode(t, resp, &got)
			if tok, _ := got["providerAccessToken"].(string); resp.StatusCode == http.StatusOK && tok != "" && h.idp.Revoked(tok) {
				t.Fatalf("POST /auth/refresh?ifExpiring=1 after the logout = 200 with a revoked token")
			}
		})
	}
}

// A login since this instance's last refresh of the identity puts its own
// tokens there, unstamped: a refresh asked for within the window renews
// them at the provider rather than taking them as the refresh just made.
func TestRefreshAfterNewLoginNotReused(t *testing.T) {
	h := newHarness(t)
	h.clock.stop()
	a, b := oauthlogintest.NewBrowser(), oauthlogintest.NewBrowser()
	h.mustSucceed(h.login(a))
	if resp := h.do(a, "POST", "/auth/refresh"); resp.StatusCode != http.StatusOK {
		t.Fatalf("refresh = %d", resp.StatusCode)
	}
	h.mustSucceed(h.login(b)) // the same identity: its tokens are now this login's
	hits := h.idp.Hits("token")
	if resp := h.do(b, "POST", "/auth/refresh"); resp.StatusCode != http.StatusOK || h.idp.Hits("token")-hits != 1 {
		t.Fatalf("refresh after a new login = %d, %d provider requests, want 1", resp.StatusCode, h.idp.Hits("token")-hits)
	}
}
