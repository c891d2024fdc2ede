package providers_test

import (
	"context"
	"errors"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/providers"
)

// TestCatalogLogin runs a whole login through the Manager for every
// catalogue provider against a fake serving the provider's documented
// responses (testdata/<fixture>.json), and checks the Profile field by
// field. The fake checks the authorization request (client, scopes, PKCE,
// extra parameters), the token request (client authentication, code,
// redirect URI, verifier) and every API request (URL, token, headers).
func TestCatalogLogin(t *testing.T) {
	apple, appleSecret := appleSettings(t)
	tests := []loginCase{
		{entry: "amazon", want: oauthlogin.Profile{Subject: "amzn1.account.K2LI23KL2LK2", Email: "mhashimoto@example.com", Name: "Mork Hashimoto"}},
		{entry: "apple", values: apple, config: noSecret, secret: appleSecret,
			want: oauthlogin.Profile{Subject: "001234.abcdef0123456789abcdef0123456789.1234", Email: "x7k2m9@privaterelay.appleid.com", EmailVerified: true, Name: "Alex Apple"}},
		{entry: "apple", fixture: "apple-unverified", values: apple, config: noSecret, secret: appleSecret,
			want: oauthlogin.Profile{Subject: "001234.abcdef0123456789abcdef0123456789.1234", Email: "alex@example.com"}},
		{entry: "auth0", values: map[string]string{"domain": "tenant.example.auth0.com"}, config: offline,
			want: oauthlogin.Profile{Subject: "auth0|5f7c8ec7c33c6c004bbafe82", Email: "janedoe@example.com", EmailVerified: true, Name: "Jane Josephine Doe", AvatarURL: "https://cdn.auth0.com/avatars/jj.png"}},
		{entry: "authentik", values: map[string]string{"domain": "sso.example.com", "application": "demo"},
			want: oauthlogin.Profile{Subject: "4f1b2c3d4e5f60718293a4b5c6d7e8f9", Email: "akadmin@example.com", EmailVerified: true, Name: "authentik Default Admin", Username: "akadmin"}},
		{entry: "autodesk", want: oauthlogin.Profile{Subject: "DM7PWQZLE3XB", Email: "john.doe@example.com", EmailVerified: true, Name: "John Doe", Username: "johndoe",
			AvatarURL: "https://images.profile.autodesk.com/DM7PWQZLE3XB/profilepictures/x120.jpg"}},
		{entry: "bitbucket", want: oauthlogin.Profile{Subject: "{0f1e2d3c-4b5a-4968-8778-695a4b3c2d1e}", Email: "bea@example.com", EmailVerified: true, Name: "Bea Bucketeer", Username: "bbucketeer",
			AvatarURL: "https://avatar-management.example/fixture/avatar.png"}},
		{entry: "bitly", want: oauthlogin.Profile{Subject: "bitlyapidemo", Email: "demo@example.com", EmailVerified: true, Name: "Bitly API Demo", Username: "bitlyapidemo"}},
		{entry: "box", want: oauthlogin.Profile{Subject: "20000001", Email: "boxuser@example.com", Name: "Bo Xavier", AvatarURL: "https://app.box.com/api/avatar/large/20000001"}},
		{entry: "dailymotion", want: oauthlogin.Profile{Subject: "x1fz4ii", Email: "dm@example.com", Name: "DM Demo", Username: "dmdemo", AvatarURL: "https://s2.dmcdn.net/u/fixture/240x240-abc.jpg"}},
		{entry: "discord", want: oauthlogin.Profile{Subject: "80351110224678912", Email: "nelly@example.com", EmailVerified: true, Name: "Nelly", Username: "nelly",
			AvatarURL: "https://cdn.discordapp.com/avatars/80351110224678912/8342729096ea3675442027381ff50dfe.png"}},
		{entry: "disqus", want: oauthlogin.Profile{Subject: "28901234", Email: "disqus@example.com", Name: "Disqus User", Username: "disqususer", AvatarURL: "https://disqus.com/api/users/avatars/disqususer.jpg"}},
		{entry: "dropbox", want: oauthlogin.Profile{Subject: "dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc", Email: "franz@example.com", EmailVerified: true, Name: "Franz Ferdinand (Personal)",
			AvatarURL: "https://dl-web.dropbox.com/account_photo/get/dbaphid%3AAAHWGmIXV3sUuOmBfTz0wPsiqHUpBWvv3ZA?vers=1556069330102&size=128x128"}},
		{entry: "etsy", want: oauthlogin.Profile{Subject: "12345678", Email: "maker@example.com", Name: "Ada Maker", AvatarURL: "https://i.etsystatic.com/iusa/fixture/75x75.jpg"}},
		{entry: "facebook", want: oauthlogin.Profile{Subject: "10158123456789012", Email: "pat@example.com", Name: "Pat Example",
			AvatarURL: "https://platform-lookaside.fbsbx.com/platform/profilepic/?asid=10158123456789012"}},
		{entry: "figma", want: oauthlogin.Profile{Subject: "1234567890", Email: "designer@example.com", Name: "designer", Username: "designer", AvatarURL: "https://s3-alpha.figma.com/profile/fixture"}},
		{entry: "github", want: oauthlogin.Profile{Subject: "583231", Email: "octocat@example.com", EmailVerified: true, Name: "The Octocat", Username: "octocat",
			AvatarURL: "https://avatars.githubusercontent.com/u/583231?v=4"}},
		{entry: "gitlab", values: map[string]string{"base_url": "https://gitlab.example.com/"},
			want: oauthlogin.Profile{Subject: "1234", Email: "gil@example.com", EmailVerified: true, Name: "Gil Lab", Username: "gillab",
				AvatarURL: "https://gitlab.example.com/uploads/-/system/user/avatar/1234/avatar.png"}},
		{entry: "google", want: oauthlogin.Profile{Subject: "110169484474386276334", Email: "gina@example.com", EmailVerified: true, Name: "Gina Google",
			AvatarURL: "https://lh3.googleusercontent.com/a/fixture=s96-c"}},
		{entry: "google", fixture: "google-offline", config: offline,
			want: oauthlogin.Profile{Subject: "110169484474386276334", Email: "gina@example.com", EmailVerified: true, Name: "Gina Google",
				AvatarURL: "https://lh3.googleusercontent.com/a/fixture=s96-c"}},
		{entry: "keycloak", values: map[string]string{"base_url": "https://sso.example.com", "realm": "acme"},
			want: oauthlogin.Profile{Subject: "f1b2c3d4-0a1b-4c2d-9e3f-123456789abc", Email: "kim@example.com", Name: "Kim Cloak", Username: "kim"}},
		{entry: "linkedin", want: oauthlogin.Profile{Subject: "782bbtaQ", Email: "doe@example.com", EmailVerified: true, Name: "John Doe", AvatarURL: "https://media.licdn.com/dms/image/fixture"}},
		{entry: "microsoft", want: msProfile(false)},
		{entry: "microsoft", fixture: "microsoft-edov", want: msProfile(true)},
		{entry: "microsoft", fixture: "microsoft-tenant", values: map[string]string{"tenant": "72f988bf-86f1-41af-91ab-2d7cd011db47"}, want: msProfile(false)},
		{entry: "notion", want: oauthlogin.Profile{Subject: "c1d1a02d-7d5e-4b21-9e4f-2b1e7c0f6a90", Email: "nia@example.com", Name: "Nia Notion",
			AvatarURL: "https://s3-us-west-2.amazonaws.com/public.notion-static.com/fixture.png"}},
		{entry: "oidc", values: map[string]string{"issuer": "https://idp.example.com"},
			want: oauthlogin.Profile{Subject: "248289761001", Email: "janedoe@example.com", EmailVerified: true, Name: "Jane Doe", Username: "j.doe", AvatarURL: "https://idp.example.com/janedoe/me.jpg"}},
		{entry: "okta", values: map[string]string{"domain": "example.okta.com/oauth2/default"},
			want: oauthlogin.Profile{Subject: "00uid4BxXw6I6TV4m0g3", Email: "john.doe@example.com", EmailVerified: true, Name: "John Doe", Username: "john.doe@example.com"}},
		{entry: "paypal", want: oauthlogin.Profile{Subject: "https://www.paypal.com/webapps/auth/identity/user/mWq6_1sU85v5EG9yHdPxJRrhGHrnMJ-1PQKtX6pcsmA", Email: "user1@example.com", EmailVerified: true, Name: "identity test"}},
		{entry: "paypal", fixture: "paypal-sandbox", values: map[string]string{"sandbox": "true"},
			want: oauthlogin.Profile{Subject: "https://www.paypal.com/webapps/auth/identity/user/sandbox-fixture", Email: "buyer@example.com", Name: "Sandbox Buyer"}},
		{entry: "podio", want: oauthlogin.Profile{Subject: "123456", Email: "podio@example.com", Name: "Pia Podio", AvatarURL: "https://d2cmuesa4snpwn.cloudfront.net/public/fixture"}},
		{entry: "salesforce", want: sfProfile("login.salesforce.com")},
		{entry: "salesforce", fixture: "salesforce-sandbox", values: map[string]string{"sandbox": "1"}, want: sfProfile("test.salesforce.com")},
		{entry: "salesforce", fixture: "salesforce-domain", values: map[string]string{"domain": "acme.my.salesforce.com"}, want: sfProfile("acme.my.salesforce.com")},
		{entry: "slack", want: oauthlogin.Profile{Subject: "U0R7JM", Email: "krane@example.com", EmailVerified: true, Name: "krane", AvatarURL: "https://secure.gravatar.com/avatar/fixture.jpg"}},
		{entry: "spotify", want: oauthlogin.Profile{Subject: "fixture-account-7f3c2a", Email: "sam@example.com", Name: "Sam Spotify", Username: "smedjan", AvatarURL: "https://i.scdn.co/image/fixture-640"}},
		{entry: "stripe", want: oauthlogin.Profile{Subject: "acct_1032D82eZvKYlo2C", Email: "owner@example.com", Name: "Example Shop"}},
		{entry: "tradeshift", want: tsProfile()},
		{entry: "tradeshift", fixture: "tradeshift-sandbox", values: map[string]string{"sandbox": "true"}, want: tsProfile()},
		{entry: "twitch", want: oauthlogin.Profile{Subject: "713936733", Email: "tw@example.com", EmailVerified: true, Username: "twitchdev",
			AvatarURL: "https://static-cdn.jtvnw.net/user-default-pictures-uv/fixture-300x300.png"}},
		{entry: "wordpress", want: oauthlogin.Profile{Subject: "12345678", Email: "wendy@example.com", EmailVerified: true, Name: "Wendy Press", Username: "wendypress",
			AvatarURL: "https://0.gravatar.com/avatar/fixture?s=96"}},
		{entry: "x", want: xProfile("", false)},
		{entry: "x", fixture: "x-email", config: func(c *providers.Config) {
			c.Scopes = []string{"tweet.read", "users.read", "users.email"}
			c.OfflineAccess = true
		},
			want: xProfile("devs@example.com", true)},
		{entry: "yahoo", want: oauthlogin.Profile{Subject: "FSVIDUW3D7FSVIDUW3D72F2F", Email: "janedoe@example.com", EmailVerified: true, Name: "Jane Doe", Username: "j.doe",
			AvatarURL: "https://s.yimg.com/ag/images/fixture_192sq.jpg"}},
		{entry: "yammer", want: oauthlogin.Profile{Subject: "1488374", Email: "yan@example.com", Name: "Yan Yammer", Username: "yanyammer",
			AvatarURL: "https://mug0.assets-yammer.com/mugshot/images/48x48/fixture"}},
		{entry: "yandex", want: oauthlogin.Profile{Subject: "1000034426", Email: "test@example.com", Name: "Ivan Ivanov", Username: "ivan",
			AvatarURL: "https://avatars.yandex.net/get-yapic/131652443/islands-200"}},
		{entry: "zoho", values: map[string]string{"region": "eu"}, config: offline,
			want: oauthlogin.Profile{Subject: "20012345678", Email: "zoe@example.com", EmailVerified: true, Name: "Zoe Zoho", AvatarURL: "https://contacts.zoho.eu/file?ID=20012345678&fs=thumb"}},
		{entry: "zoom", want: oauthlogin.Profile{Subject: "KDcuGIm1QgePTO8WbOqwIQ", Email: "zed@example.com", Name: "Zed Zoom",
			AvatarURL: "https://lh4.googleusercontent.com/fixture/photo.jpg"}},
	}
	covered := map[string]bool{}
	for _, tt := range tests {
		name := tt.fixture
		if name == "" {
			name = tt.entry
		}
		covered[tt.entry] = true
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, a := runLogin(t, tt)
			checkProfile(t, got, tt.want)
			checkRevoke(t, a)
		})
	}
	for _, e := range providers.Catalog() {
		if !covered[e.Name] {
			t.Errorf("catalogue entry %q has no login test", e.Name)
		}
	}
}

