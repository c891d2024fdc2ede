package providers

import (
	"context"
	"fmt"
	"strconv"

	"github.com/oauthlogin/oauthlogin"
)

// Setting is a provider setting besides the client id and secret, such as
// an Auth0 domain or a Microsoft tenant.
type Setting struct {
	// Name is the setting's key in Settings.Values, lower-case with
	// underscores ("domain", "base_url", "team_id"). A host that reads its
	// settings from the environment can use <PROVIDER>_<NAME> upper-cased,
	// such as AUTH0_DOMAIN.
	Name string
	// Doc says what the setting is, in a short phrase.
	Doc string
	// Required settings must be set; the others have a default.
	Required bool
}

// Settings is what an Entry's constructor takes: the client configuration
// and the values of the entry's Settings by name. Boolean settings
// ("sandbox") take what strconv.ParseBool does; empty means false.
type Settings struct {
	Config
	Values map[string]string
}

// Entry is one provider of the catalogue.
type Entry struct {
	// Name is the provider's name, the Name of the providers New returns.
	Name string
	// Settings lists the settings New reads from Settings.Values.
	Settings []Setting
	// NoClientSecret is true for providers that take no client secret:
	// Apple signs its own from the settings.
	NoClientSecret bool
	// ConsoleURL is where a developer registers the app with the provider.
	// For self-hosted providers it is a pattern with the setting in braces.
	ConsoleURL string
	// New returns the provider. Constructors of OpenID Connect providers
	// fetch the discovery document with ctx. A missing or malformed
	// setting is an error wrapping oauthlogin.ErrConfig.
	New func(ctx context.Context, s Settings) (oauthlogin.Provider, error)
}

