package oauthlogin_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/oauthlogin/oauthlogin/oauthlogintest"
)

// RP-Initiated Logout 1.0 §2: "id_token_hint: ID Token previously issued
// by the OP to the RP passed to the Logout Endpoint as a hint about the
// End-User's current authenticated session with the Client." The Manager
// keeps one ID token per identity (the latest login's, on any browser)
// and sends it as the hint of every session of that identity. A user
// signed in on two browsers who signs out of the provider on the first
// sends the second browser's ID token: the provider ends the second
// browser's provider session (sid2) and, with back-channel logout, its
// app session too, while the first browser's provider session (sid1)
// stays alive.
//
// Impact: "sign out of the provider too" on a shared or kiosk computer
// leaves that computer signed in at the provider (the next person there
// gets the user's account with one click), and it signs the user out on
// a device they did not touch.
func TestAttackV3ProviderLogoutHintIsAnotherBrowsersSession(t *testing.T) {
	h := newLogoutHarness(t)
	h.idp.SetBackChannelLogoutURI(h.app.URL + "/auth/test/backchannel-logout")
	kiosk, phone := oauthlogintest.NewBrowser(), oauthlogintest.NewBrowser()
	sid1, _ := h.loginSID(t, kiosk)
	sid2, _ := h.loginSID(t, phone)
	page, err := kiosk.Visit(context.Background(), h.app.URL+"/auth/logout?return=/bye", nil)
	if err != nil {
		t.Fatal(err)
	}
	if page.URL.Path != "/bye" {
		t.Fatalf("logout ended at %s", page.URL)
	}
	_, phoneStatus := h.session(phone)
	if !h.idp.LoggedOut(sid1) || h.idp.LoggedOut(sid2) {
		t.Fatalf("logout on the kiosk: kiosk's provider session ended = %v, the phone's = %v (phone's app session status %d); want true, false",
			h.idp.LoggedOut(sid1), h.idp.LoggedOut(sid2), phoneStatus)
	}
}

// RFC 7519 §4.1.5: "The nbf (not before) claim identifies the time before
// which the JWT MUST NOT be accepted for processing." Back-Channel Logout
// 1.0 §2.6 step 3 validates the logout token as an ID token is validated
// (Core §3.1.3.7), where go-oidc enforces nbf; VerifyLogoutToken only
// checks that nbf is a NumericDate and never compares it with the clock,
// so a logout token meant to take effect in an hour is acted on now.
//
// Impact: low; a token the provider marked not yet valid ends sessions
// early (and its jti is spent, so the real delivery is refused as a
// replay).
func TestAttackV3LogoutTokenNotBeforeIgnored(t *testing.T) {
	h := newLogoutHarness(t)
	b := oauthlogintest.NewBrowser()
	sid, s := h.loginSID(t, b)
	later := time.Now().Add(time.Hour)
	tok := h.idp.LogoutToken(oauthlogintest.LogoutClaims{SID: sid, Expires: later.Add(2 * time.Minute), Claims: map[string]any{"nbf": later.Unix()}})
	status, body, _ := h.sendLogout(t, h.app.URL, "test", tok)
	if status == http.StatusOK {
		t.Fatalf("a logout token with nbf an hour ahead was accepted (%d %v)", status, body)
	}
	h.mustBeStored(t, s, true)
}

// Back-Channel Logout 1.0 §2.6 step 3: "Validate the iss, aud, iat, and
// exp Claims in the same way they are validated in ID Tokens", and Core
// §3.1.3.7 step 3: "The ID Token MUST be rejected if the ID Token does not
// list the Client as a valid audience, or if it contains additional
// audiences not trusted by the Client." Identify refuses an ID token with
// an untrusted extra audience (providers.Config.TrustedAudiences);
// VerifyLogoutToken only looks for the client id in aud, so a logout
// token addressed to another client as well is acted on.
//
// Impact: low to medium; the other client named in aud (which received
// the same token) can replay it here first, ending the user's sessions on
// this relying party and spending the jti of the real delivery.
func TestAttackV3LogoutTokenUntrustedAudienceAccepted(t *testing.T) {
	h := newLogoutHarness(t)
	b := oauthlogintest.NewBrowser()
	sid, s := h.loginSID(t, b)
	tok := h.idp.LogoutToken(oauthlogintest.LogoutClaims{SID: sid, Audience: []string{h.idp.ClientID, "another-client"}})
	status, body, _ := h.sendLogout(t, h.app.URL, "test", tok)
	if status == http.StatusOK {
		t.Fatalf("a logout token with an untrusted extra audience was accepted (%d %v)", status, body)
	}
	h.mustBeStored(t, s, true)
}

// Issue 17 asks for the GET logout link with "same-origin rules kept";
// http.CrossOriginProtection, which guards DELETE {prefix}session, falls
// back to the Origin header when a browser sends no Sec-Fetch-Site. The
// link checks Sec-Fetch-Site only: a browser that sends none (Safari
// before 16.4, embedded web views, privacy proxies that strip Sec-Fetch-*)
// following a link from another site, whose Referer names that site, is
// signed out here and sent on to the provider's end-session endpoint
// (RP-Initiated Logout 1.0 §2), which ends the provider session too.
//
// Impact: low; logout CSRF (here and, through the id_token_hint, at the
// provider) for browsers without Fetch Metadata, where the Referer says
// plainly that the request came from elsewhere.
func TestAttackV3LogoutLinkCrossSiteWithoutFetchMetadata(t *testing.T) {
	h := newLogoutHarness(t)
	b := oauthlogintest.NewBrowser()
	h.loginSID(t, b)
	resp := h.do(b, "GET", "/auth/logout?return=/bye", "Referer", "https://evil.example/page")
	resp.Body.Close()
	if _, status := h.session(b); status != http.StatusOK {
		t.Fatalf("a logout link followed from https://evil.example (Referer, no Sec-Fetch-Site) ended the session (GET session: %d)", status)
	}
}

// Back-Channel Logout 1.0 §2.7: "the RP MUST locate the session(s)
// identified by the iss and sid Claims and/or the iss and sub Claims";
// §2.6 steps 9-10: "verify that any sub Logout Token Claim matches the sub
// Claim in an ID Token issued for the current session" and likewise for
// sid. When a logout token carries both, the Manager ends the sessions of
// the sid (DeleteProviderSessions) and never compares the sub with the
// sessions' ProviderUID: a token naming sid S for user B ends user A's
// sessions of S. Providers that keep one browser session (one sid) for
// every account signed in there (account switchers) announce user B's
// logout with the sid A's session also holds.
//
// Impact: low; one user's logout at the provider ends another user's
// sessions here (denial of service, no access gained).
func TestAttackV3LogoutTokenSIDEndsAnotherSubjectsSession(t *testing.T) {
	h := newLogoutHarness(t)
	b := oauthlogintest.NewBrowser()
	sid, s := h.loginSID(t, b)
	tok := h.idp.LogoutToken(oauthlogintest.LogoutClaims{SID: sid, Subject: "user-2"})
	if status, body, _ := h.sendLogout(t, h.app.URL, "test", tok); status != http.StatusOK {
		t.Logf("refused: %d %v", status, body)
	}
	if _, err := h.store.Session(context.Background(), s); err != nil {
		t.Fatalf("a logout token for sub user-2 ended user-1's session of sid %s: %v", sid, err)
	}
}