// checkRevoke revokes the login's access token: at the documented
// endpoint when the fixture names one, and otherwise not at all, with an
// error wrapping errors.ErrUnsupported (so providers/README.md's
// revocation column is what the declarations do).
func checkRevoke(t *testing.T, a *app) {
	t.Helper()
	r, ok := a.provider.(oauthlogin.Revoker)
	if !ok {
		t.Fatalf("%T is not a Revoker", a.provider)
	}
	err := r.Revoke(t.Context(), a.fake.fx.AccessToken, "access_token")
	want := a.fake.revokeURL()
	switch {
	case want == "" && !errors.Is(err, errors.ErrUnsupported):
		t.Errorf("Revoke without a documented endpoint = %v, want errors.ErrUnsupported", err)
	case want != "" && err != nil:
		t.Errorf("Revoke: %v", err)
	case want != "" && a.fake.hit(want) != 1:
		t.Errorf("revocation endpoint %s hit %d times, want 1", want, a.fake.hit(want))
	}
}

func noSecret(c *providers.Config) { c.ClientSecret = "" }
func offline(c *providers.Config)  { c.OfflineAccess = true }

func msProfile(verified bool) oauthlogin.Profile {
	return oauthlogin.Profile{
		Subject:       "72f988bf-86f1-41af-91ab-2d7cd011db47:00000000-0000-0000-66f3-3332eca7ea81",
		Email:         "megan@example.com",
		EmailVerified: verified,
		Name:          "Megan Bowen",
		Username:      "megan@example.com",
	}
}

