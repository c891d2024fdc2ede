package oauthlogin

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/gorilla/securecookie"
	"golang.org/x/oauth2"
)

// CookieKey is one key pair for sealed cookies: the cookie is authenticated
// with HMAC-SHA-256 under Hash and encrypted with AES under Block.
type CookieKey struct {
	// Hash is the HMAC key: 32 or 64 random bytes.
	Hash []byte
	// Block is the AES key: 16, 24 or 32 random bytes (32 recommended).
	Block []byte
}

// GenerateCookieKey returns a fresh CookieKey from crypto/rand: 64 bytes of
// hash key and 32 of block key. Store it: sessions' cookies and sealed tokens
// cannot be read without it. Its Encode form is what CookieKeysFromEnv
// reads.
func GenerateCookieKey() CookieKey {
	return CookieKey{Hash: randomBytes(64), Block: randomBytes(32)}
}

// Encode reveals the key: it returns the secret key itself, in the form
// CookieKeysFromEnv reads (the hex of Hash followed by Block, 192 hex
// digits for a generated key), so that
//
//	fmt.Println(oauthlogin.GenerateCookieKey().Encode())
//
// prints a key to put in the environment. Call it only to make a key,
// and never log its result. String, GoString and MarshalJSON never reveal
// the key (fmt, %+v of a Config and log/slog print it redacted).
func (k CookieKey) Encode() string {
	return hex.EncodeToString(k.Hash) + hex.EncodeToString(k.Block)
}

// redactedCookieKey is how a CookieKey prints.
const redactedCookieKey = "CookieKey(redacted)"

// String returns "CookieKey(redacted)", never the key: a Config or key
// formatted with fmt (%v, %+v, %s) or written to a log shows no secret
// (log/slog's text handler formats with %+v, its JSON handler calls
// MarshalJSON). Encode reveals the key.
func (k CookieKey) String() string { return redactedCookieKey }

// GoString returns "CookieKey(redacted)", for fmt's %#v.
func (k CookieKey) GoString() string { return redactedCookieKey }

// MarshalJSON returns "CookieKey(redacted)" as a JSON string, so that a
// Config encoded to JSON (slog's JSON handler encodes structs so) shows no
// secret. A key is not stored as JSON: keep Encode's form.
func (k CookieKey) MarshalJSON() ([]byte, error) {
	return json.Marshal(redactedCookieKey)
}

// redactedKeys is how a Keys prints.
const redactedKeys = "Keys(redacted)"

// String returns "Keys(redacted)", never a key: Keys.Token are bare
// byte slices, so without it a Config formatted with fmt (%v, %+v, %s)
// or written to a log would show the keys that seal every stored
// provider token.
func (k Keys) String() string { return redactedKeys }

// GoString returns "Keys(redacted)", for fmt's %#v.
func (k Keys) GoString() string { return redactedKeys }

// MarshalJSON returns "Keys(redacted)" as a JSON string, so that a Config
// encoded to JSON (slog's JSON handler encodes structs so) shows no
// secret. Keys are not stored as JSON: keep CookieKey.Encode's form.
func (k Keys) MarshalJSON() ([]byte, error) {
	return json.Marshal(redactedKeys)
}

// cookieKeySize is the size of one key in the environment: 64 bytes of
// hash key, then 32 of block key.
const cookieKeySize = 64 + 32

// CookieKeysFromEnv reads Config.Keys.Cookie from the environment variable
// name: a comma-separated list of keys, newest first (it seals; the others
// still open, for rotation). Each key is 96 random bytes, 64 of hash key and
// 32 of block key, written in hex (CookieKey.Encode's form) or in base64
// (standard or URL alphabet, padded or not); spaces around a key are
// ignored. GenerateCookieKey makes one, and its Encode method writes it
// in hex (the quick start's -genkey flag prints one). A key of fewer than
// minDistinctBytes distinct byte values (all zeros, a repeated pattern, a
// placeholder) is refused as not random.
//
// Keep the keys across restarts: provider tokens stored under a key that
// is gone cannot be read any more. An error names the variable, the key's
// position and what is wrong with it, never the key's value; it wraps
// ErrConfig.
func CookieKeysFromEnv(name string) ([]CookieKey, error) {
	value, ok := os.LookupEnv(name)
	if !ok {
		return nil, fmt.Errorf("%w: environment variable %s is not set: it should hold the cookie keys (see GenerateCookieKey)", ErrConfig, name)
	}
	return parseCookieKeys(name, value)
}

