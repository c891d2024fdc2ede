package providers_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"

	"github.com/oauthlogin/oauthlogin/oauthlogintest"
	"github.com/oauthlogin/oauthlogin/providers"
)

// Authenticate the client with a private key instead of a secret
// (private_key_jwt). The public key is registered with the provider; the
// private key is read from a PEM file (here made on the spot). Every token,
// device, PAR and revocation request then carries a fresh signed assertion.
func ExamplePrivateKeyJWT() {
	idp := oauthlogintest.NewServer() // stands in for https://sso.example.com
	defer idp.Close()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	idp.SetClientKey(key.Public(), "2026-01") // what registering the key at the provider does

	auth, err := providers.PrivateKeyJWT(keyPEM, providers.JWTOptions{KeyID: "2026-01"})
	if err != nil {
		fmt.Println(err)
		return
	}
	p, err := providers.OIDC(context.Background(), "example", idp.URL, providers.Config{
		ClientID:   idp.ClientID,
		ClientAuth: auth, // and no ClientSecret
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	assertion, err := p.ClientAssertion(context.Background(), p.OAuth2Config().Endpoint.TokenURL)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("client secret sent:", p.OAuth2Config().ClientSecret != "")
	fmt.Println("assertion parts:", len(strings.Split(assertion, ".")))
	// Output:
	// client secret sent: false
	// assertion parts: 3
}
