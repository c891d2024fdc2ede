package providers

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
)

// newLogoutProvider is an OIDC provider for a fresh fake, with its clock
// stopped at now.
func newLogoutProvider(t *testing.T, now time.Time) (*OIDCProvider, *oauthlogintest.Server) {
	t.Helper()
	idp := oauthlogintest.NewServer()
	t.Cleanup(idp.Close)
	p, err := OIDC(context.Background(), "test", idp.URL, Config{ClientID: idp.ClientID, ClientSecret: idp.ClientSecret})
	if err != nil {
		t.Fatal(err)
	}
	p.now = func() time.Time { return now }
	return p, idp
}

// Discovery's logout members (RP-Initiated Logout 1.0 §2.1, Back-Channel
// Logout 1.0 §2.1) are read.
func TestOIDCLogoutDiscovery(t *testing.T) {
	p, idp := newLogoutProvider(t, time.Now())
	if p.EndSessionEndpoint() != idp.URL+"/logout" || !p.BackChannelLogoutSupported() || !p.BackChannelLogoutSessionSupported() {
		t.Fatalf("end_session %q, backchannel %v, session %v", p.EndSessionEndpoint(), p.BackChannelLogoutSupported(), p.BackChannelLogoutSessionSupported())
	}
	idp.Behave(oauthlogintest.Behavior{Discovery: map[string]any{"end_session_endpoint": nil, "backchannel_logout_supported": nil, "backchannel_logout_session_supported": false}})
	q, err := OIDC(context.Background(), "test", idp.URL, Config{ClientID: idp.ClientID, ClientSecret: idp.ClientSecret})
	if err != nil {
		t.Fatal(err)
	}
	if q.EndSessionEndpoint() != "" || q.BackChannelLogoutSupported() || q.BackChannelLogoutSessionSupported() {
		t.Fatal("logout members read from a document without them")
	}
}

// Back-Channel Logout 1.0 §2.6, each validation step: a token that fails
// one is refused with ErrInvalidLogoutToken, for that reason.
func TestVerifyLogoutToken(t *testing.T) {
	now := time.Now()
	p, idp := newLogoutProvider(t, now)
	lt, err := p.VerifyLogoutToken(t.Context(), idp.LogoutToken(oauthlogintest.LogoutClaims{Subject: "user-1", SID: "sid-1", JTI: "j-1"}))
	if err != nil {
		t.Fatal(err)
	}
	if lt.Subject != "user-1" || lt.SID != "sid-1" || lt.ID != "j-1" || lt.IssuedAt.IsZero() || !lt.Expires.After(lt.IssuedAt) {
		t.Fatalf("token %+v", lt)
	}
	for _, typ := range []string{"-", "application/logout+jwt", "Logout+JWT"} {
		if _, err := p.VerifyLogoutToken(t.Context(), idp.LogoutToken(oauthlogintest.LogoutClaims{SID: "s", Typ: typ})); err != nil {
			t.Errorf("typ %q: %v", typ, err)
		}
	}
	for _, tc := range []struct {
		name string
		c    oauthlogintest.LogoutClaims
		want string
	}{
		{"nonce", oauthlogintest.LogoutClaims{SID: "s", Nonce: "n"}, "nonce is present"},
		{"null nonce", oauthlogintest.LogoutClaims{SID: "s", Claims: map[string]any{"nonce": json.RawMessage("null")}}, ""},
		{"no events", oauthlogintest.LogoutClaims{SID: "s", OmitEvents: true}, "no back-channel logout event"},
		{"event not an object", oauthlogintest.LogoutClaims{SID: "s", Events: map[string]any{backChannelLogoutEvent: []int{}}}, "not a JSON object"},
		{"wrong aud", oauthlogintest.LogoutClaims{SID: "s", Audience: []string{"other"}}, "aud does not name"},
		{"other issuer", oauthlogintest.LogoutClaims{SID: "s", Issuer: "https://evil.example"}, "is not the issuer"},
		{"expired", oauthlogintest.LogoutClaims{SID: "s", IssuedAt: now, Expires: now.Add(-logoutTokenSkew - time.Second)}, "expired"},
		{"no exp", oauthlogintest.LogoutClaims{SID: "s", OmitExpires: true}, "no exp"},
		{"old iat", oauthlogintest.LogoutClaims{SID: "s", IssuedAt: now.Add(-logoutTokenMaxAge - logoutTokenSkew - time.Second), Expires: now.Add(time.Hour)}, "too old"},
		{"future iat", oauthlogintest.LogoutClaims{SID: "s", IssuedAt: now.Add(logoutTokenSkew + 2*time.Second)}, "future"},
		{"no iat", oauthlogintest.LogoutClaims{SID: "s", Claims: map[string]any{"iat": nil}}, "no iat"},
		{"iat a string", oauthlogintest.LogoutClaims{SID: "s", Claims: map[string]any{"iat": "1700000000"}}, "NumericDate"},
		{"no jti", oauthlogintest.LogoutClaims{SID: "s", JTI: "-"}, "no jti"},
		{"neither sid nor sub", oauthlogintest.LogoutClaims{}, "neither sid nor sub"},
		{"typ JWT", oauthlogintest.LogoutClaims{SID: "s", Typ: "JWT"}, "not logout+jwt"},
		{"alg none", oauthlogintest.LogoutClaims{SID: "s", Signing: oauthlogintest.Behavior{AlgNone: true}}, "malformed JWS"},
		{"unpublished key", oauthlogintest.LogoutClaims{SID: "s", Signing: oauthlogintest.Behavior{UnknownKID: true}}, "no published key"},
		{"bad signature", oauthlogintest.LogoutClaims{SID: "s", Signing: oauthlogintest.Behavior{BadSignature: true}}, "no published key"},
		{"HS256 with the public key", oauthlogintest.LogoutClaims{SID: "s", Signing: oauthlogintest.Behavior{TokenAlg: "HS256", HMACKey: []byte("k")}}, "malformed JWS"},
	} {
		_, err := p.VerifyLogoutToken(t.Context(), idp.LogoutToken(tc.c))
		if tc.want == "" {
			// "nonce": null is a nonce claim present all the same.
			tc.want = "nonce is present"
		}
		if !errors.Is(err, oauthlogin.ErrInvalidLogoutToken) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want ErrInvalidLogoutToken: %s", tc.name, err, tc.want)
		}
	}
	if _, err := p.VerifyLogoutToken(t.Context(), strings.Repeat("a", maxIDToken+1)); !errors.Is(err, oauthlogin.ErrInvalidLogoutToken) {
		t.Errorf("oversized token: %v", err)
	}
}