// parseCookieKeys parses the value of the environment variable name for
// CookieKeysFromEnv.
func parseCookieKeys(name, value string) ([]CookieKey, error) {
	if strings.TrimSpace(value) == "" {
		return nil, fmt.Errorf("%w: environment variable %s is empty: it should hold the cookie keys (see GenerateCookieKey)", ErrConfig, name)
	}
	parts := strings.Split(value, ",")
	keys := make([]CookieKey, 0, len(parts))
	for i, part := range parts {
		raw, err := decodeCookieKey(strings.TrimSpace(part))
		if err != nil {
			return nil, fmt.Errorf("%w: %s: key %d of %d %s", ErrConfig, name, i+1, len(parts), err)
		}
		if err := checkKeyRandom(fmt.Sprintf("%s: key %d of %d", name, i+1, len(parts)), raw); err != nil {
			return nil, err
		}
		keys = append(keys, CookieKey{Hash: raw[:64:64], Block: raw[64:]})
	}
	return keys, nil
}

// minDistinctBytes is the fewest distinct byte values a key of 32 bytes
// or more may hold (a shorter one: half its length). 96 random bytes hold
// about 80 (fewer than 16 with a probability below 2^-300), 32 about 30
// (fewer than 16: below 2^-54), 16 about 15 (fewer than 8: below 2^-40);
// all zeros, "abab…" or a typed placeholder hold a handful.
const minDistinctBytes = 16

// minDistinct is the fewest distinct byte values a key of n bytes may
// hold: minDistinctBytes, or half of n for a key shorter than 32 bytes.
func minDistinct(n int) int {
	return min(minDistinctBytes, n/2)
}

// looksRandom reports whether raw holds at least minDistinct(len(raw))
// distinct byte values.
func looksRandom(raw []byte) bool {
	var seen [256]bool
	n := 0
	for _, c := range raw {
		if !seen[c] {
			seen[c] = true
			n++
		}
	}
	return n >= minDistinct(len(raw))
}

// checkKeyRandom refuses a key that is not random (see looksRandom): the
// one check of every key, from CookieKeysFromEnv and given to New alike
// (Keys.Cookie's Hash and Block, Keys.Token). Its error wraps ErrConfig
// and names the key by what ("Keys.Token[0]"), never by its bytes.
func checkKeyRandom(what string, key []byte) error {
	if looksRandom(key) {
		return nil
	}
	return fmt.Errorf("%w: %s is not random (fewer than %d distinct byte values in its %d bytes: a placeholder or a repeated pattern?); make keys with crypto/rand (GenerateCookieKey makes cookie keys)",
		ErrConfig, what, minDistinct(len(key)), len(key))
}

// decodeCookieKey decodes one key: hex when every character is a hex
// digit, else base64 in either alphabet, padded or not. Its error is the
// predicate of a sentence ("is empty") that never quotes the key.
func decodeCookieKey(s string) ([]byte, error) {
	if s == "" {
		return nil, errors.New("is empty (a stray comma?)")
	}
	if strings.Trim(s, "0123456789abcdefABCDEF") == "" {
		raw, err := hex.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("is hex with an odd number of digits (%d)", len(s))
		}
		if len(raw) != cookieKeySize {
			return nil, fmt.Errorf("is %d bytes in hex, not %d (64 hash + 32 block)", len(raw), cookieKeySize)
		}
		return raw, nil
	}
	b64 := strings.TrimRight(s, "=")
	if strings.ContainsAny(b64, "-_") {
		b64 = strings.NewReplacer("-", "+", "_", "/").Replace(b64)
	}
	raw, err := base64.RawStdEncoding.DecodeString(b64)
	if err != nil || strings.ContainsAny(s, "+/") && strings.ContainsAny(s, "-_") || len(s)-len(b64) > 2 {
		return nil, errors.New("is neither hex nor base64")
	}
	if len(raw) != cookieKeySize {
		return nil, fmt.Errorf("is %d bytes in base64, not %d (64 hash + 32 block)", len(raw), cookieKeySize)
	}
	return raw, nil
}

// keyring seals cookies and provider tokens. The first key seals; all keys
// open, so keys rotate by prepending a new one and dropping the oldest later.
type keyring struct {
	codecs []securecookie.Codec
	aeads  []keyedAEAD
}

type keyedAEAD struct {
	id   [4]byte
	aead cipher.AEAD
}

