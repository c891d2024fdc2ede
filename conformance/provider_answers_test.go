package conformance_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
	"github.com/oauthlogin/oauthlogin/providers"
)

// This file holds the hostile provider's answers: ID tokens in algorithms
// the client was not configured for, key sets with bad entries, forged
// kids by the thousand, token responses of another token_type, oversized
// answers, and redirects on the back channel.

// withProviderConfig sets the provider's Config (its HTTP client stays the
// harness's unless pc has one).
func withProviderConfig(pc providers.Config) option { return func(s *setup) { s.provider = pc } }

// TestAlgorithmsPinned: OpenID Connect Core §3.1.3.7 step 7 says the alg
// of an ID token should be RS256 or the id_token_signed_response_alg the
// client registered. A validly signed RS384, PS256 or ES256 token, by a
// key the JWKS publishes, is refused with id_token_invalid by a client
// configured for nothing else, although discovery advertises all of them;
// each is accepted once configured (the control).
func TestAlgorithmsPinned(t *testing.T) {
	advertised := withDiscovery(oauthlogintest.Behavior{Discovery: map[string]any{
		"id_token_signing_alg_values_supported": []string{"RS256", "RS384", "PS256", "ES256"},
	}})
	for _, alg := range []string{"RS384", "PS256", "ES256"} {
		t.Run(alg+"Refused", func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, advertised)
			h.behave(oauthlogintest.Behavior{TokenAlg: alg})
			b := oauthlogintest.NewBrowser()
			h.refused(b, h.login(b), oauthlogin.ErrInvalidIDToken.Code())
			h.hits("userinfo", 0)
		})
		t.Run(alg+"Configured", func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, advertised, withProviderConfig(providers.Config{IDTokenSigningAlgs: []string{alg}}))
			h.behave(oauthlogintest.Behavior{TokenAlg: alg})
			b := oauthlogintest.NewBrowser()
			h.mustSucceed(b, h.login(b))
		})
	}
	// Configured for ES256 only, the client refuses RS256 too.
	t.Run("RS256RefusedWhenES256Configured", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, withProviderConfig(providers.Config{IDTokenSigningAlgs: []string{"ES256"}}))
		b := oauthlogintest.NewBrowser()
		h.refused(b, h.login(b), oauthlogin.ErrInvalidIDToken.Code())
	})
	// Symmetric algorithms and none cannot be configured.
	t.Run("SymmetricNotConfigurable", func(t *testing.T) {
		t.Parallel()
		idp := oauthlogintest.NewServer()
		t.Cleanup(idp.Close)
		for _, alg := range []string{"HS256", "none", ""} {
			if _, err := providers.OIDC(context.Background(), "test", idp.URL, providers.Config{ClientID: idp.ClientID, IDTokenSigningAlgs: []string{alg}}); err == nil {
				t.Errorf("IDTokenSigningAlgs %q accepted", alg)
			}
		}
	})
}

// otherRSAKey is a published-looking RSA key that signs nothing.
var otherRSAKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// TestJWKSBadEntries: RFC 7517 §5 asks a client to ignore JWK Set members
// it cannot use rather than fail the set. A JWKS whose other entries are
// unparseable, of an unknown kty, for encryption, duplicates of the
// signing key's kid, symmetric or oversized still verifies the tokens of
// its good key; and no such entry ever verifies a token.
func TestJWKSBadEntries(t *testing.T) {
	other := otherRSAKey()
	rsaEntry := func(kid, use string) map[string]any {
		return map[string]any{
			"kty": "RSA", "use": use, "alg": "RS256", "kid": kid,
			"n": base64.RawURLEncoding.EncodeToString(other.N.Bytes()),
			"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(other.E)).Bytes()),
		}
	}
	oversized := rsaEntry("key-1", "sig")
	oversized["x-pad"] = strings.Repeat("a", 32<<10)
	for _, tc := range []struct {
		name  string
		entry any
	}{
		{"Unparseable", map[string]any{"kty": "RSA", "kid": "key-1", "n": "%%%", "e": "AQAB"}},
		{"NotAnObject", "key-1"},
		{"UnknownKty", map[string]any{"kty": "PQC", "kid": "key-1", "x": "AAAA"}},
		{"UseEnc", rsaEntry("key-1", "enc")},
		{"DuplicateKid", rsaEntry("key-1", "sig")},
		{"Oversized", oversized},
		{"Symmetric", map[string]any{"kty": "oct", "kid": "key-1", "k": base64.RawURLEncoding.EncodeToString([]byte("a shared secret, not a public key"))}},
	} {
		for _, noKid := range []bool{false, true} {
			name := tc.name
			if noKid {
				name += "NoKid"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				h := newHarness(t)
				keys := []any{tc.entry}
				for _, k := range jwks(t, h.idp) {
					keys = append(keys, k)
				}
				body, err := json.Marshal(map[string]any{"keys": keys})
				if err != nil {
					t.Fatal(err)
				}
				h.behave(oauthlogintest.Behavior{OmitKID: noKid, Raw: map[string]oauthlogintest.RawResponse{
					"jwks": {ContentType: "application/json", Body: body},
				}})
				b := oauthlogintest.NewBrowser()
				h.mustSucceed(b, h.login(b))
			})
		}
	}
}

