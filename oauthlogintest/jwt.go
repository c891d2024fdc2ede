package oauthlogintest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
)

// signJWT encodes claims as a compact JWS signed with RS256 (or the RSA
// algorithm of Behavior.TokenAlg) by the current key, bent the way b asks (bad signature, alg none, unknown or no kid,
// another algorithm, extra header members).
func (s *Server) signJWT(claims map[string]any, b Behavior) (string, error) {
	if b.AlgNone {
		alg := "none"
		if b.AlgNoneCase != "" {
			alg = b.AlgNoneCase
		}
		input, err := signingInput(mergeHeader(map[string]any{"alg": alg}, b.TokenHeader), claims)
		return input + ".", err
	}
	key := s.currentKey()
	if b.UnknownKID {
		priv, err := s.rogueKey()
		if err != nil {
			return "", fmt.Errorf("oauthlogintest: generating unpublished key: %w", err)
		}
		key = signingKey{kid: "unpublished-key", priv: priv}
	}
	header := map[string]any{"alg": "RS256", "typ": "JWT", "kid": key.kid}
	var ec *ecdsa.PrivateKey
	switch b.TokenAlg {
	case "", "RS256", "RS384", "PS256":
		if b.TokenAlg != "" {
			header["alg"] = b.TokenAlg
		}
		if b.EmbedJWK {
			header["jwk"] = rsaJWK(key.kid, &key.priv.PublicKey, rsaAlg(b))
		}
	case "ES256":
		var err error
		if ec, err = s.ecKey(); err != nil {
			return "", fmt.Errorf("oauthlogintest: generating EC key: %w", err)
		}
		header["alg"], header["kid"] = "ES256", ecKID
		if b.EmbedJWK {
			j, err := ecJWK(ecKID, &ec.PublicKey)
			if err != nil {
				return "", err
			}
			header["jwk"] = j
		}
	case "HS256":
		header["alg"] = "HS256"
	default:
		return "", fmt.Errorf("oauthlogintest: Behavior.TokenAlg %q is not RS256, RS384, PS256, ES256 or HS256", b.TokenAlg)
	}
	if b.OmitKID {
		delete(header, "kid")
	}
	input, err := signingInput(mergeHeader(header, b.TokenHeader), claims)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(input))
	var sig []byte
	switch b.TokenAlg {
	case "ES256":
		der, err := ec.Sign(rand.Reader, sum[:], crypto.SHA256)
		if err != nil {
			return "", fmt.Errorf("oauthlogintest: signing token: %w", err)
		}
		var rs struct{ R, S *big.Int }
		if _, err := asn1.Unmarshal(der, &rs); err != nil {
			return "", fmt.Errorf("oauthlogintest: signing token: %w", err)
		}
		sig = make([]byte, 64) // JWS form: R and S, 32 bytes each (RFC 7518 §3.4)
		rs.R.FillBytes(sig[:32])
		rs.S.FillBytes(sig[32:])
	case "HS256":
		mac := hmac.New(sha256.New, b.HMACKey)
		mac.Write([]byte(input))
		sig = mac.Sum(nil)
	case "RS384":
		sum384 := sha512.Sum384([]byte(input))
		if sig, err = rsa.SignPKCS1v15(nil, key.priv, crypto.SHA384, sum384[:]); err != nil {
			return "", fmt.Errorf("oauthlogintest: signing token: %w", err)
		}
	case "PS256":
		// RFC 7518 §3.5: the salt is as long as the hash.
		sig, err = rsa.SignPSS(rand.Reader, key.priv, crypto.SHA256, sum[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		if err != nil {
			return "", fmt.Errorf("oauthlogintest: signing token: %w", err)
		}
	default:
		sig, err = rsa.SignPKCS1v15(nil, key.priv, crypto.SHA256, sum[:])
		if err != nil {
			return "", fmt.Errorf("oauthlogintest: signing token: %w", err)
		}
	}
	if b.BadSignature {
		sig[len(sig)/2] ^= 0x01
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// mergeHeader applies Behavior.TokenHeader to header: a nil value deletes.
func mergeHeader(header, extra map[string]any) map[string]any {
	for k, v := range extra {
		if v == nil {
			delete(header, k)
		} else {
			header[k] = v
		}
	}
	return header
}

// signingInput returns base64url(header) "." base64url(claims) (RFC 7515 §5.1).
func signingInput(header, claims map[string]any) (string, error) {
	h, err := json.Marshal(header)
	if err != nil {
		return "", fmt.Errorf("oauthlogintest: encoding token header: %w", err)
	}
	c, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("oauthlogintest: encoding token claims: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c), nil
}