// The subject is mapped as identities hold it, like a refreshed ID
// token's (Microsoft's "{tid}:{oid}").
func TestVerifyLogoutTokenMapsSubject(t *testing.T) {
	p, idp := newLogoutProvider(t, time.Now())
	p.claims = Fields{Subject: "oid"}
	lt, err := p.VerifyLogoutToken(t.Context(), idp.LogoutToken(oauthlogintest.LogoutClaims{Subject: "s-1", Claims: map[string]any{"oid": "o-1"}}))
	if err != nil || lt.Subject != "o-1" {
		t.Fatalf("VerifyLogoutToken = %+v, %v, want subject o-1", lt, err)
	}
}

// FuzzLogoutClaims: whatever a signed logout token's payload holds, the
// claim checks never panic, and what they pass has a jti, the event as a
// JSON object, a sid or sub and no nonce (Back-Channel Logout 1.0 §2.4).
func FuzzLogoutClaims(f *testing.F) {
	f.Add([]byte(`{"jti":"j","sid":"s","events":{"http://schemas.openid.net/event/backchannel-logout":{}},"iat":1,"exp":2,"aud":["a"]}`))
	f.Add([]byte(`{"jti":"j","sub":"s","events":{"http://schemas.openid.net/event/backchannel-logout":[]},"nonce":null,"aud":"a"}`))
	f.Add([]byte(`{"events":null,"aud":7,"iat":"1"}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		var c logoutClaims
		if json.Unmarshal(payload, &c) != nil {
			return
		}
		audiences(c.Aud)
		if c.check() != nil {
			return
		}
		ev := c.Events[backChannelLogoutEvent]
		var obj map[string]json.RawMessage
		if c.Jti == "" || json.Unmarshal(ev, &obj) != nil || obj == nil || (c.Sid == "" && c.Sub == "") || c.Nonce != nil {
			t.Fatalf("check passed %s", payload)
		}
	})
}