// TestJWKSRefetchFlood: tokens under kids the JWKS lacks make the client
// refetch the key set at most once per window (30 s), however many logins
// bring them, concurrently or not: a forger cannot make the app hammer
// the provider. The key rotation and one-refetch cases of TestOpenIDRP
// still hold.
func TestJWKSRefetchFlood(t *testing.T) {
	h := newHarness(t)
	b := oauthlogintest.NewBrowser()
	h.mustSucceed(b, h.login(b))
	h.hits("jwks", 1)
	h.behave(oauthlogintest.Behavior{UnknownKID: true})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			b := oauthlogintest.NewBrowser()
			page := h.login(b)
			if page.URL.Query().Get("error") != oauthlogin.ErrInvalidIDToken.Code() {
				t.Errorf("a forged kid ended at %s", page.URL)
			}
		})
	}
	wg.Wait()
	for range 4 {
		b := oauthlogintest.NewBrowser()
		if page := h.login(b); page.URL.Query().Get("error") != oauthlogin.ErrInvalidIDToken.Code() {
			t.Fatalf("a forged kid ended at %s", page.URL)
		}
	}
	h.hits("jwks", 2)
}

// rewriteToken returns interceptors that pass the token endpoint's JSON
// answers, to the grants in grants (all when empty), through f.
func rewriteToken(f func(map[string]any), grants ...string) map[string]func(http.Handler) http.Handler {
	return map[string]func(http.Handler) http.Handler{"token": func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body := readBody(r)
			form, _ := url.ParseQuery(body)
			rec := &bufferWriter{header: http.Header{}}
			next.ServeHTTP(rec, r)
			out := rec.body.Bytes()
			var doc map[string]any
			if err := json.Unmarshal(out, &doc); err == nil && rec.status == http.StatusOK &&
				(len(grants) == 0 || containsString(grants, form.Get("grant_type"))) {
				f(doc)
				out, _ = json.Marshal(doc)
			}
			for k, v := range rec.header {
				w.Header()[k] = v
			}
			w.Header().Del("Content-Length")
			w.WriteHeader(rec.status)
			w.Write(out)
		})
	}}
}

// readBody reads r's body and puts it back for the next handler.
func readBody(r *http.Request) string {
	var sb strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := r.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			break
		}
	}
	r.Body = readCloser{strings.NewReader(sb.String())}
	return sb.String()
}

type readCloser struct{ *strings.Reader }