func sfProfile(host string) oauthlogin.Profile {
	return oauthlogin.Profile{
		Subject: "https://" + host + "/id/00Dx0000000BV7z/005x00000012Q9P", Email: "sam@example.com", EmailVerified: true,
		Name: "Sam Force", Username: "sam@example.com", AvatarURL: "https://example.file.force.com/profilephoto/005/F",
	}
}

func tsProfile() oauthlogin.Profile {
	return oauthlogin.Profile{Subject: "a1b2c3d4-0000-4000-8000-000000000001", Email: "buyer@example.com", Name: "Tara Trade"}
}

func xProfile(email string, verified bool) oauthlogin.Profile {
	return oauthlogin.Profile{Subject: "2244994945", Email: email, EmailVerified: verified, Name: "X Developers", Username: "XDevelopers",
		AvatarURL: "https://pbs.twimg.com/profile_images/fixture_normal.jpg"}
}

// TestCatalogEntries checks the catalogue's own facts: sorted unique
// names that constructors give their providers, required settings
// enforced, and errors that wrap ErrConfig without a nil provider.
func TestCatalogEntries(t *testing.T) {
	entries := providers.Catalog()
	if len(entries) < 39 {
		t.Errorf("%d entries, want at least 39", len(entries))
	}
	names := make([]string, len(entries))
	valid := regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
	for i, e := range entries {
		names[i] = e.Name
		if !valid.MatchString(e.Name) || e.New == nil || e.ConsoleURL == "" {
			t.Errorf("entry %+v: bad name, no constructor or no console URL", e)
		}
		for _, s := range e.Settings {
			if !valid.MatchString(s.Name) || s.Doc == "" {
				t.Errorf("%s: setting %+v", e.Name, s)
			}
		}
	}
	if !slices.IsSorted(names) || len(slices.Compact(slices.Clone(names))) != len(names) {
		t.Errorf("names not sorted and unique: %v", names)
	}
	// Catalog returns fresh values: changing one does not change the next.
	entries[0].Name = "changed"
	if providers.Catalog()[0].Name == "changed" {
		t.Error("Catalog shares its entries between calls")
	}
	if _, ok := providers.Find("github"); !ok {
		t.Error("Find(github) found nothing")
	}
	if _, ok := providers.Find("nope"); ok {
		t.Error("Find(nope) found an entry")
	}

	ctx := context.Background()
	for _, e := range providers.Catalog() {
		t.Run(e.Name, func(t *testing.T) {
			// No client id: a configuration error, and no provider. OpenID
			// constructors fail before any request when a required
			// setting is missing; the others need no network either.
			p, err := e.New(ctx, providers.Settings{})
			if err == nil || p != nil {
				t.Fatalf("New without a client id = %v, %v; want an error", p, err)
			}
			if !errors.Is(err, oauthlogin.ErrConfig) && !strings.Contains(err.Error(), "discovery") {
				t.Errorf("New without settings: %v, want ErrConfig", err)
			}
			for _, s := range e.Settings {
				if !s.Required {
					continue
				}
				others := map[string]string{}
				for _, o := range e.Settings {
					if o.Name != s.Name {
						others[o.Name] = "x"
					}
				}
				_, err := e.New(ctx, providers.Settings{Config: providers.Config{ClientID: "id"}, Values: others})
				if !errors.Is(err, oauthlogin.ErrConfig) || !strings.Contains(err.Error(), s.Name) {
					t.Errorf("New without %s: %v, want ErrConfig naming it", s.Name, err)
				}
			}
		})
	}
}

