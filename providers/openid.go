package providers

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/oauthlogin/oauthlogin"
)

// This file declares the OpenID Connect providers that are data only: an
// issuer (everything else comes from its discovery document), default
// scopes, and what Config.OfflineAccess adds. Each is verified like OIDC
// does: discovery once at construction, full ID token validation, and a
// userinfo document whose sub must match.

// Auth0 returns an Auth0 tenant, domain being its domain or custom domain
// ("example.eu.auth0.com"). Auth0's issuer ends with a slash, as Auth0's
// own OIDC client library requires. Config.OfflineAccess adds the
// offline_access scope, which Auth0's "Get Refresh Tokens" page asks for.
// Client assertions (Config.ClientAuth) name the tenant's URL, its issuer,
// as aud, as Auth0's "Authenticate with Private Key JWT" asks.
func Auth0(ctx context.Context, domain string, cfg Config) (*OIDCProvider, error) {
	if err := needHost("auth0", "domain", domain); err != nil {
		return nil, err
	}
	return newOIDC(ctx, "auth0", "https://"+domain+"/", cfg, oidcOptions{offlineScopes: []string{"offline_access"}, audience: AudienceIssuer})
}

// Authentik returns an authentik application: domain is the authentik
// server's host and application the application's slug, since authentik's
// issuer is per application (https://{domain}/application/o/{slug}/).
// Config.OfflineAccess adds the offline_access scope, without which
// authentik issues no refresh token.
func Authentik(ctx context.Context, domain, application string, cfg Config) (*OIDCProvider, error) {
	if err := needHost("authentik", "domain", domain); err != nil {
		return nil, err
	}
	if application == "" || strings.Contains(application, "/") {
		return nil, fmt.Errorf("providers: authentik: %w: the application slug is empty or has a slash", oauthlogin.ErrConfig)
	}
	return newOIDC(ctx, "authentik", "https://"+domain+"/application/o/"+application+"/", cfg,
		oidcOptions{offlineScopes: []string{"offline_access"}})
}

// Autodesk returns Autodesk Platform Services (authentication v2), which
// is an OpenID provider with discovery at its issuer,
// https://developer.api.autodesk.com. Default scopes: openid,
// user-profile:read. Autodesk's API reference says its userinfo endpoint
// needs the openid scope, and that a nonce is mandatory with it, so this
// provider is OpenID Connect rather than plain OAuth 2: the ID token is
// verified and the userinfo endpoint is the one discovery names. The
// address is verified when userinfo's email_verified says so. Autodesk
// issues a refresh token with every code exchange (valid 15 days) and
// names its revocation endpoint revoke_endpoint in discovery, which is read
// too (Autodesk's OpenAPI description of authentication v2,
// authentication/authentication.yaml in its aps-sdk-openapi repository).
func Autodesk(ctx context.Context, cfg Config) (*OIDCProvider, error) {
	return newOIDC(ctx, "autodesk", "https://developer.api.autodesk.com", cfg, oidcOptions{
		scopes: []string{"openid", "user-profile:read"},
	})
}

// GitLab returns GitLab.com, or a self-managed GitLab when baseURL is its
// URL ("https://gitlab.example.com"); empty means https://gitlab.com.
// GitLab always issues refresh tokens.
func GitLab(ctx context.Context, baseURL string, cfg Config) (*OIDCProvider, error) {
	if baseURL == "" {
		baseURL = "https://gitlab.com"
	}
	issuer, err := baseIssuer("gitlab", baseURL)
	if err != nil {
		return nil, err
	}
	return newOIDC(ctx, "gitlab", issuer, cfg, oidcOptions{})
}

// Keycloak returns a Keycloak realm: baseURL is the server's URL
// ("https://sso.example.com", with the /auth path of old versions if it
// has one) and realm the realm's name. Keycloak always issues refresh
// tokens. Client assertions (Config.ClientAuth) name the realm's issuer
// as aud, which Keycloak accepts beside its token endpoint and which the
// current OpenID Connect Core §9 asks for.
func Keycloak(ctx context.Context, baseURL, realm string, cfg Config) (*OIDCProvider, error) {
	issuer, err := baseIssuer("keycloak", baseURL)
	if err != nil {
		return nil, err
	}
	if realm == "" {
		return nil, fmt.Errorf("providers: keycloak: %w: the realm is empty", oauthlogin.ErrConfig)
	}
	return newOIDC(ctx, "keycloak", issuer+"/realms/"+url.PathEscape(realm), cfg, oidcOptions{audience: AudienceIssuer})
}

// LinkedIn returns Sign In with LinkedIn using OpenID Connect (not the
// retired r_liteprofile API). Default scopes: openid, profile, email.
// LinkedIn's discovery lists only client_secret_post, which is used.
func LinkedIn(ctx context.Context, cfg Config) (*OIDCProvider, error) {
	return newOIDC(ctx, "linkedin", "https://www.linkedin.com/oauth", cfg, oidcOptions{})
}