func (readCloser) Close() error { return nil }

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// TestTokenTypeBearer: RFC 6749 §5.1 makes token_type required, §7.1 says
// the client must not use a token whose type it does not understand, and
// RFC 6750 is the only type this library uses tokens as. A token response
// with any other type, or none, is refused: token_exchange_failed at the
// callback (no session, no userinfo request), refresh_failed on refresh
// (nothing saved), and an error for client credentials. Bearer is compared
// case-insensitively (RFC 6749 §5.1: "case insensitive").
func TestTokenTypeBearer(t *testing.T) {
	for _, tc := range []struct {
		name string
		typ  any // nil: no token_type member
		ok   bool
	}{
		{"Mac", "mac", false},
		{"DPoP", "DPoP", false},
		{"Empty", "", false},
		{"Missing", nil, false},
		{"BearerWithSpace", "Bearer ", false},
		{"NotAString", true, false},
		{"LowerCase", "bearer", true},
		{"UpperCase", "BEARER", true},
	} {
		t.Run("Callback"+tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.behave(oauthlogintest.Behavior{Intercept: rewriteToken(func(doc map[string]any) {
				if tc.typ == nil {
					delete(doc, "token_type")
				} else {
					doc["token_type"] = tc.typ
				}
			})})
			b := oauthlogintest.NewBrowser()
			if tc.ok {
				h.mustSucceed(b, h.login(b))
				return
			}
			h.refused(b, h.login(b), oauthlogin.ErrTokenExchange.Code())
			h.hits("userinfo", 0)
		})
	}

	t.Run("Refresh", func(t *testing.T) {
		t.Parallel()
		for _, typ := range []any{"mac", nil} {
			h := newHarness(t)
			b := oauthlogintest.NewBrowser()
			before := h.mustSucceed(b, h.login(b))
			resetCounts(h.store)
			h.behave(oauthlogintest.Behavior{Intercept: rewriteToken(func(doc map[string]any) {
				if typ == nil {
					delete(doc, "token_type")
				} else {
					doc["token_type"] = typ
				}
			}, "refresh_token")})
			resp := h.do(b, "POST", "/auth/refresh", nil)
			if v := decodeJSON(t, resp); resp.StatusCode == http.StatusOK || v["error"] != oauthlogin.ErrRefreshFailed.Code() {
				t.Fatalf("token_type %v: POST /auth/refresh = %d %v, want refresh_failed", typ, resp.StatusCode, v)
			}
			h.hits("token", 2)
			if w := h.store.writes(); w != "" {
				t.Fatalf("token_type %v: the refused refresh wrote: %s", typ, w)
			}
			if after, _ := h.session(b); after["providerAccessToken"] != before["providerAccessToken"] {
				t.Fatalf("token_type %v: the session's access token changed", typ)
			}
		}
	})

	t.Run("ClientCredentials", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.behave(oauthlogintest.Behavior{Intercept: rewriteToken(func(doc map[string]any) { doc["token_type"] = "mac" }, "client_credentials")})
		ts, err := h.m.ServiceTokenSource(context.Background(), "test", nil)
		if err != nil {
			t.Fatal(err)
		}
		if tok, err := ts.Token(); err == nil {
			t.Fatalf("a %q token was returned", tok.TokenType)
		}
		h.hits("token", 1)
	})
}