func newKeyring(cookieKeys []CookieKey, tokenKeys [][]byte, flowTTL time.Duration) (*keyring, error) {
	if len(cookieKeys) == 0 {
		return nil, fmt.Errorf("%w: Keys.Cookie is empty (see GenerateCookieKey)", ErrConfig)
	}
	k := &keyring{}
	for i, ck := range cookieKeys {
		if n := len(ck.Hash); n < 32 {
			return nil, fmt.Errorf("%w: Keys.Cookie[%d].Hash has %d bytes, want at least 32", ErrConfig, i, n)
		}
		if n := len(ck.Block); n != 16 && n != 24 && n != 32 {
			return nil, fmt.Errorf("%w: Keys.Cookie[%d].Block has %d bytes, want 16, 24 or 32", ErrConfig, i, n)
		}
		if err := checkKeyRandom(fmt.Sprintf("Keys.Cookie[%d].Hash", i), ck.Hash); err != nil {
			return nil, err
		}
		if err := checkKeyRandom(fmt.Sprintf("Keys.Cookie[%d].Block", i), ck.Block); err != nil {
			return nil, err
		}
		sc := securecookie.New(ck.Hash, ck.Block)
		sc.SetSerializer(securecookie.JSONEncoder{})
		sc.MaxAge(int(flowTTL / time.Second))
		k.codecs = append(k.codecs, sc)
	}
	given := len(tokenKeys) > 0 // else derived below: random already
	if !given {
		for _, ck := range cookieKeys {
			secret := append(append([]byte{}, ck.Hash...), ck.Block...)
			key, err := hkdf.Key(sha256.New, secret, nil, "oauthlogin provider tokens v1", 32)
			if err != nil {
				return nil, err
			}
			tokenKeys = append(tokenKeys, key)
		}
	}
	for i, tk := range tokenKeys {
		if len(tk) != 32 {
			return nil, fmt.Errorf("%w: Keys.Token[%d] has %d bytes, want 32", ErrConfig, i, len(tk))
		}
		if given {
			if err := checkKeyRandom(fmt.Sprintf("Keys.Token[%d]", i), tk); err != nil {
				return nil, err
			}
		}
		block, err := aes.NewCipher(tk)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(tk)
		k.aeads = append(k.aeads, keyedAEAD{id: [4]byte(sum[:4]), aead: aead})
	}
	return k, nil
}

func (k *keyring) encodeCookie(name string, v any) (string, error) {
	return securecookie.EncodeMulti(name, v, k.codecs...)
}

func (k *keyring) decodeCookie(name, value string, v any) error {
	return securecookie.DecodeMulti(name, value, v, k.codecs...)
}

// sessionAAD starts the additional data that binds a session's sealed
// tokens to it; only those keep the ID token (keyring.sealRefreshed).
//
// The id_token_hint of RP-Initiated Logout names "the End-User's current
// authenticated session with the Client" (§2): the provider session of
// this browser's login. So a session keeps its own login's ID token, for
// its whole life: the identity's latest ID token may come from a login in
// another browser (another provider session), and so may one that a
// refresh returns, since every session of an identity refreshes the
// latest login's grant.
const sessionAAD = "session:"

// sealedToken is the plaintext layout of sealed provider tokens.
type sealedToken struct {
	Access  string `json:"a,omitempty"`
	Refresh string `json:"r,omitempty"`
	Type    string `json:"t,omitempty"`
	// Refreshed is when a refresh obtained these tokens (Unix
	// nanoseconds; zero for tokens from a login): what a Refresh within
	// refreshReuse of it reuses, on any instance.
	Refreshed int64 `json:"f,omitempty"`
	// IDToken is the ID token that came with the tokens (OpenID
	// providers), kept for the id_token_hint of RP-initiated logout.
	IDToken string `json:"i,omitempty"`
	// DPoPKey is the private key the tokens are bound to (RFC 9449), when
	// the provider has DPoP on.
	DPoPKey []byte `json:"k,omitempty"`
}

var errUnseal = errors.New("oauthlogin: cannot open sealed provider tokens")

// seal encrypts a token's access and refresh values (and the DPoP key
// the tokens are bound to, if any: dpop.go) with AES-GCM under the
// first key. aad binds the ciphertext to its record, so that sealed tokens
// cannot be moved from one session or identity to another.
func (k *keyring) seal(t *oauth2.Token, aad string) ([]byte, error) {
	if t == nil {
		return nil, nil
	}
	return k.sealRefreshed(t, time.Time{}, aad)
}