// Catalog returns every ready provider, sorted by name, freshly built on
// each call. A host can register any of them from its configuration with
// one loop:
//
//	for _, e := range providers.Catalog() {
//		id := os.Getenv(strings.ToUpper(e.Name) + "_CLIENT_ID")
//		if id == "" {
//			continue
//		}
//		s := providers.Settings{Config: providers.Config{ClientID: id,
//			ClientSecret: os.Getenv(strings.ToUpper(e.Name) + "_CLIENT_SECRET")}}
//		s.Values = map[string]string{}
//		for _, set := range e.Settings {
//			s.Values[set.Name] = os.Getenv(strings.ToUpper(e.Name + "_" + set.Name))
//		}
//		p, err := e.New(ctx, s)
//		...
//		m.Register(p)
//	}
func Catalog() []Entry {
	sandbox := Setting{Name: "sandbox", Doc: "true to use the provider's sandbox"}
	entries := []Entry{
		plain("amazon", "https://developer.amazon.com/loginwithamazon/console/site/lwa/overview.html", Amazon),
		{
			Name: "apple",
			Settings: []Setting{
				{Name: "team_id", Doc: "Apple Developer team id", Required: true},
				{Name: "key_id", Doc: "id of the Sign in with Apple key", Required: true},
				{Name: "private_key", Doc: "the key's .p8 file contents (PEM)", Required: true},
			},
			NoClientSecret: true,
			ConsoleURL:     "https://developer.apple.com/account/resources/identifiers/list/serviceId",
			New: func(ctx context.Context, s Settings) (oauthlogin.Provider, error) {
				return provider(Apple(ctx, AppleKey{TeamID: s.Values["team_id"], KeyID: s.Values["key_id"], PrivateKey: []byte(s.Values["private_key"])}, s.Config))
			},
		},
		{
			Name:       "auth0",
			Settings:   []Setting{{Name: "domain", Doc: "tenant domain, such as example.eu.auth0.com", Required: true}},
			ConsoleURL: "https://manage.auth0.com/",
			New: func(ctx context.Context, s Settings) (oauthlogin.Provider, error) {
				return provider(Auth0(ctx, s.Values["domain"], s.Config))
			},
		},
		{
			Name: "authentik",
			Settings: []Setting{
				{Name: "domain", Doc: "authentik server host, such as sso.example.com", Required: true},
				{Name: "application", Doc: "the application's slug", Required: true},
			},
			ConsoleURL: "https://{domain}/if/admin/#/core/applications",
			New: func(ctx context.Context, s Settings) (oauthlogin.Provider, error) {
				return provider(Authentik(ctx, s.Values["domain"], s.Values["application"], s.Config))
			},
		},
		discovered("autodesk", "https://aps.autodesk.com/myapps/", Autodesk),
		plain("bitbucket", "https://bitbucket.org/{workspace}/workspace/settings/api", Bitbucket),
		plain("bitly", "https://app.bitly.com/settings/api/oauth/", Bitly),
		plain("box", "https://app.box.com/developers/console", Box),
		plain("dailymotion", "https://www.dailymotion.com/partner/api-keys/", Dailymotion),
		plain("discord", "https://discord.com/developers/applications", Discord),
		plain("disqus", "https://disqus.com/api/applications/", Disqus),
		plain("dropbox", "https://www.dropbox.com/developers/apps", Dropbox),
		plain("etsy", "https://www.etsy.com/developers/your-apps", Etsy),
		plain("facebook", "https://developers.facebook.com/apps/", Facebook),
		plain("figma", "https://www.figma.com/developers/apps", Figma),
		plain("github", "https://github.com/settings/developers", GitHub),
		{
			Name:       "gitlab",
			Settings:   []Setting{{Name: "base_url", Doc: "self-managed GitLab URL; default https://gitlab.com"}},
			ConsoleURL: "https://gitlab.com/-/user_settings/applications",
			New: func(ctx context.Context, s Settings) (oauthlogin.Provider, error) {
				return provider(GitLab(ctx, s.Values["base_url"], s.Config))
			},
		},
		discovered("google", "https://console.cloud.google.com/apis/credentials", Google),
		{
			Name: "keycloak",
			Settings: []Setting{
				{Name: "base_url", Doc: "Keycloak server URL, such as https://sso.example.com", Required: true},
				{Name: "realm", Doc: "realm name", Required: true},
			},
			ConsoleURL: "{base_url}/admin/",
			New: func(ctx context.Context, s Settings) (oauthlogin.Provider, error) {
				return provider(Keycloak(ctx, s.Values["base_url"], s.Values["realm"], s.Config))
			},
		},
		discovered("linkedin", "https://www.linkedin.com/developers/apps", LinkedIn),
		{
			Name:       "microsoft",
			Settings:   []Setting{{Name: "tenant", Doc: "common (default), organizations, consumers, or a tenant id"}},
			ConsoleURL: "https://entra.microsoft.com/#view/Microsoft_AAD_RegisteredApps/ApplicationsListBlade",
			New: func(ctx context.Context, s Settings) (oauthlogin.Provider, error) {
				return provider(Microsoft(ctx, s.Values["tenant"], s.Config))
			},
		},
		plain("notion", "https://www.notion.so/profile/integrations", Notion),
		{
			Name:       "oidc",
			Settings:   []Setting{{Name: "issuer", Doc: "OpenID Connect issuer URL", Required: true}},
			ConsoleURL: "{issuer}",
			New: func(ctx context.Context, s Settings) (oauthlogin.Provider, error) {
				return provider(OIDC(ctx, "oidc", s.Values["issuer"], s.Config))
			},
		},
		{
			Name:       "okta",
			Settings:   []Setting{{Name: "domain", Doc: "Okta domain, with /oauth2/{server} for a custom authorization server", Required: true}},
			ConsoleURL: "https://{domain}/admin/apps/active",
			New: func(ctx context.Context, s Settings) (oauthlogin.Provider, error) {
				return provider(Okta(ctx, s.Values["domain"], s.Config))
			},
		},
		{
			Name:       "paypal",
			Settings:   []Setting{sandbox},
			ConsoleURL: "https://developer.paypal.com/dashboard/applications",
			New: func(_ context.Context, s Settings) (oauthlogin.Provider, error) {
				sb, err := s.flag("paypal", "sandbox")
				if err != nil {
					return nil, err
				}
				return provider(PayPal(sb, s.Config))
			},
		},
		plain("podio", "https://podio.com/settings/api", Podio),
		{
			Name: "salesforce",
			Settings: []Setting{
				{Name: "sandbox", Doc: "true for test.salesforce.com"},
				{Name: "domain", Doc: "My Domain host, such as example.my.salesforce.com"},
			},
			ConsoleURL: "https://login.salesforce.com/lightning/setup/NavigationMenus/home",
			New: func(ctx context.Context, s Settings) (oauthlogin.Provider, error) {
				sb, err := s.flag("salesforce", "sandbox")
				if err != nil {
					return nil, err
				}
				return provider(Salesforce(ctx, sb, s.Values["domain"], s.Config))
			},
		},
		discovered("slack", "https://api.slack.com/apps", Slack),
		plain("spotify", "https://developer.spotify.com/dashboard", Spotify),
		plain("stripe", "https://dashboard.stripe.com/settings/connect", Stripe),
		{
			Name:       "tradeshift",
			Settings:   []Setting{sandbox},
			ConsoleURL: "https://go.tradeshift.com/#/apps/Tradeshift.Developer",
			New: func(_ context.Context, s Settings) (oauthlogin.Provider, error) {
				sb, err := s.flag("tradeshift", "sandbox")
				if err != nil {
					return nil, err
				}
				return provider(Tradeshift(sb, s.Config))
			},
		},
		discovered("twitch", "https://dev.twitch.tv/console/apps", Twitch),
		plain("wordpress", "https://developer.wordpress.com/apps/", WordPress),
		plain("x", "https://developer.x.com/en/portal/dashboard", X),
		discovered("yahoo", "https://developer.yahoo.com/apps/", Yahoo),
		plain("yammer", "https://www.yammer.com/client_applications", Yammer),
		plain("yandex", "https://oauth.yandex.com/client/new", Yandex),
		{
			Name:       "zoho",
			Settings:   []Setting{{Name: "region", Doc: "data centre: com (default), eu, in, com.au, jp, ca (zohocloud.ca), sa, uk, com.cn"}},
			ConsoleURL: "https://api-console.zoho.com/",
			New: func(ctx context.Context, s Settings) (oauthlogin.Provider, error) {
				return provider(Zoho(ctx, s.Values["region"], s.Config))
			},
		},
		plain("zoom", "https://marketplace.zoom.us/develop/create", Zoom),
	}
	for i := range entries {
		entries[i].New = checked(entries[i])
	}
	return entries
}

