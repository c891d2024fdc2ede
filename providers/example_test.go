package providers_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"golang.org/x/oauth2"

	"github.com/oauthlogin/oauthlogin/oauthlogintest"
	"github.com/oauthlogin/oauthlogin/providers"
)

// Create a provider for an OpenID Connect issuer. Discovery happens once,
// here; the endpoints, the default scopes and the client authentication
// come from it.
func ExampleOIDC() {
	idp := oauthlogintest.NewServer() // stands in for https://accounts.example.com
	defer idp.Close()

	p, err := providers.OIDC(context.Background(), "example", idp.URL, providers.Config{
		ClientID:     idp.ClientID,
		ClientSecret: idp.ClientSecret,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	cfg := p.OAuth2Config()
	fmt.Println("name:", p.Name())
	fmt.Println("authorization endpoint:", strings.TrimPrefix(cfg.Endpoint.AuthURL, idp.URL))
	fmt.Println("token endpoint:", strings.TrimPrefix(cfg.Endpoint.TokenURL, idp.URL))
	fmt.Println("scopes:", cfg.Scopes)
	fmt.Println("client secret in Basic header:", cfg.Endpoint.AuthStyle == oauth2.AuthStyleInHeader)
	fmt.Println("iss in authorization responses:", p.IssuerInResponse())
	// Output:
	// name: example
	// authorization endpoint: /authorize
	// token endpoint: /token
	// scopes: [openid email profile]
	// client secret in Basic header: true
	// iss in authorization responses: true
}

// Identify turns the token response of a login into a verified profile.
// The Manager does this in its callback; here the login is driven by hand.
func ExampleOIDCProvider_Identify() {
	idp := oauthlogintest.NewServer()
	defer idp.Close()
	ctx := context.Background()

	p, err := providers.OIDC(ctx, "example", idp.URL, providers.Config{
		ClientID:     idp.ClientID,
		ClientSecret: idp.ClientSecret,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	tok, err := exampleLogin(ctx, p.OAuth2Config(), "nonce-from-the-flow")
	if err != nil {
		fmt.Println(err)
		return
	}
	profile, err := p.Identify(ctx, tok, "nonce-from-the-flow")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(profile.Subject, profile.Email, profile.EmailVerified, profile.Name)
	// Output:
	// user-1 ada@example.com true Ada Lovelace
}

// A plain OAuth 2.0 provider is data: its endpoints, default scopes and
// how to read its user document. The document here has GitHub's shape
// mapped onto the fake provider's standard claims.
func ExampleOAuth2() {
	idp := oauthlogintest.NewServer()
	defer idp.Close()
	ctx := context.Background()

	spec := providers.Spec{
		Endpoint: oauth2.Endpoint{
			AuthURL:  idp.URL + "/authorize",
			TokenURL: idp.URL + "/token",
		},
		UserInfoURL: idp.URL + "/userinfo",
		Scopes:      []string{"profile", "email"},
		Profile: providers.Fields{
			Subject:  "sub", // GitHub: "id"
			Email:    "email",
			Name:     "name",
			Username: "preferred_username", // GitHub: "login"
		},
	}
	p, err := providers.OAuth2("plain", spec, providers.Config{
		ClientID:     idp.ClientID,
		ClientSecret: idp.ClientSecret,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	tok, err := exampleLogin(ctx, p.OAuth2Config(), "")
	if err != nil {
		fmt.Println(err)
		return
	}
	profile, err := p.Identify(ctx, tok, "")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(profile.Subject, profile.Username, profile.Name)
	fmt.Println("user info requests:", idp.Hits("userinfo"))
	// Output:
	// user-1 ada Ada Lovelace
	// user info requests: 1
}

// Fields reads nested and numeric members: GitHub's numeric id keeps all
// its digits, and X nests its user under "data".
func ExampleFields_Profile() {
	github := providers.Fields{Subject: "id", Username: "login", AvatarURL: "avatar_url"}
	p, err := github.Profile([]byte(`{"login":"octocat","id":583231,"avatar_url":"https://avatars.example/u/583231"}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.Subject, p.Username)

	x := providers.Fields{Subject: "data.id", Username: "data.username"}
	p, err = x.Profile([]byte(`{"data":{"id":"2244994945","username":"XDevelopers"}}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.Subject, p.Username)
	// Output:
	// 583231 octocat
	// 2244994945 XDevelopers
}

// exampleLogin approves a login at the fake provider with PKCE and
// exchanges the code, as the Manager's begin and callback would.
func exampleLogin(ctx context.Context, cfg oauth2.Config, nonce string) (*oauth2.Token, error) {
	cfg.RedirectURL = "http://app.example/callback"
	verifier := oauth2.GenerateVerifier()
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier)}
	if nonce != "" {
		opts = append(opts, oauth2.SetAuthURLParam("nonce", nonce))
	}
	page, err := oauthlogintest.NewBrowser().Visit(ctx, cfg.AuthCodeURL("state", opts...),
		func(u *url.URL) bool { return u.Host == "app.example" })
	if err != nil {
		return nil, err
	}
	if page.Location == nil {
		return nil, fmt.Errorf("no redirect back: %s", page.Body)
	}
	return cfg.Exchange(ctx, page.Location.Query().Get("code"), oauth2.VerifierOption(verifier))
}

// The catalogue lists every ready provider with the settings it needs, so
// that a host can build any of them from its configuration with one loop.
func ExampleCatalog() {
	for _, e := range providers.Catalog() {
		if len(e.Settings) == 0 {
			continue
		}
		var names []string
		for _, s := range e.Settings {
			names = append(names, s.Name)
		}
		fmt.Println(e.Name, names)
	}
	// Output:
	// apple [team_id key_id private_key]
	// auth0 [domain]
	// authentik [domain application]
	// gitlab [base_url]
	// keycloak [base_url realm]
	// microsoft [tenant]
	// oidc [issuer]
	// okta [domain]
	// paypal [sandbox]
	// salesforce [sandbox domain]
	// tradeshift [sandbox]
	// zoho [region]
}
