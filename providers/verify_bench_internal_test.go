package providers

import (
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"
)

// BenchmarkVerifyIDToken prices an ID token's verification at login, a
// Google-sized RS256 token: as it ships (go-oidc's IDTokenVerifier over
// the provider's key set, then one decode of the claims), beside what
// go-jose alone does for the same token (one parse, the signature, one
// decode) and the RSA verification by itself. The difference between the
// first two rows is go-oidc's own work: it parses the JWS, hands the
// KeySet the raw token (which parses it again: go-oidc passes its parse
// on to its own RemoteKeySet only) and decodes the claims into its struct.
func BenchmarkVerifyIDToken(b *testing.B) {
	key := benchKey(b)
	const (
		issuer = "https://issuer.example"
		client = "client-1"
		nonce  = "n-0123456789012345678901234567890123456789"
	)
	doc := `{"keys":[` + publicJWK(b, &key.PublicKey, "k1", "sig", "RS256") + `]}`
	var served atomic.Pointer[string]
	served.Store(&doc)
	srv, _ := jwksServer(b, &served)
	ks := newKeySet(srv.URL, http.DefaultClient, []string{"RS256"})
	p := &OIDCProvider{keys: ks, now: time.Now, claims: StandardClaims()}
	p.oauth = oauth2.Config{ClientID: client}
	p.verifier = oidc.NewVerifier(issuer, ks, &oidc.Config{ClientID: client, SupportedSigningAlgs: []string{"RS256"}})
	now := time.Now()
	sum := sha256.Sum256([]byte("access-token"))
	claims, err := json.Marshal(map[string]any{
		"iss": issuer, "sub": "110169484474386276334", "aud": client, "azp": client,
		"exp": now.Add(time.Hour).Unix(), "iat": now.Unix(), "auth_time": now.Unix(), "nonce": nonce,
		"at_hash": base64.RawURLEncoding.EncodeToString(sum[:16]),
		"email":   "grace@example.com", "email_verified": true, "name": "Grace Hopper",
		"picture": "https://example.com/photo.jpg", "given_name": "Grace", "family_name": "Hopper", "locale": "en",
	})
	if err != nil {
		b.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: "k1"}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		b.Fatal(err)
	}
	obj, err := signer.Sign(claims)
	if err != nil {
		b.Fatal(err)
	}
	raw, err := obj.CompactSerialize()
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.Run("oauthlogin", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			idt, c, err := p.verifyIDToken(ctx, raw, nonce)
			if err != nil {
				b.Fatal(err)
			}
			if err := idt.VerifyAccessToken("access-token"); err != nil {
				b.Fatal(err)
			}
			if _, err := p.idProfile(idt, c); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("go-jose-only", func(b *testing.B) {
		algs := []jose.SignatureAlgorithm{jose.RS256}
		b.ReportAllocs()
		for b.Loop() {
			jws, err := jose.ParseSignedCompact(raw, algs)
			if err != nil {
				b.Fatal(err)
			}
			payload, err := jws.Verify(&key.PublicKey)
			if err != nil {
				b.Fatal(err)
			}
			var c struct {
				Iss   string `json:"iss"`
				Aud   string `json:"aud"`
				Nonce string `json:"nonce"`
				idClaims
			}
			if err := json.Unmarshal(payload, &c); err != nil || c.Iss != issuer || c.Aud != client || c.Nonce != nonce {
				b.Fatal("claims", err)
			}
			if _, err := c.profile(nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("rsa-only", func(b *testing.B) {
		jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.RS256})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := jws.Verify(&key.PublicKey); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func benchKey(b *testing.B) *rsa.PrivateKey {
	keys, err := testKeys()
	if err != nil {
		b.Fatal(err)
	}
	return keys[0]
}
