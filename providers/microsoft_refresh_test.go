package providers_test

import (
	"testing"

	"golang.org/x/oauth2"

	"github.com/oauthlogin/oauthlogin/providers"
)

// Found by an adversarial review (availability, and the loss of rotated tokens): Microsoft's
// Profile.Subject, the identity's ProviderUID, is "{tid}:{oid}", but
// VerifyRefreshIDToken compares the refreshed ID token's sub claim (a
// per-app pairwise value, never "{tid}:{oid}") with it. Microsoft answers a
// refresh of an openid grant with a new ID token, so every Microsoft
// refresh is refused as "for another subject" (ErrRefreshFailed, 502
// refresh_failed), and the rotated refresh token Microsoft sent with it is
// thrown away ("keep nothing of this response").
//
// What is demanded: OpenIDProvider.VerifyRefreshIDToken's doc (OpenID
// Connect Core §12.2: the refreshed ID token must name the SAME subject,
// i.e. the same account that signed in) and Refresh's doc (POST
// {prefix}refresh renews the provider access token). An ID token of the
// very account that signed in must verify.
func TestMicrosoftRefreshIDTokenSubject(t *testing.T) {
	fx := loadFixture(t, "microsoft-tenant")
	f := newFake(t, fx)
	p, err := providers.Microsoft(t.Context(), "72f988bf-86f1-41af-91ab-2d7cd011db47",
		providers.Config{ClientID: fakeClientID, ClientSecret: fakeClientSecret, HTTPClient: f.client()})
	if err != nil {
		t.Fatal(err)
	}
	login := (&oauth2.Token{AccessToken: "at-fixture-0001", TokenType: "Bearer"}).WithExtra(map[string]any{"id_token": f.idToken("")})
	profile, err := p.Identify(t.Context(), login, "")
	if err != nil {
		t.Fatal(err)
	}
	// The refresh response's ID token: the same user, the same claims.
	if err := p.VerifyRefreshIDToken(t.Context(), f.idToken(""), profile.Subject); err != nil {
		t.Fatalf("the refreshed ID token of the account that signed in (subject %q) is refused: %v", profile.Subject, err)
	}
}