// TestResponseBounds: an ID token over 32 KiB, or whose JOSE header
// decodes to over 4 KiB, is refused before it is parsed or verified
// (the controls just under the bounds pass); token, userinfo, JWKS and
// discovery answers just over 1 MiB are refused, read no further than the
// bound, and leave no session.
func TestResponseBounds(t *testing.T) {
	for _, tc := range []struct {
		name   string
		behave oauthlogintest.Behavior
		ok     bool
	}{
		{"IDTokenOver32KiB", oauthlogintest.Behavior{Claims: map[string]any{"pad": strings.Repeat("a", 24<<10)}}, false},
		{"IDTokenUnder32KiB", oauthlogintest.Behavior{Claims: map[string]any{"pad": strings.Repeat("a", 20<<10)}}, true},
		{"JOSEHeaderOver4KiB", oauthlogintest.Behavior{TokenHeader: map[string]any{"x-pad": strings.Repeat("a", 4<<10)}}, false},
		{"JOSEHeaderUnder4KiB", oauthlogintest.Behavior{TokenHeader: map[string]any{"x-pad": strings.Repeat("a", 3<<10)}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.behave(tc.behave)
			b := oauthlogintest.NewBrowser()
			if tc.ok {
				h.mustSucceed(b, h.login(b))
				return
			}
			h.refused(b, h.login(b), oauthlogin.ErrInvalidIDToken.Code())
			h.hits("userinfo", 0)
		})
	}

	// overMiB is a JSON object starting with prefix whose encoding is one
	// byte over 1 MiB: a padding member fills it.
	overMiB := func(prefix string) []byte {
		const closing = `"}`
		pad := (1 << 20) + 1 - len(prefix) - len(`"pad":"`) - len(closing)
		return []byte(prefix + `"pad":"` + strings.Repeat("a", pad) + closing)
	}
	for _, tc := range []struct {
		endpoint, code, prefix string
	}{
		{"token", oauthlogin.ErrTokenExchange.Code(), `{"access_token":"at","token_type":"Bearer","expires_in":3600,`},
		{"userinfo", oauthlogin.ErrProfileUnavailable.Code(), `{"sub":"user-1","email":"ada@example.com",`},
		{"jwks", oauthlogin.ErrInvalidIDToken.Code(), ``}, // filled in below with the real keys
	} {
		t.Run(tc.endpoint+"OverOneMiB", func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			prefix := tc.prefix
			if tc.endpoint == "jwks" {
				keys, _ := json.Marshal(jwks(t, h.idp))
				prefix = `{"keys":` + string(keys) + `,`
			}
			body := overMiB(prefix)
			if len(body) != 1<<20+1 {
				t.Fatalf("body of %d bytes", len(body))
			}
			h.behave(oauthlogintest.Behavior{Raw: map[string]oauthlogintest.RawResponse{tc.endpoint: {ContentType: "application/json", Body: body}}})
			b := oauthlogintest.NewBrowser()
			h.refused(b, h.login(b), tc.code)
		})
	}
	t.Run("discoveryOverOneMiB", func(t *testing.T) {
		t.Parallel()
		idp := oauthlogintest.NewServer()
		t.Cleanup(idp.Close)
		prefix := `{"issuer":"` + idp.URL + `","authorization_endpoint":"` + idp.URL + `/authorize","token_endpoint":"` + idp.URL +
			`/token","jwks_uri":"` + idp.URL + `/jwks","response_types_supported":["code"],`
		idp.Behave(oauthlogintest.Behavior{Raw: map[string]oauthlogintest.RawResponse{"discovery": {ContentType: "application/json", Body: overMiB(prefix)}}})
		if _, err := providers.OIDC(context.Background(), "test", idp.URL, providers.Config{ClientID: idp.ClientID}); err == nil {
			t.Fatal("a discovery document over 1 MiB was accepted")
		}
	})
}

