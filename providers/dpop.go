package providers

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"golang.org/x/oauth2"

	"github.com/oauthlogin/oauthlogin"
)

// DPoP implements oauthlogin.DPoPProvider: Config.DPoP.
func (p *OIDCProvider) DPoP() bool { return p.dpop }

// checkDPoP refuses Config.DPoP for a provider whose discovery lists DPoP
// algorithms without ES256, the one the Manager signs proofs with (RFC
// 9449 §5.1). A provider that lists none may still accept DPoP; its
// token endpoint's token_type tells.
func checkDPoP(name string, on bool, algs []string) error {
	if on && algs != nil && !slices.Contains(algs, "ES256") {
		return fmt.Errorf("providers: %s: %w: DPoP: discovery's dpop_signing_alg_values_supported %q lacks ES256", name, oauthlogin.ErrConfig, algs)
	}
	return nil
}

// userInfo fetches the userinfo document with tok. A DPoP-bound token
// (token_type DPoP, with DPoP on) goes as "Authorization: DPoP" through
// the HTTP client of dctx (the Manager's back-channel client, which signs
// the proof with the key the token is bound to, RFC 9449 §7); any other
// token as Bearer through the provider's client.
func (p *OIDCProvider) userInfo(ctx, dctx context.Context, tok *oauth2.Token) ([]byte, error) {
	if !p.dpop || !strings.EqualFold(tok.TokenType, "DPoP") {
		return p.getJSON(ctx, p.userInfoURL, tok.AccessToken)
	}
	c, ok := dctx.Value(oauth2.HTTPClient).(*http.Client)
	if !ok || c == nil {
		return nil, fmt.Errorf("a DPoP-bound token needs the Manager's client in the context")
	}
	b := p.base
	b.client = limited(c)
	return b.getAuthJSON(ctx, p.userInfoURL, "DPoP "+tok.AccessToken)
}