// checked wraps an entry's constructor with the check that its required
// settings are set.
func checked(e Entry) func(context.Context, Settings) (oauthlogin.Provider, error) {
	ctor := e.New
	return func(ctx context.Context, s Settings) (oauthlogin.Provider, error) {
		for _, set := range e.Settings {
			if set.Required && s.Values[set.Name] == "" {
				return nil, fmt.Errorf("providers: %s: %w: the %s setting is required", e.Name, oauthlogin.ErrConfig, set.Name)
			}
		}
		return ctor(ctx, s)
	}
}

// provider returns p as an oauthlogin.Provider, or a nil one with err: a
// nil *T in an interface would not be nil.
func provider[P oauthlogin.Provider](p P, err error) (oauthlogin.Provider, error) {
	if err != nil {
		return nil, err
	}
	return p, nil
}

// Find returns the catalogue entry named name.
func Find(name string) (Entry, bool) {
	for _, e := range Catalog() {
		if e.Name == name {
			return e, true
		}
	}
	return Entry{}, false
}

// plain is the entry of a plain OAuth 2.0 provider without settings.
func plain(name, console string, ctor func(Config) (*OAuth2Provider, error)) Entry {
	return Entry{Name: name, ConsoleURL: console, New: func(_ context.Context, s Settings) (oauthlogin.Provider, error) {
		return provider(ctor(s.Config))
	}}
}

// discovered is the entry of an OpenID provider without settings.
func discovered(name, console string, ctor func(context.Context, Config) (*OIDCProvider, error)) Entry {
	return Entry{Name: name, ConsoleURL: console, New: func(ctx context.Context, s Settings) (oauthlogin.Provider, error) {
		return provider(ctor(ctx, s.Config))
	}}
}

// flag reads a boolean setting.
func (s Settings) flag(provider, name string) (bool, error) {
	v := s.Values[name]
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("providers: %s: %w: %s %q is not a boolean", provider, oauthlogin.ErrConfig, name, v)
	}
	return b, nil
}