// trap is a server that counts the requests it gets: where a redirect
// from the provider points.
func trap(t *testing.T) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"access_token":"trapped","token_type":"Bearer","keys":[]}`))
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// redirectTo answers every request with a 307 to target, which would keep
// the method and body (the code, verifier, secret or refresh token) if it
// were followed.
func redirectTo(target string) func(http.Handler) http.Handler {
	return func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, target, http.StatusTemporaryRedirect)
		})
	}
}

// TestBackChannelNoRedirects: RFC 6749 §3.2 and RFC 9700 §4.11 leave
// redirects of the token endpoint undefined, and following one re-sends
// the code, PKCE verifier, client secret or refresh token to a URL the
// client never configured. Every back-channel request kind answered 307
// fails, and the redirect's target gets no request at all; the host's
// own http.Client (the harness passes one) is held to it too.
func TestBackChannelNoRedirects(t *testing.T) {
	for _, tc := range []struct{ endpoint, code string }{
		{"token", oauthlogin.ErrTokenExchange.Code()},
		{"userinfo", oauthlogin.ErrProfileUnavailable.Code()},
		{"jwks", oauthlogin.ErrInvalidIDToken.Code()},
	} {
		t.Run(tc.endpoint, func(t *testing.T) {
			t.Parallel()
			srv, hits := trap(t)
			h := newHarness(t)
			h.behave(oauthlogintest.Behavior{Intercept: map[string]func(http.Handler) http.Handler{tc.endpoint: redirectTo(srv.URL + "/" + tc.endpoint)}})
			b := oauthlogintest.NewBrowser()
			h.refused(b, h.login(b), tc.code)
			if n := hits.Load(); n != 0 {
				t.Fatalf("the redirect target got %d requests", n)
			}
		})
	}
	t.Run("refresh", func(t *testing.T) {
		t.Parallel()
		srv, hits := trap(t)
		h := newHarness(t)
		b := oauthlogintest.NewBrowser()
		before := h.mustSucceed(b, h.login(b))
		resetCounts(h.store)
		h.behave(oauthlogintest.Behavior{Intercept: map[string]func(http.Handler) http.Handler{"token": redirectTo(srv.URL + "/token")}})
		resp := h.do(b, "POST", "/auth/refresh", nil)
		if v := decodeJSON(t, resp); resp.StatusCode == http.StatusOK || v["error"] == nil {
			t.Fatalf("POST /auth/refresh = %d %v", resp.StatusCode, v)
		}
		if n := hits.Load(); n != 0 {
			t.Fatalf("the redirect target got %d requests", n)
		}
		if w := h.store.writes(); w != "" {
			t.Fatalf("the refused refresh wrote: %s", w)
		}
		if after, _ := h.session(b); after["providerAccessToken"] != before["providerAccessToken"] {
			t.Fatal("the session's access token changed")
		}
	})
	t.Run("revocation", func(t *testing.T) {
		t.Parallel()
		srv, hits := trap(t)
		h := newHarness(t, withConfig(func(c *oauthlogin.Config) { c.Sessions.RevokeOnLogout = true }))
		b := oauthlogintest.NewBrowser()
		h.mustSucceed(b, h.login(b))
		h.behave(oauthlogintest.Behavior{Intercept: map[string]func(http.Handler) http.Handler{"revoke": redirectTo(srv.URL + "/revoke")}})
		resp := h.do(b, "DELETE", "/auth/session", nil)
		resp.Body.Close()
		if h.idp.Hits("revoke") == 0 {
			t.Fatal("no revocation was attempted")
		}
		if n := hits.Load(); n != 0 {
			t.Fatalf("the redirect target got %d requests", n)
		}
	})
	t.Run("clientCredentials", func(t *testing.T) {
		t.Parallel()
		srv, hits := trap(t)
		h := newHarness(t)
		h.behave(oauthlogintest.Behavior{Intercept: map[string]func(http.Handler) http.Handler{"token": redirectTo(srv.URL + "/token")}})
		ts, err := h.m.ServiceTokenSource(context.Background(), "test", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ts.Token(); err == nil {
			t.Fatal("a redirected client credentials request returned a token")
		}
		if n := hits.Load(); n != 0 {
			t.Fatalf("the redirect target got %d requests", n)
		}
	})
	t.Run("discovery", func(t *testing.T) {
		t.Parallel()
		srv, hits := trap(t)
		idp := oauthlogintest.NewServer()
		t.Cleanup(idp.Close)
		idp.Behave(oauthlogintest.Behavior{Intercept: map[string]func(http.Handler) http.Handler{"discovery": redirectTo(srv.URL + "/.well-known/openid-configuration")}})
		if _, err := providers.OIDC(context.Background(), "test", idp.URL, providers.Config{ClientID: idp.ClientID, HTTPClient: &http.Client{}}); err == nil {
			t.Fatal("a redirected discovery request made a provider")
		}
		if n := hits.Load(); n != 0 {
			t.Fatalf("the redirect target got %d requests", n)
		}
	})
}

// TestRefreshIDTokenClaimTypes: an ID token from a refresh is held to the
// same NumericDate rule (RFC 7519 §2; OpenID Connect Core §12.2 asks it be
// validated like the first): exp as a numeric string is refused with
// id_token_invalid, and nothing of that refresh is saved.
func TestRefreshIDTokenClaimTypes(t *testing.T) {
	h := newHarness(t)
	b := oauthlogintest.NewBrowser()
	before := h.mustSucceed(b, h.login(b))
	resetCounts(h.store)
	h.behave(oauthlogintest.Behavior{IDTokenOnRefresh: true, Claims: map[string]any{"exp": strconvI(time.Now().Add(time.Hour).Unix())}})
	resp := h.do(b, "POST", "/auth/refresh", nil)
	if v := decodeJSON(t, resp); resp.StatusCode == http.StatusOK || v["error"] != oauthlogin.ErrInvalidIDToken.Code() {
		t.Fatalf("POST /auth/refresh = %d %v, want id_token_invalid", resp.StatusCode, v)
	}
	if w := h.store.writes(); w != "" {
		t.Fatalf("the refused refresh wrote: %s", w)
	}
	if after, _ := h.session(b); after["providerAccessToken"] != before["providerAccessToken"] {
		t.Fatal("the session's access token changed")
	}
}