// Okta returns an Okta authorization server: domain is the Okta domain
// ("example.okta.com"), followed by the custom authorization server's path
// when there is one ("example.okta.com/oauth2/default").
// Config.OfflineAccess adds the offline_access scope. Client assertions
// (Config.ClientAuth) name the URL of the endpoint they are sent to as
// aud, as Okta's "Build a JWT for client authentication" asks.
func Okta(ctx context.Context, domain string, cfg Config) (*OIDCProvider, error) {
	host, _, _ := strings.Cut(domain, "/")
	if err := needHost("okta", "domain", host); err != nil {
		return nil, err
	}
	return newOIDC(ctx, "okta", "https://"+strings.TrimSuffix(domain, "/"), cfg,
		oidcOptions{offlineScopes: []string{"offline_access"}, audience: AudienceEndpoint})
}

// Salesforce returns Salesforce: login.salesforce.com, test.salesforce.com
// when sandbox is true, or the org's My Domain when domain is set
// ("example.my.salesforce.com"). Config.OfflineAccess adds the
// refresh_token scope, without which Salesforce issues none.
func Salesforce(ctx context.Context, sandbox bool, domain string, cfg Config) (*OIDCProvider, error) {
	issuer := "https://login.salesforce.com"
	switch {
	case domain != "":
		if err := needHost("salesforce", "domain", domain); err != nil {
			return nil, err
		}
		issuer = "https://" + domain
	case sandbox:
		issuer = "https://test.salesforce.com"
	}
	return newOIDC(ctx, "salesforce", issuer, cfg, oidcOptions{offlineScopes: []string{"refresh_token"}})
}

// Slack returns Sign in with Slack, which is OpenID Connect (not the
// legacy identity.* scopes). Default scopes: openid, profile, email.
func Slack(ctx context.Context, cfg Config) (*OIDCProvider, error) {
	return newOIDC(ctx, "slack", "https://slack.com", cfg, oidcOptions{})
}

// Twitch returns Twitch with OpenID Connect. Default scopes: openid,
// user:read:email. Twitch puts the address and the other profile claims in
// the ID token and userinfo only when the authorization's claims parameter
// asks for them, so it does. Twitch always issues refresh tokens.
func Twitch(ctx context.Context, cfg Config) (*OIDCProvider, error) {
	const want = `{"email":null,"email_verified":null,"picture":null,"preferred_username":null}`
	return newOIDC(ctx, "twitch", "https://id.twitch.tv/oauth2", cfg, oidcOptions{
		scopes:     []string{"openid", "user:read:email"},
		authParams: url.Values{"claims": {`{"id_token":` + want + `,"userinfo":` + want + `}`}},
	})
}

// Yahoo returns Yahoo with OpenID Connect. Default scopes: openid, email,
// profile. Yahoo always issues refresh tokens. Its ID tokens are signed
// with ES256 ("Decoding the ID Token" in Yahoo's OpenID Connect guide),
// and its discovery lists RS256 too: both are accepted.
func Yahoo(ctx context.Context, cfg Config) (*OIDCProvider, error) {
	return newOIDC(ctx, "yahoo", "https://api.login.yahoo.com", cfg, oidcOptions{algs: []string{"ES256", "RS256"}})
}

// zohoAccounts maps a Zoho data centre to its accounts server, as listed
// at https://www.zoho.com/accounts/protocol/oauth/multi-dc.html (China's,
// accounts.zoho.com.cn, is in Zoho CRM's multi-DC list). Canada's is on
// zohocloud.ca, not zoho.ca.
var zohoAccounts = map[string]string{
	"com":    "https://accounts.zoho.com",
	"eu":     "https://accounts.zoho.eu",
	"in":     "https://accounts.zoho.in",
	"com.au": "https://accounts.zoho.com.au",
	"jp":     "https://accounts.zoho.jp",
	"ca":     "https://accounts.zohocloud.ca",
	"sa":     "https://accounts.zoho.sa",
	"uk":     "https://accounts.zoho.uk",
	"com.cn": "https://accounts.zoho.com.cn",
}

// Zoho returns Zoho Accounts in a data centre: region is "com", "eu",
// "in", "com.au", "jp", "ca" (accounts.zohocloud.ca), "sa", "uk" or
// "com.cn"; empty means "com". Each data centre has its own accounts
// server, and so its own issuer and discovery document.
// Config.OfflineAccess asks for access_type=offline with prompt=consent.
func Zoho(ctx context.Context, region string, cfg Config) (*OIDCProvider, error) {
	if region == "" {
		region = "com"
	}
	issuer, ok := zohoAccounts[region]
	if !ok {
		return nil, fmt.Errorf("providers: zoho: %w: unknown region %q", oauthlogin.ErrConfig, region)
	}
	return newOIDC(ctx, "zoho", issuer, cfg, oidcOptions{
		offlineParams: url.Values{"access_type": {"offline"}, "prompt": {"consent"}},
	})
}

// needHost checks that a host setting is a bare host name.
func needHost(provider, setting, host string) error {
	if host == "" || strings.ContainsAny(host, "/:?#@ ") {
		return fmt.Errorf("providers: %s: %w: %s %q must be a host name such as example.com", provider, oauthlogin.ErrConfig, setting, host)
	}
	return nil
}

// baseIssuer checks a base URL setting and returns it without a trailing
// slash.
func baseIssuer(provider, baseURL string) (string, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("providers: %s: %w: base URL %q must be an absolute http(s) URL", provider, oauthlogin.ErrConfig, baseURL)
	}
	return strings.TrimSuffix(baseURL, "/"), nil
}
