package conformance_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
	"github.com/oauthlogin/oauthlogin/providers"
)

// badToken is a case where the token response is refused: the login fails
// with code, and userinfo is never asked.
type badToken struct {
	name   string
	behave oauthlogintest.Behavior
	code   string
}

// runBadTokens runs each case in its own harness.
func runBadTokens(t *testing.T, cases []badToken, opts ...option) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, opts...)
			h.behave(tc.behave)
			b := oauthlogintest.NewBrowser()
			h.refused(b, h.login(b), tc.code)
			h.hits("token", 1)
			h.hits("userinfo", 0)
		})
	}
}

// TestOpenIDRP covers the OpenID Connect RP certification tests of the
// Basic and Config profiles that apply to a code-flow client.
func TestOpenIDRP(t *testing.T) {
	client := "oauthlogin-test-client"
	runBadTokens(t, []badToken{
		{"IssuerMismatch", oauthlogintest.Behavior{IDTokenIssuer: "https://attacker.example"}, oauthlogin.ErrInvalidIDToken.Code()},
		{"AudienceWrong", oauthlogintest.Behavior{IDTokenAudience: "another-client"}, oauthlogin.ErrInvalidIDToken.Code()},
		{"AudienceMissing", oauthlogintest.Behavior{Claims: map[string]any{"aud": nil}}, oauthlogin.ErrInvalidIDToken.Code()},
		{"AudienceUntrustedExtraNoAzp", oauthlogintest.Behavior{IDTokenAudience: []string{client, "another-client"}}, oauthlogin.ErrInvalidIDToken.Code()},
		{"AudienceUntrustedExtraWithAzp", oauthlogintest.Behavior{IDTokenAudience: []string{client, "another-client"}, IDTokenAzp: client}, oauthlogin.ErrInvalidIDToken.Code()},
		{"AzpWrong", oauthlogintest.Behavior{IDTokenAzp: "another-client"}, oauthlogin.ErrInvalidIDToken.Code()},
		{"SubMissing", oauthlogintest.Behavior{Claims: map[string]any{"sub": nil}}, oauthlogin.ErrInvalidIDToken.Code()},
		{"SubEmpty", oauthlogintest.Behavior{Claims: map[string]any{"sub": ""}}, oauthlogin.ErrInvalidIDToken.Code()},
		{"SubNumber", oauthlogintest.Behavior{Claims: map[string]any{"sub": 42}}, oauthlogin.ErrInvalidIDToken.Code()},
		{"SubObject", oauthlogintest.Behavior{Claims: map[string]any{"sub": map[string]any{"id": "user-1"}}}, oauthlogin.ErrInvalidIDToken.Code()},
		{"IatMissing", oauthlogintest.Behavior{OmitIssuedAt: true}, oauthlogin.ErrInvalidIDToken.Code()},
		{"IatNull", oauthlogintest.Behavior{Claims: map[string]any{"iat": json.RawMessage("null")}}, oauthlogin.ErrInvalidIDToken.Code()},
		{"IatFutureBeyondLeeway", oauthlogintest.Behavior{IssuedAtOffset: 10 * time.Minute}, oauthlogin.ErrInvalidIDToken.Code()},
		{"Expired", oauthlogintest.Behavior{ExpiresIn: -time.Minute}, oauthlogin.ErrInvalidIDToken.Code()},
		{"NonceWrong", oauthlogintest.Behavior{IDTokenNonce: "not-the-nonce-that-was-sent"}, oauthlogin.ErrInvalidIDToken.Code()},
		{"NonceMissing", oauthlogintest.Behavior{OmitNonce: true}, oauthlogin.ErrInvalidIDToken.Code()},
		{"SignatureBad", oauthlogintest.Behavior{BadSignature: true}, oauthlogin.ErrInvalidIDToken.Code()},
		{"AlgNone", oauthlogintest.Behavior{AlgNone: true}, oauthlogin.ErrInvalidIDToken.Code()},
		{"AlgNoneCapitalized", oauthlogintest.Behavior{AlgNone: true, AlgNoneCase: "None"}, oauthlogin.ErrInvalidIDToken.Code()},
		{"AlgNoneUpperCase", oauthlogintest.Behavior{AlgNone: true, AlgNoneCase: "NONE"}, oauthlogin.ErrInvalidIDToken.Code()},
		{"AlgEmpty", oauthlogintest.Behavior{AlgNone: true, AlgNoneCase: ""}, oauthlogin.ErrInvalidIDToken.Code()},
		{"SignatureEmpty", oauthlogintest.Behavior{Intercept: rewriteIDToken(func(tok string) string {
			return tok[:strings.LastIndex(tok, ".")+1]
		})}, oauthlogin.ErrInvalidIDToken.Code()},
		{"ClaimsChangedAfterSigning", oauthlogintest.Behavior{Intercept: rewriteIDToken(func(tok string) string {
			// The header and signature stay; the claims name another user.
			parts := strings.Split(tok, ".")
			claims, _ := base64.RawURLEncoding.DecodeString(parts[1])
			claims = bytes.Replace(claims, []byte(`"sub":"user-1"`), []byte(`"sub":"user-2"`), 1)
			parts[1] = base64.RawURLEncoding.EncodeToString(claims)
			return strings.Join(parts, ".")
		})}, oauthlogin.ErrInvalidIDToken.Code()},
		{"KidUnknown", oauthlogintest.Behavior{UnknownKID: true}, oauthlogin.ErrInvalidIDToken.Code()},
		{"NoKidUnpublishedKey", oauthlogintest.Behavior{UnknownKID: true, OmitKID: true}, oauthlogin.ErrInvalidIDToken.Code()},
		{"AccessTokenHashWrong", oauthlogintest.Behavior{Claims: map[string]any{"at_hash": "AAAAAAAAAAAAAAAAAAAAAA"}}, oauthlogin.ErrInvalidIDToken.Code()},
		{"IDTokenMissing", oauthlogintest.Behavior{OmitIDToken: true}, oauthlogin.ErrInvalidIDToken.Code()},
		{"IDTokenNotAJWT", oauthlogintest.Behavior{IDToken: "not-a-jwt-at-all"}, oauthlogin.ErrInvalidIDToken.Code()},
	})

	t.Run("ResponseTypeCode", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		b := oauthlogintest.NewBrowser()
		resp := h.do(b, "GET", strings.TrimPrefix(h.beginURL("test"), h.app.URL), nil)
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("begin = %d", resp.StatusCode)
		}
		loc := mustParse(t, resp.Header.Get("Location"))
		if loc.Scheme+"://"+loc.Host+loc.Path != h.idp.URL+"/authorize" {
			t.Fatalf("authorization request to %s", loc)
		}
		q := loc.Query()
		for k, vs := range q {
			if len(vs) != 1 {
				t.Fatalf("parameter %s sent %d times", k, len(vs))
			}
		}
		scopes := strings.Fields(q.Get("scope"))
		switch {
		case q.Get("response_type") != "code":
			t.Fatalf("response_type = %q", q.Get("response_type"))
		case q.Get("client_id") != h.idp.ClientID:
			t.Fatalf("client_id = %q", q.Get("client_id"))
		case q.Get("redirect_uri") != h.app.URL+"/auth/test/callback":
			t.Fatalf("redirect_uri = %q", q.Get("redirect_uri"))
		case len(scopes) == 0 || scopes[0] != "openid":
			t.Fatalf("scope = %q", q.Get("scope"))
		case len(q.Get("state")) < 43: // 256 bits, base64url
			t.Fatalf("state %q is too short", q.Get("state"))
		case len(q.Get("nonce")) < 43:
			t.Fatalf("nonce %q is too short", q.Get("nonce"))
		case q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43:
			t.Fatalf("PKCE = %q %q", q.Get("code_challenge_method"), q.Get("code_challenge"))
		case q.Has("response_mode") || q.Has("code_verifier") || q.Has("client_secret"):
			t.Fatalf("unexpected parameters: %v", q)
		}
		h.mustSucceed(b, h.visit(b, loc.String()))
	})

	t.Run("IatWithinLeeway", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.behave(oauthlogintest.Behavior{IssuedAtOffset: time.Minute})
		b := oauthlogintest.NewBrowser()
		h.mustSucceed(b, h.login(b))
	})

	// An ID token from an earlier login, replayed by the provider (or a
	// network attacker) in a later one, fails on its nonce. The first
	// token has no at_hash, so that only the nonce can catch it.
	t.Run("NonceReplayed", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.behave(oauthlogintest.Behavior{Claims: map[string]any{"at_hash": nil}})
		first := oauthlogintest.NewBrowser()
		h.mustSucceed(first, h.login(first))
		captured := h.idp.LastIDToken()
		h.store = resetCounts(h.store)
		h.mu.Lock()
		h.sessionSet = 0
		h.mu.Unlock()

		h.behave(oauthlogintest.Behavior{IDToken: captured})
		b := oauthlogintest.NewBrowser()
		h.refused(b, h.login(b), oauthlogin.ErrInvalidIDToken.Code())
		h.hits("userinfo", 1) // the first login's only
	})

	// A token without kid from a provider with one key: accepted, the key
	// is unambiguous (OpenID RP test rp-id_token-kid-absent-single-jwks).
	t.Run("NoKidSingleKey", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.behave(oauthlogintest.Behavior{OmitKID: true})
		b := oauthlogintest.NewBrowser()
		h.mustSucceed(b, h.login(b))
	})

	// A token without kid from a provider whose JWKS has several keys: the
	// RP may try each published key (rp-id_token-kid-absent-multiple-jwks
	// allows either answer); oauthlogin does, so only a published key's
	// signature is accepted.
	t.Run("NoKidSeveralKeys", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.idp.RotateKey()
		h.idp.RotateKey()
		h.behave(oauthlogintest.Behavior{OmitKID: true})
		if n := len(jwks(t, h.idp)); n != 3 {
			t.Fatalf("JWKS has %d keys, want 3", n)
		}
		b := oauthlogintest.NewBrowser()
		h.mustSucceed(b, h.login(b))
	})

	// Key rotation: a token under a kid the cached JWKS lacks makes exactly
	// one refetch, then verifies; later tokens use the cache.
	t.Run("KeyRotation", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		b := oauthlogintest.NewBrowser()
		h.mustSucceed(b, h.login(b))
		h.hits("jwks", 1)
		h.idp.RotateKey()
		b = oauthlogintest.NewBrowser()
		h.mustSucceed(b, h.login(b))
		h.hits("jwks", 2)
		b = oauthlogintest.NewBrowser()
		h.mustSucceed(b, h.login(b))
		h.hits("jwks", 2)
	})

	// A forged kid costs the attacker one refetch per login, no more.
	t.Run("KidUnknownRefetchesOnce", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		b := oauthlogintest.NewBrowser()
		h.mustSucceed(b, h.login(b))
		h.hits("jwks", 1)
		h.behave(oauthlogintest.Behavior{UnknownKID: true})
		b = oauthlogintest.NewBrowser()
		if page := h.login(b); page.URL.Query().Get("error") != oauthlogin.ErrInvalidIDToken.Code() {
			t.Fatalf("ended at %s", page.URL)
		}
		h.hits("jwks", 2)
	})

	// The discovery document must name the issuer that was configured
	// (OpenID Connect Discovery §4.3): no provider is made otherwise.
	t.Run("DiscoveryIssuerMismatch", func(t *testing.T) {
		t.Parallel()
		idp := oauthlogintest.NewServer()
		t.Cleanup(idp.Close)
		for _, iss := range []string{"https://attacker.example", idp.URL + "/", strings.ToUpper(idp.URL)} {
			idp.Behave(oauthlogintest.Behavior{DiscoveryIssuer: iss})
			if _, err := providers.OIDC(context.Background(), "test", idp.URL, providers.Config{ClientID: idp.ClientID}); err == nil {
				t.Fatalf("discovery with issuer %q accepted", iss)
			}
		}
		if idp.Hits("jwks")+idp.Hits("authorize") != 0 {
			t.Fatal("a provider with a foreign issuer was used")
		}
	})

	t.Run("UserInfoSubjectMismatch", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.behave(oauthlogintest.Behavior{UserInfoSubject: "user-2"})
		b := oauthlogintest.NewBrowser()
		h.refused(b, h.login(b), oauthlogin.ErrProfileUnavailable.Code())
		h.hits("userinfo", 1)
	})

	// The access token goes to userinfo in the Authorization header only
	// (RFC 6750 §2.1), never in the query (§2.3), where logs keep it.
	t.Run("UserInfoBearerHeader", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		var mu sync.Mutex
		var seen []*http.Request
		h.behave(oauthlogintest.Behavior{Intercept: map[string]func(http.Handler) http.Handler{
			"userinfo": func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					mu.Lock()
					seen = append(seen, r.Clone(context.Background()))
					mu.Unlock()
					next.ServeHTTP(w, r)
				})
			},
		}})
		b := oauthlogintest.NewBrowser()
		s := h.mustSucceed(b, h.login(b))
		mu.Lock()
		defer mu.Unlock()
		if len(seen) != 1 {
			t.Fatalf("%d userinfo requests", len(seen))
		}
		r := seen[0]
		if got, want := r.Header.Get("Authorization"), "Bearer "+s["providerAccessToken"].(string); got != want {
			t.Fatalf("Authorization = %q, want %q", got, want)
		}
		if r.URL.RawQuery != "" || r.Method != http.MethodGet {
			t.Fatalf("userinfo request %s %s", r.Method, r.URL)
		}
	})

	// client_secret_basic form-urlencodes id and secret before Base64
	// (RFC 6749 §2.3.1): a secret with ':', '%', '+', a space and
	// non-ASCII must reach the provider intact.
	t.Run("ClientSecretBasicSpecialCharacters", func(t *testing.T) {
		t.Parallel()
		const secret = "a:b%41c+d e/f?g&h=i€ü"
		h := newHarness(t, withSecret(secret))
		var mu sync.Mutex
		var raw string
		h.behave(oauthlogintest.Behavior{Intercept: map[string]func(http.Handler) http.Handler{
			"token": func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					_, p, ok := r.BasicAuth()
					mu.Lock()
					if ok {
						raw = p
					}
					mu.Unlock()
					next.ServeHTTP(w, r)
				})
			},
		}})
		b := oauthlogintest.NewBrowser()
		h.mustSucceed(b, h.login(b))
		mu.Lock()
		defer mu.Unlock()
		if want := url.QueryEscape(secret); raw != want {
			t.Fatalf("Basic password = %q, want %q", raw, want)
		}
	})
}