// TestCatalogBadSettings checks settings that are set but malformed.
func TestCatalogBadSettings(t *testing.T) {
	ctx := context.Background()
	cfg := providers.Config{ClientID: "id", ClientSecret: "secret"}
	tests := []struct {
		entry  string
		values map[string]string
	}{
		{"paypal", map[string]string{"sandbox": "maybe"}},
		{"tradeshift", map[string]string{"sandbox": "yes please"}},
		{"salesforce", map[string]string{"sandbox": "2"}},
		{"salesforce", map[string]string{"domain": "https://acme.my.salesforce.com"}},
		{"auth0", map[string]string{"domain": "tenant.auth0.com/evil"}},
		{"authentik", map[string]string{"domain": "sso.example.com", "application": "a/b"}},
		{"keycloak", map[string]string{"base_url": "sso.example.com", "realm": "acme"}},
		{"gitlab", map[string]string{"base_url": "ftp://gitlab.example.com"}},
		{"okta", map[string]string{"domain": "https://example.okta.com"}},
		{"microsoft", map[string]string{"tenant": "../common"}},
		{"zoho", map[string]string{"region": "mars"}},
		{"apple", map[string]string{"team_id": "T", "key_id": "K", "private_key": "not a key"}},
	}
	for _, tt := range tests {
		e, _ := providers.Find(tt.entry)
		p, err := e.New(ctx, providers.Settings{Config: cfg, Values: tt.values})
		if !errors.Is(err, oauthlogin.ErrConfig) || p != nil {
			t.Errorf("%s %v: %v, %v; want ErrConfig", tt.entry, tt.values, p, err)
		}
	}
}

// TestREADMETable checks that providers/README.md's catalogue table has
// one row for every catalogue entry, and no other.
func TestREADMETable(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, catalogue, _ := strings.Cut(string(b), "\n## Catalogue\n")
	catalogue, _, _ = strings.Cut(catalogue, "\n## ")
	row := regexp.MustCompile("(?m)^\\| `([a-z0-9_-]+)` \\|")
	var inDoc []string
	for _, m := range row.FindAllStringSubmatch(catalogue, -1) {
		inDoc = append(inDoc, m[1])
	}
	var want []string
	for _, e := range providers.Catalog() {
		want = append(want, e.Name)
	}
	if !slices.Equal(inDoc, want) {
		t.Errorf("README rows %v\nwant catalogue %v", inDoc, want)
	}
}
