package providers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/oauthlogin/oauthlogin"
)

// Microsoft identity platform facts.
const (
	microsoftLogin = "https://login.microsoftonline.com"
	// microsoftConsumers is the tenant of personal Microsoft accounts.
	microsoftConsumers = "9188040d-6c67-4c5b-b112-36a304b66dad"
	// microsoftAnyTenant is the issuer that multi-tenant discovery
	// documents announce: each token names its own tenant instead.
	microsoftAnyTenant = microsoftLogin + "/{tenantid}/v2.0"
)

// microsoftIssuer is the issuer URL of tenant (an id, a domain, or common,
// organizations or consumers): where its discovery document is, and for a
// tenant id the iss of its tokens.
func microsoftIssuer(tenant string) string { return microsoftLogin + "/" + tenant + "/v2.0" }

// microsoftTenant returns the tenant id of a tenant's issuer, and whether
// iss is one.
func microsoftTenant(iss string) (string, bool) {
	id, ok := strings.CutPrefix(iss, microsoftLogin+"/")
	id, ok2 := strings.CutSuffix(id, "/v2.0")
	return id, ok && ok2 && isGUID(id)
}

// isGUID reports whether s is a tenant id: a GUID in its 8-4-4-4-12 hex
// form.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// Microsoft returns the Microsoft identity platform (Entra ID, v2.0
// endpoints) for tenant: "common" (work, school and personal accounts; the
// default when empty), "organizations" (work and school only),
// "consumers" (personal only), or one tenant's id or verified domain.
// Default scopes: openid, email, profile; Config.OfflineAccess adds
// offline_access.
//
// Multi-tenant discovery documents name no issuer
// ("https://login.microsoftonline.com/{tenantid}/v2.0"), so the ID token's
// iss is not skipped but checked against the token's own tid: it must be
// https://login.microsoftonline.com/{tid}/v2.0, and tid must fit tenant
// (the tenant itself; not the personal-account tenant for
// "organizations"; only it for "consumers").
//
// Profile.Subject is "{tid}:{oid}": oid is the user's object id, the same
// for every app, unique only within its tenant, hence the tenant id in
// front (Microsoft's advice for multi-tenant apps; sub, by contrast, is
// different for every app). Both claims are required. The address, the
// email claim, is unverified unless the optional xms_edov claim (e-mail
// domain owner verified; configure it in the app's token configuration)
// is true. The profile comes from the ID token alone: Microsoft's userinfo
// endpoint has nothing it lacks.
func Microsoft(ctx context.Context, tenant string, cfg Config) (*OIDCProvider, error) {
	if tenant == "" {
		tenant = "common"
	}
	if err := needHost("microsoft", "tenant", tenant); err != nil {
		return nil, err
	}
	// pinned is the one tenant id tokens may come from, once known.
	var pinned string
	accept := func(iss string) bool {
		switch {
		case tenant == "common" || tenant == "organizations":
			return iss == microsoftAnyTenant
		case tenant == "consumers":
			return iss == microsoftAnyTenant || iss == microsoftIssuer(microsoftConsumers)
		case isGUID(tenant):
			pinned = tenant
			return iss == microsoftIssuer(tenant)
		}
		// A domain name: its discovery document names its tenant id.
		id, ok := microsoftTenant(iss)
		if ok {
			pinned = id
		}
		return ok
	}
	discover := func(ctx context.Context, client *http.Client) (*oidc.Provider, discovery, error) {
		return discoverMicrosoft(ctx, client, microsoftIssuer(tenant)+"/.well-known/openid-configuration", accept)
	}
	// fits reports why tid may not sign in here, or nil.
	fits := func(tid string) error {
		switch {
		case pinned != "" && tid != pinned:
			return errors.New("microsoft: the token is from another tenant")
		case tenant == "organizations" && tid == microsoftConsumers:
			return errors.New("microsoft: a personal account, and the tenant is organizations")
		case tenant == "consumers" && tid != microsoftConsumers:
			return errors.New("microsoft: a work or school account, and the tenant is consumers")
		}
		return nil
	}
	checkIssuer := func(iss string, raw []byte) error {
		var c struct {
			Tid string `json:"tid"`
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			return err
		}
		switch {
		case !isGUID(c.Tid):
			return errors.New("microsoft: the ID token has no tenant id (tid)")
		case iss != microsoftIssuer(c.Tid):
			return fmt.Errorf("microsoft: issuer %q is not the token's tenant's", iss)
		}
		return fits(c.Tid)
	}
	// matchIssuer accepts, in an authorization response (RFC 9207), the
	// issuer of any tenant the ID token may then come from. Microsoft does
	// not send iss today; if it starts, logins go on.
	matchIssuer := func(iss string) bool {
		tid, ok := microsoftTenant(iss)
		return ok && fits(tid) == nil
	}
	return newOIDC(ctx, "microsoft", microsoftAnyTenant, cfg, oidcOptions{
		// Entra's certificate credentials name the token endpoint as aud,
		// for every tenant setting (a single tenant's issuer has no
		// template, which would otherwise make the issuer the default).
		audience:      AudienceTokenEndpoint,
		offlineScopes: []string{"offline_access"},
		noUserInfo:    true,
		claims:        ProfileFunc(microsoftProfile),
		checkIssuer:   checkIssuer,
		matchIssuer:   matchIssuer,
		discovery:     discover,
	})
}