// rewriteIDToken returns interceptors that pass the token endpoint's
// answer through f's change to its id_token.
func rewriteIDToken(f func(string) string) map[string]func(http.Handler) http.Handler {
	return map[string]func(http.Handler) http.Handler{"token": func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := &bufferWriter{header: http.Header{}}
			next.ServeHTTP(rec, r)
			var body map[string]any
			if err := json.Unmarshal(rec.body.Bytes(), &body); err == nil {
				if tok, ok := body["id_token"].(string); ok {
					body["id_token"] = f(tok)
				}
			}
			out, _ := json.Marshal(body)
			for k, v := range rec.header {
				w.Header()[k] = v
			}
			w.Header().Del("Content-Length")
			w.WriteHeader(rec.status)
			w.Write(out)
		})
	}}
}

// bufferWriter is a ResponseWriter that keeps the response.
type bufferWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferWriter) Header() http.Header { return b.header }
func (b *bufferWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}
func (b *bufferWriter) WriteHeader(status int) { b.status = status }

// jwks fetches idp's key set.
func jwks(t *testing.T, idp *oauthlogintest.Server) []map[string]any {
	t.Helper()
	resp, err := http.Get(idp.URL + "/jwks")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil {
		t.Fatal(err)
	}
	return set.Keys
}

// resetCounts returns a store with the same records and its write counts
// at zero, for a test that checks a second login after a first one.
func resetCounts(s *countingStore) *countingStore {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sessions, s.created, s.updated = 0, 0, 0
	return s
}