// sealRefreshed is seal for tokens a refresh obtained at refreshed.
func (k *keyring) sealRefreshed(t *oauth2.Token, refreshed time.Time, aad string) ([]byte, error) {
	if t == nil {
		return nil, nil
	}
	st := sealedToken{Access: t.AccessToken, Refresh: t.RefreshToken, Type: t.TokenType}
	if strings.HasPrefix(aad, sessionAAD) {
		// Only a session keeps the ID token: its login's, the
		// id_token_hint of its RP-initiated logout (see sessionAAD).
		st.IDToken, _ = t.Extra("id_token").(string)
	}
	if !refreshed.IsZero() {
		st.Refreshed = refreshed.UnixNano()
	}
	if key := tokenDPoPKey(t); key != nil {
		st.DPoPKey = key.bytes()
	}
	return k.sealValue(st, aad)
}

// open reverses seal. Expiry is not sealed: callers set it from the record.
func (k *keyring) open(sealed []byte, aad string) (*oauth2.Token, error) {
	tok, _, err := k.openRefreshed(sealed, aad)
	return tok, err
}

// openRefreshed reverses sealRefreshed: the tokens, and when a refresh
// obtained them (zero for tokens from a login).
func (k *keyring) openRefreshed(sealed []byte, aad string) (*oauth2.Token, time.Time, error) {
	if len(sealed) == 0 {
		return nil, time.Time{}, nil
	}
	var st sealedToken
	if err := k.openValue(sealed, aad, &st); err != nil {
		return nil, time.Time{}, err
	}
	var refreshed time.Time
	if st.Refreshed != 0 {
		refreshed = time.Unix(0, st.Refreshed)
	}
	tok := &oauth2.Token{AccessToken: st.Access, RefreshToken: st.Refresh, TokenType: st.Type}
	var key *dpopKey
	if len(st.DPoPKey) > 0 {
		var err error
		if key, err = parseDPoPKey(st.DPoPKey); err != nil {
			return nil, time.Time{}, errUnseal
		}
	}
	if st.IDToken != "" || key != nil {
		tok = withSealedExtras(tok, st.IDToken, key)
	}
	return tok, refreshed, nil
}

// sealValue encrypts the JSON of v with AES-GCM under the first token
// key, bound to aad; openValue reverses it (errUnseal when it cannot).
// Layout: key id (4) | nonce (12) | ciphertext.
func (k *keyring) sealValue(v any, aad string) ([]byte, error) {
	plain, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	ka := k.aeads[0]
	out := make([]byte, 4, 4+ka.aead.NonceSize()+len(plain)+ka.aead.Overhead())
	copy(out, ka.id[:])
	out = append(out, randomBytes(ka.aead.NonceSize())...)
	return ka.aead.Seal(out, out[4:], plain, []byte(aad)), nil
}

func (k *keyring) openValue(sealed []byte, aad string, v any) error {
	for _, ka := range k.aeads {
		ns := ka.aead.NonceSize()
		if len(sealed) < 4+ns || [4]byte(sealed[:4]) != ka.id {
			continue
		}
		plain, err := ka.aead.Open(nil, sealed[4:4+ns], sealed[4+ns:], []byte(aad))
		if err != nil || json.Unmarshal(plain, v) != nil {
			return errUnseal
		}
		return nil
	}
	return errUnseal
}

// withSealedExtras returns tok with the extras a seal keeps and an open
// gives back, and no others: the ID token (idToken, "" for none) and the
// DPoP key (nil for none).
func withSealedExtras(tok *oauth2.Token, idToken string, key *dpopKey) *oauth2.Token {
	extra := make(map[string]any, 2)
	if idToken != "" {
		extra["id_token"] = idToken
	}
	if key != nil {
		extra[dpopExtra] = key
	}
	return tok.WithExtra(extra)
}

// randomBytes returns n bytes from crypto/rand, which never fails.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// randomToken returns a base64url string of n random bytes (the string
// is its one allocation for n up to 48).
func randomToken(n int) string {
	var raw [48]byte
	var out [64]byte
	if n > len(raw) {
		return base64.RawURLEncoding.EncodeToString(randomBytes(n))
	}
	rand.Read(raw[:n])
	m := base64.RawURLEncoding.EncodedLen(n)
	base64.RawURLEncoding.Encode(out[:m], raw[:n])
	return string(out[:m])
}

// hashID returns the base64url SHA-256 of a secret: the only form in which
// session tokens and one-time secrets are stored.
func hashID(secret string) string {
	var sum [sha256.Size]byte
	var buf [64]byte
	if len(secret) <= len(buf) { // tokens are 43 bytes: hash without a heap copy
		sum = sha256.Sum256(buf[:copy(buf[:], secret)])
	} else {
		sum = sha256.Sum256([]byte(secret))
	}
	var out [43]byte
	base64.RawURLEncoding.Encode(out[:], sum[:])
	return string(out[:])
}
