package oauthlogin_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/oauthlogin/oauthlogin"
)

// keyForms are the ways a key's bytes show in printed or logged output:
// fmt's byte list, hex, base64 (encoding/json of []byte).
func keyForms(k []byte) []string {
	return []string{
		strings.Trim(fmt.Sprint(k), "[]"),
		hex.EncodeToString(k),
		base64.StdEncoding.EncodeToString(k),
	}
}

func printedConfig(cfg oauthlogin.Config) map[string]string {
	out := map[string]string{
		"%v":        fmt.Sprintf("%v", cfg),
		"%+v":       fmt.Sprintf("%+v", cfg),
		"%#v":       fmt.Sprintf("%#v", cfg),
		"%v Keys":   fmt.Sprintf("%v", cfg.Keys),
		"%+v &Keys": fmt.Sprintf("%+v", &cfg.Keys),
	}
	var text bytes.Buffer
	slog.New(slog.NewTextHandler(&text, nil)).Info("starting", "config", cfg, "keys", cfg.Keys)
	out["slog text"] = text.String()
	var js bytes.Buffer
	slog.New(slog.NewJSONHandler(&js, nil)).Info("starting", "keys", cfg.Keys)
	out["slog json"] = js.String()
	return out
}

// Cookie keys print redacted (String, GoString, MarshalJSON),
// through a Config, a Keys and a []CookieKey alike.
func TestAttackV2CookieKeysRedactedEverywhere(t *testing.T) {
	ck := oauthlogin.GenerateCookieKey()
	cfg := oauthlogin.Config{BaseURL: "https://app.example", Keys: oauthlogin.Keys{Cookie: []oauthlogin.CookieKey{ck}}}
	for how, s := range printedConfig(cfg) {
		for _, k := range [][]byte{ck.Hash, ck.Block} {
			for _, form := range keyForms(k) {
				if strings.Contains(s, form) {
					t.Errorf("%s of a Config prints a cookie key: %s", how, s)
				}
			}
		}
	}
	if _, err := oauthlogin.New(oauthlogin.Config{BaseURL: "https://app.example", Keys: oauthlogin.Keys{Cookie: []oauthlogin.CookieKey{{Hash: ck.Hash[:10], Block: ck.Block}}}}); err != nil {
		for _, k := range [][]byte{ck.Hash[:10], ck.Block} {
			for _, form := range keyForms(k) {
				if strings.Contains(err.Error(), form) {
					t.Errorf("New's error names the key: %v", err)
				}
			}
		}
	}
}

// Keys.Token (the AES-256 keys that seal every stored provider access and
// refresh token) is a bare [][]byte in Config.Keys, with none of
// CookieKey's redaction: an app that logs its Config at start (fmt %+v,
// slog's text handler, which formats a struct with %+v; or slog's JSON
// handler given Keys) writes the token keys to its logs, and whoever
// reads the logs can open the provider refresh tokens in the store
// (RFC 6749 §10.4: refresh tokens must be kept confidential in storage).
// CHANGES/README promise "redacted printing" for keys. Enforces RFC 6749
// §10.4 through Keys' String, GoString and MarshalJSON (keys.go).
func TestAttackV2TokenKeysPrinted(t *testing.T) {
	tk := bytes.Repeat([]byte{0xA7}, 32)
	copy(tk, "token-key-0123456789")
	cfg := oauthlogin.Config{BaseURL: "https://app.example", Keys: oauthlogin.Keys{Cookie: []oauthlogin.CookieKey{oauthlogin.GenerateCookieKey()}, Token: [][]byte{tk}}}
	for how, s := range printedConfig(cfg) {
		for _, form := range keyForms(tk) {
			if strings.Contains(s, form) {
				t.Errorf("%s prints a token key", how)
				break
			}
		}
	}
}

// SECURITY.md: "Keys with fewer than 16 distinct byte values are
// refused". Only CookieKeysFromEnv refuses them: the same all-zero or
// typed-placeholder key given to New directly (read from a config file,
// a []byte("...") literal), as a cookie key or as a token key, is
// accepted, and with it anyone who guesses the placeholder forges flow
// cookies (and, with cookiestore, sessions: any user's) or opens every
// stored provider refresh token. Enforces SECURITY.md's rule for every
// key New receives, through keys.go's checkKeyRandom (RFC 4086 §3: keys
// come from a random source, not a guessable value).
func TestAttackV2NewAcceptsWeakKeys(t *testing.T) {
	good := oauthlogin.GenerateCookieKey()
	for name, keys := range map[string]oauthlogin.Keys{
		"zero cookie key":   {Cookie: []oauthlogin.CookieKey{{Hash: make([]byte, 64), Block: make([]byte, 32)}}},
		"typed cookie key":  {Cookie: []oauthlogin.CookieKey{{Hash: []byte("changemechangemechangemechangeme"), Block: []byte("changemechangemechangemechangeme")}}},
		"zero token key":    {Cookie: []oauthlogin.CookieKey{good}, Token: [][]byte{make([]byte, 32)}},
		"second cookie key": {Cookie: []oauthlogin.CookieKey{good, {Hash: make([]byte, 32), Block: make([]byte, 16)}}},
	} {
		_, err := oauthlogin.New(oauthlogin.Config{BaseURL: "https://app.example", Keys: keys})
		if !errors.Is(err, oauthlogin.ErrConfig) {
			t.Errorf("%s: New = %v, want ErrConfig (not random)", name, err)
		}
	}
}
