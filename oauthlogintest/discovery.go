package oauthlogintest

import "net/http"

// serveDiscovery answers with the OpenID Provider Metadata
// (OpenID Connect Discovery 1.0 §3, RFC 8414).
func (s *Server) serveDiscovery(w http.ResponseWriter, r *http.Request) {
	b := s.currentBehavior()
	issuer := s.issuer
	if b.DiscoveryIssuer != "" {
		issuer = b.DiscoveryIssuer
	}
	doc := map[string]any{
		"issuer":                                     issuer,
		"authorization_endpoint":                     s.issuer + "/authorize",
		"token_endpoint":                             s.issuer + "/token",
		"userinfo_endpoint":                          s.issuer + "/userinfo",
		"jwks_uri":                                   s.issuer + "/jwks",
		"revocation_endpoint":                        s.issuer + "/revoke",
		"device_authorization_endpoint":              s.issuer + "/device",
		"response_types_supported":                   []string{"code"},
		"subject_types_supported":                    []string{"public"},
		"id_token_signing_alg_values_supported":      []string{"RS256"},
		"code_challenge_methods_supported":           []string{"S256"},
		"token_endpoint_auth_methods_supported":      []string{"client_secret_basic", "client_secret_post"},
		"revocation_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		"grant_types_supported":                      []string{"authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code", "client_credentials"},
		"scopes_supported":                           []string{"openid", "email", "profile", "offline_access"},
		"claims_supported": []string{
			"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "azp", "at_hash", "acr",
			"email", "email_verified", "name", "preferred_username", "picture",
			"sid",
		},
		"authorization_response_iss_parameter_supported": true,
		"end_session_endpoint":                           s.issuer + "/logout",
		"backchannel_logout_supported":                   true,
		"backchannel_logout_session_supported":           true,
		"dpop_signing_alg_values_supported":              []string{"ES256"},
		"pushed_authorization_request_endpoint":          s.issuer + "/par",
	}
	if b.RequirePAR {
		doc["require_pushed_authorization_requests"] = true
	}
	methods, algs := s.authMethods()
	doc["token_endpoint_auth_methods_supported"] = methods
	doc["revocation_endpoint_auth_methods_supported"] = methods
	if algs != nil {
		doc["token_endpoint_auth_signing_alg_values_supported"] = algs
		doc["revocation_endpoint_auth_signing_alg_values_supported"] = algs
	}
	for k, v := range b.Discovery {
		if v == nil {
			delete(doc, k)
		} else {
			doc[k] = v
		}
	}
	writeJSON(w, http.StatusOK, doc)
}
