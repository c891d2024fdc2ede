package conformance_test

import (
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
	"github.com/oauthlogin/oauthlogin/providers"
)

// TestAlgorithmConfusion checks that ID tokens are verified only with the
// provider's published keys, in the algorithms it advertised, whatever the
// token's header asks for.
func TestAlgorithmConfusion(t *testing.T) {
	// HS256 keyed with the provider's RSA public key, in each encoding a
	// careless verifier might use as the HMAC secret.
	for name, encode := range map[string]func(*oauthlogintest.Server) []byte{
		"HS256KeyedWithPublicKeyPKIXPEM": func(idp *oauthlogintest.Server) []byte {
			der, _ := x509.MarshalPKIXPublicKey(idp.PublicKey())
			return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
		},
		"HS256KeyedWithPublicKeyPKCS1PEM": func(idp *oauthlogintest.Server) []byte {
			return pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(idp.PublicKey())})
		},
		"HS256KeyedWithPublicKeyPKIXDER": func(idp *oauthlogintest.Server) []byte {
			der, _ := x509.MarshalPKIXPublicKey(idp.PublicKey())
			return der
		},
		"HS256KeyedWithPublicKeyPKCS1DER": func(idp *oauthlogintest.Server) []byte {
			return x509.MarshalPKCS1PublicKey(idp.PublicKey())
		},
		"HS256KeyedWithModulus": func(idp *oauthlogintest.Server) []byte {
			return idp.PublicKey().N.Bytes()
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.behave(oauthlogintest.Behavior{TokenAlg: "HS256", HMACKey: encode(h.idp)})
			b := oauthlogintest.NewBrowser()
			h.refused(b, h.login(b), oauthlogin.ErrInvalidIDToken.Code())
			h.hits("userinfo", 0)
		})
	}
	t.Run("HS256KeyedWithClientSecret", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.behave(oauthlogintest.Behavior{TokenAlg: "HS256", HMACKey: []byte(h.idp.ClientSecret)})
		b := oauthlogintest.NewBrowser()
		h.refused(b, h.login(b), oauthlogin.ErrInvalidIDToken.Code())
		h.hits("userinfo", 0)
	})

	// A valid ES256 signature by a key the JWKS publishes, in an algorithm
	// discovery did not advertise (it lists RS256 only): refused.
	t.Run("ES256NotAdvertised", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.behave(oauthlogintest.Behavior{TokenAlg: "ES256"})
		b := oauthlogintest.NewBrowser()
		h.refused(b, h.login(b), oauthlogin.ErrInvalidIDToken.Code())
		h.hits("userinfo", 0)
	})
	// What discovery advertises is not consent: the client's algorithm is
	// RS256 unless configured otherwise (OpenID Connect Core §3.1.3.7 step
	// 7; OpenID Connect Registration §2, id_token_signed_response_alg
	// defaults to RS256), so the same ES256 token is refused when
	// discovery lists ES256.
	t.Run("ES256Advertised", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, withDiscovery(oauthlogintest.Behavior{Discovery: map[string]any{
			"id_token_signing_alg_values_supported": []string{"RS256", "ES256"},
		}}))
		h.behave(oauthlogintest.Behavior{TokenAlg: "ES256"})
		b := oauthlogintest.NewBrowser()
		h.refused(b, h.login(b), oauthlogin.ErrInvalidIDToken.Code())
		h.hits("userinfo", 0)
	})
	// The control: the same token is accepted once the client is
	// configured for ES256, so the refusals above are the pinning's doing,
	// not a broken signature.
	t.Run("ES256Configured", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, withProviderConfig(providers.Config{IDTokenSigningAlgs: []string{"ES256"}}))
		h.behave(oauthlogintest.Behavior{TokenAlg: "ES256"})
		b := oauthlogintest.NewBrowser()
		h.mustSucceed(b, h.login(b))
	})
	t.Run("AlgHeaderNotTheSigningAlg", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.behave(oauthlogintest.Behavior{TokenHeader: map[string]any{"alg": "RS512"}})
		b := oauthlogintest.NewBrowser()
		h.refused(b, h.login(b), oauthlogin.ErrInvalidIDToken.Code())
	})
	t.Run("CriticalHeaderUnknown", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.behave(oauthlogintest.Behavior{TokenHeader: map[string]any{"crit": []string{"x-must-understand"}, "x-must-understand": true}})
		b := oauthlogintest.NewBrowser()
		h.refused(b, h.login(b), oauthlogin.ErrInvalidIDToken.Code())
	})

	// Keys and key URLs in the token header are never fetched or trusted:
	// jku and x5u point at a server that counts its hits, jwk carries the
	// unpublished key that signed the token.
	t.Run("HeaderKeysIgnored", func(t *testing.T) {
		t.Parallel()
		var fetched atomic.Int32
		trap := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fetched.Add(1)
			http.Error(w, "trap", http.StatusTeapot)
		}))
		t.Cleanup(trap.Close)
		header := map[string]any{"jku": trap.URL + "/jwks", "x5u": trap.URL + "/cert.pem"}
		for _, tc := range []struct {
			name    string
			behave  oauthlogintest.Behavior
			succeed bool
		}{
			{"UnpublishedKeyWithJKUAndX5U", oauthlogintest.Behavior{UnknownKID: true, TokenHeader: header}, false},
			{"UnpublishedKeyInJWK", oauthlogintest.Behavior{UnknownKID: true, EmbedJWK: true}, false},
			{"UnpublishedKeyInJWKNoKid", oauthlogintest.Behavior{UnknownKID: true, EmbedJWK: true, OmitKID: true}, false},
			{"PublishedKeyWithJKUAndX5U", oauthlogintest.Behavior{TokenHeader: header, EmbedJWK: true}, true},
		} {
			h := newHarness(t)
			h.behave(tc.behave)
			b := oauthlogintest.NewBrowser()
			if tc.succeed {
				h.mustSucceed(b, h.login(b))
			} else {
				h.refused(b, h.login(b), oauthlogin.ErrInvalidIDToken.Code())
				h.hits("userinfo", 0)
			}
			if n := fetched.Load(); n != 0 {
				t.Fatalf("%s: the header's key URLs were fetched %d times", tc.name, n)
			}
		}
	})
}