// microsoftProfile maps Microsoft ID token claims.
func microsoftProfile(raw []byte) (*oauthlogin.Profile, error) {
	var c struct {
		Oid               string `json:"oid"`
		Tid               string `json:"tid"`
		Email             string `json:"email"`
		EdOV              any    `json:"xms_edov"`
		Name              string `json:"name"`
		PreferredUsername string `json:"preferred_username"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, err
	}
	if c.Oid == "" || c.Tid == "" {
		return nil, errors.New("microsoft: the ID token has no oid or tid (the profile scope gives oid)")
	}
	return &oauthlogin.Profile{
		Subject:       c.Tid + ":" + c.Oid,
		Email:         c.Email,
		EmailVerified: c.Email != "" && c.EdOV == true,
		Name:          c.Name,
		Username:      c.PreferredUsername,
		Raw:           json.RawMessage(raw),
	}, nil
}

// discoverMicrosoft reads a discovery document whose issuer accept
// approves, and builds the go-oidc provider from it.
func discoverMicrosoft(ctx context.Context, client *http.Client, docURL string, accept func(string) bool) (*oidc.Provider, discovery, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, docURL, nil)
	if err != nil {
		return nil, discovery{}, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, discovery{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, discovery{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, discovery{}, fmt.Errorf("status %d", resp.StatusCode)
	}
	var doc struct {
		discovery
		AuthURL     string   `json:"authorization_endpoint"`
		TokenURL    string   `json:"token_endpoint"`
		DeviceURL   string   `json:"device_authorization_endpoint"`
		UserInfoURL string   `json:"userinfo_endpoint"`
		JWKSURL     string   `json:"jwks_uri"`
		Algorithms  []string `json:"id_token_signing_alg_values_supported"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, discovery{}, err
	}
	if !accept(doc.Issuer) {
		return nil, discovery{}, fmt.Errorf("unexpected issuer %q in %s", doc.Issuer, docURL)
	}
	if doc.AuthURL == "" || doc.TokenURL == "" || doc.JWKSURL == "" {
		return nil, discovery{}, errors.New("the document lacks an authorization, token or JWKS endpoint")
	}
	pc := oidc.ProviderConfig{
		IssuerURL:     doc.Issuer,
		AuthURL:       doc.AuthURL,
		TokenURL:      doc.TokenURL,
		DeviceAuthURL: doc.DeviceURL,
		UserInfoURL:   doc.UserInfoURL,
		JWKSURL:       doc.JWKSURL,
		Algorithms:    doc.Algorithms,
	}
	doc.discovery.JWKSURI = doc.JWKSURL // the outer field took the member
	return pc.NewProvider(ctx), doc.discovery, nil
}
