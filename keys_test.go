package oauthlogin

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// The key CookieKey.Encode reveals is the key CookieKeysFromEnv reads.
func TestCookieKeyEncodeRoundTrip(t *testing.T) {
	k1, k2 := GenerateCookieKey(), GenerateCookieKey()
	if s := k1.Encode(); len(s) != 2*cookieKeySize || strings.Trim(s, "0123456789abcdef") != "" {
		t.Fatalf("Encode() = %d characters, want %d lower-case hex digits", len(s), 2*cookieKeySize)
	}
	t.Setenv("TEST_COOKIE_KEYS", k1.Encode()+", "+k2.Encode())
	keys, err := CookieKeysFromEnv("TEST_COOKIE_KEYS")
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || !sameKey(keys[0], k1) || !sameKey(keys[1], k2) {
		t.Fatal("CookieKeysFromEnv did not read back the keys Encode wrote, in order")
	}
	if _, err := newKeyring(keys, nil, 60); err != nil {
		t.Fatalf("the keys read do not make a keyring: %v", err)
	}
}

func sameKey(a, b CookieKey) bool {
	return bytes.Equal(a.Hash, b.Hash) && bytes.Equal(a.Block, b.Block)
}

// Every spelling the doc promises reads as the same key.
func TestCookieKeysFromEnvEncodings(t *testing.T) {
	k := GenerateCookieKey()
	raw := append(append([]byte{}, k.Hash...), k.Block...)
	for name, v := range map[string]string{
		"hex":                hex.EncodeToString(raw),
		"HEX":                strings.ToUpper(hex.EncodeToString(raw)),
		"base64":             base64.StdEncoding.EncodeToString(raw),
		"base64url":          base64.URLEncoding.EncodeToString(raw),
		"base64url unpadded": base64.RawURLEncoding.EncodeToString(raw),
		"base64 with spaces": "  " + base64.StdEncoding.EncodeToString(raw) + "\t",
	} {
		keys, err := parseCookieKeys("K", v)
		if err != nil || len(keys) != 1 || !sameKey(keys[0], k) {
			t.Errorf("%s: got %d keys, %v", name, len(keys), err)
		}
	}
}

// Each way a variable can be wrong has an error that says what is wrong,
// names the variable and the key's position, and never quotes the key.
func TestCookieKeysFromEnvErrors(t *testing.T) {
	good := GenerateCookieKey().Encode()
	short := hex.EncodeToString(randomBytes(64))
	shortB64 := base64.StdEncoding.EncodeToString(randomBytes(48)) + "Zm9v"
	for _, tc := range []struct {
		name, value string
		unset       bool
		want        []string
		secret      string
	}{
		{name: "unset", unset: true, want: []string{"TEST_COOKIE_KEYS", "not set"}},
		{name: "empty", value: "", want: []string{"TEST_COOKIE_KEYS", "is empty"}},
		{name: "blank", value: "  ", want: []string{"TEST_COOKIE_KEYS", "is empty"}},
		{name: "empty element", value: good + ",," + good, want: []string{"TEST_COOKIE_KEYS", "key 2 of 3", "is empty"}, secret: good},
		{name: "trailing comma", value: good + ",", want: []string{"key 2 of 2", "is empty"}, secret: good},
		{name: "not an encoding", value: good + "," + strings.Repeat("not-a-key!", 13), want: []string{"key 2 of 2", "neither hex nor base64"}, secret: strings.Repeat("not-a-key!", 13)},
		{name: "mixed alphabets", value: strings.Repeat("ab+_", 32), want: []string{"key 1 of 1", "neither hex nor base64"}, secret: strings.Repeat("ab+_", 32)},
		{name: "odd hex", value: good[:191], want: []string{"key 1 of 1", "odd number of digits"}, secret: good[:191]},
		{name: "hex too short", value: short, want: []string{"key 1 of 1", "64 bytes in hex, not 96"}, secret: short},
		{name: "base64 wrong length", value: shortB64, want: []string{"key 1 of 1", "51 bytes in base64, not 96"}, secret: shortB64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.unset {
				t.Setenv("TEST_COOKIE_KEYS", "x")
				unsetenv(t, "TEST_COOKIE_KEYS")
			} else {
				t.Setenv("TEST_COOKIE_KEYS", tc.value)
			}
			keys, err := CookieKeysFromEnv("TEST_COOKIE_KEYS")
			if err == nil || keys != nil {
				t.Fatalf("got %d keys, %v; want an error", len(keys), err)
			}
			if !errors.Is(err, ErrConfig) {
				t.Errorf("%v does not wrap ErrConfig", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q does not say %q", err, w)
				}
			}
			if tc.secret != "" && strings.Contains(err.Error(), tc.secret[:16]) {
				t.Errorf("%q quotes the key", err)
			}
		})
	}
}

// FuzzCookieKeysFromEnv: any value either reads as keys of the documented
// sizes, one per comma-separated element, that String writes back to a
// value read as the same keys; or is an error that quotes no element.
func FuzzCookieKeysFromEnv(f *testing.F) {
	k := GenerateCookieKey()
	raw := append(append([]byte{}, k.Hash...), k.Block...)
	f.Add(k.Encode())
	f.Add(k.Encode() + "," + base64.RawURLEncoding.EncodeToString(raw))
	f.Add(base64.StdEncoding.EncodeToString(raw) + " ,")
	f.Add("")
	f.Add(",")
	f.Add("abc")
	f.Fuzz(func(t *testing.T, value string) {
		keys, err := parseCookieKeys("K", value)
		if err != nil {
			if keys != nil {
				t.Fatal("keys with an error")
			}
			for _, part := range strings.Split(value, ",") {
				part = strings.TrimSpace(part)
				if len(part) >= 16 && !strings.ContainsAny(part, " \t\r\n") && strings.Contains(err.Error(), part) {
					t.Fatalf("%q quotes the key %q", err, part)
				}
			}
			return
		}
		if len(keys) != strings.Count(value, ",")+1 {
			t.Fatalf("%d keys from %d elements", len(keys), strings.Count(value, ",")+1)
		}
		written := make([]string, len(keys))
		for i, k := range keys {
			if len(k.Hash) != 64 || len(k.Block) != 32 {
				t.Fatalf("key %d: %d + %d bytes", i, len(k.Hash), len(k.Block))
			}
			written[i] = k.Encode()
		}
		again, err := parseCookieKeys("K", strings.Join(written, ","))
		if err != nil || len(again) != len(keys) {
			t.Fatalf("String's form does not read back: %v", err)
		}
		for i := range keys {
			if !sameKey(keys[i], again[i]) {
				t.Fatalf("key %d changed on the way through String", i)
			}
		}
	})
}

// unsetenv unsets an environment variable for the test (after t.Setenv,
// which restores it at cleanup).
func unsetenv(t *testing.T, name string) {
	t.Helper()
	if err := os.Unsetenv(name); err != nil {
		t.Fatal(err)
	}
}

// recordLog is a slog handler that keeps its records.
type recordLog struct {
	mu      sync.Mutex
	records []slog.Record
}

func (l *recordLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *recordLog) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.records = append(l.records, r.Clone())
	return nil
}
func (l *recordLog) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *recordLog) WithGroup(string) slog.Handler      { return l }

// A restart with a new key leaves the stored provider tokens unreadable:
// the Manager says so once, as a warning without token material, however
// many sessions it meets; the sessions stand, without provider tokens.
func TestUnreadableTokensWarnOnce(t *testing.T) {
	store := NewMemoryStore()
	before, err := New(Config{BaseURL: "http://localhost:8080", Keys: Keys{Cookie: []CookieKey{GenerateCookieKey()}}, Store: store})
	if err != nil {
		t.Fatal(err)
	}
	var bearers, secrets []string
	for i := range 2 {
		bearer := randomToken(32)
		tok := &oauth2.Token{AccessToken: "access-" + randomToken(16), RefreshToken: "refresh-" + randomToken(16)}
		s := &Session{ID: hashID(bearer), UserID: "u" + strconv.Itoa(i), Provider: "test", Expires: time.Now().Add(time.Hour)}
		if s.ProviderTokens, err = before.keys.seal(tok, "session:"+s.ID); err != nil {
			t.Fatal(err)
		}
		if err := store.SaveSession(context.Background(), s); err != nil {
			t.Fatal(err)
		}
		bearers, secrets = append(bearers, bearer), append(secrets, tok.AccessToken, tok.RefreshToken, bearer)
	}
	logs := &recordLog{}
	after, err := New(Config{BaseURL: "http://localhost:8080", Keys: Keys{Cookie: []CookieKey{GenerateCookieKey()}}, Store: store, Logger: slog.New(logs)})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		for _, bearer := range bearers {
			req := httptest.NewRequest("GET", "http://localhost:8080/auth/session", nil)
			req.Header.Set("Authorization", "Bearer "+bearer)
			rec := httptest.NewRecorder()
			after.Handler().ServeHTTP(rec, req)
			if rec.Code != http.StatusOK || strings.Contains(rec.Body.String(), "providerAccessToken\":\"access") {
				t.Fatalf("GET session = %d %s: want the session, without provider tokens", rec.Code, rec.Body)
			}
		}
	}
	warnings := 0
	for _, r := range logs.records {
		var text strings.Builder
		text.WriteString(r.Message)
		r.Attrs(func(a slog.Attr) bool { text.WriteString(" " + a.String()); return true })
		for _, s := range secrets {
			if strings.Contains(text.String(), s) {
				t.Errorf("a log record holds token material: %s", text.String())
			}
		}
		if r.Level == slog.LevelWarn && strings.Contains(r.Message, "cannot be opened with the current keys") {
			warnings++
		}
	}
	if warnings != 1 {
		t.Fatalf("%d warnings about unreadable provider tokens, want exactly 1 (records: %d)", warnings, len(logs.records))
	}
}

// A CookieKey never prints itself: fmt (%v, %+v, %#v, %s), JSON (slog's
// JSON handler encodes a Config so) and slog all show
// "CookieKey(redacted)" (a Keys holding it, "Keys(redacted)"); only Encode
// reveals the key. SECURITY.md's
// "Leaked logs" attacker; issue 16 (attack report, defect 4).
func TestCookieKeyRedacted(t *testing.T) {
	k := GenerateCookieKey()
	secret := k.Encode()
	keys := Keys{Cookie: []CookieKey{k}}
	js, err := json.Marshal(keys)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("cfg", "keys", keys, "key", k)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("cfg", "keys", keys, "key", k)
	// A Keys prints as a whole "Keys(redacted)" (TestKeysRedacted).
	for out, want := range map[string]string{
		fmt.Sprintf("%v", keys): "Keys(redacted)", fmt.Sprintf("%+v", keys): "Keys(redacted)", fmt.Sprintf("%#v", keys): "Keys(redacted)",
		fmt.Sprint(k): "CookieKey(redacted)", fmt.Sprintf("%#v", k): "CookieKey(redacted)", string(js): "Keys(redacted)",
		buf.String(): "CookieKey(redacted)", buf.String() + " ": "Keys(redacted)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("%q does not say the key is redacted (%s)", out, want)
		}
		hexHash, b64Hash := hex.EncodeToString(k.Hash[:8]), base64.StdEncoding.EncodeToString(k.Hash[:9])
		if strings.Contains(out, secret[:16]) || strings.Contains(out, hexHash) || strings.Contains(out, b64Hash) {
			t.Errorf("%q holds the key", out)
		}
	}
}

// Keys with few distinct byte values are refused as not random, and a
// generated key never is: issue 16 (attack report, defect 11).
func TestCookieKeysFromEnvRefusesWeakKeys(t *testing.T) {
	weak := make([]byte, cookieKeySize)
	for i := range weak {
		weak[i] = byte(i % (minDistinctBytes - 1))
	}
	for _, v := range []string{hex.EncodeToString(weak), base64.StdEncoding.EncodeToString(weak), strings.Repeat("00", cookieKeySize)} {
		t.Setenv("TEST_COOKIE_KEYS", GenerateCookieKey().Encode()+","+v)
		_, err := CookieKeysFromEnv("TEST_COOKIE_KEYS")
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "key 2 of 2 is not random") {
			t.Errorf("weak key: %v", err)
		}
	}
	enough := make([]byte, cookieKeySize)
	for i := range enough {
		enough[i] = byte(i % minDistinctBytes)
	}
	t.Setenv("TEST_COOKIE_KEYS", hex.EncodeToString(enough))
	if _, err := CookieKeysFromEnv("TEST_COOKIE_KEYS"); err != nil {
		t.Errorf("a key of %d distinct bytes: %v", minDistinctBytes, err)
	}
	for range 1000 {
		if k := GenerateCookieKey(); !looksRandom(append(append([]byte{}, k.Hash...), k.Block...)) {
			t.Fatal("a generated key looks not random")
		}
	}
}

// Keys print redacted as a whole: its Token keys are bare byte slices,
// which fmt (%v, %+v, %#v, %s, directly or in a Config), log/slog's text
// and JSON handlers and encoding/json would otherwise print. SECURITY.md's
// "Leaked logs" attacker; RFC 6749 §10.4.
func TestKeysRedacted(t *testing.T) {
	tk := randomBytes(32)
	keys := Keys{Cookie: []CookieKey{GenerateCookieKey()}, Token: [][]byte{tk}}
	cfg := Config{BaseURL: "https://app.example", Keys: keys}
	js, err := json.Marshal(struct{ Keys Keys }{keys}) // a Config holds funcs: JSON cannot encode it
	if err != nil {
		t.Fatal(err)
	}
	var text, jsl bytes.Buffer
	slog.New(slog.NewTextHandler(&text, nil)).Info("cfg", "config", cfg, "keys", keys)
	slog.New(slog.NewJSONHandler(&jsl, nil)).Info("cfg", "keys", keys, "ptr", &keys)
	for how, out := range map[string]string{
		"%v": fmt.Sprintf("%v", keys), "%+v": fmt.Sprintf("%+v", keys), "%#v": fmt.Sprintf("%#v", keys), "String": keys.String(),
		"%+v &Keys": fmt.Sprintf("%+v", &keys), "%+v Config": fmt.Sprintf("%+v", cfg), "%#v Config": fmt.Sprintf("%#v", cfg),
		"json": string(js), "slog text": text.String(), "slog json": jsl.String(),
	} {
		if !strings.Contains(out, redactedKeys) {
			t.Errorf("%s: %q does not say the keys are redacted", how, out)
		}
		for _, form := range []string{hex.EncodeToString(tk[:8]), base64.StdEncoding.EncodeToString(tk[:9]), strings.Trim(fmt.Sprint(tk[:8]), "[]")} {
			if strings.Contains(out, form) {
				t.Errorf("%s holds a token key: %q", how, out)
			}
		}
	}
}

// New refuses every key it is given that is not random, as
// CookieKeysFromEnv does (the one checkKeyRandom): a cookie key's Hash or
// Block, any of them, and a Token key; its error names the key, never its
// bytes. A key shorter than 32 bytes needs half its length in distinct
// byte values. SECURITY.md ("Keys with fewer than 16 distinct byte values
// are refused"); RFC 4086 §3.
func TestNewRefusesWeakKeys(t *testing.T) {
	good := GenerateCookieKey()
	pattern := func(n, distinct int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(0x41 + i%distinct)
		}
		return b
	}
	for _, tc := range []struct {
		keys Keys
		name string // "" when accepted
	}{
		{Keys{Cookie: []CookieKey{{Hash: []byte("changemechangemechangemechangeme"), Block: good.Block}}}, "Keys.Cookie[0].Hash"},
		{Keys{Cookie: []CookieKey{{Hash: good.Hash, Block: make([]byte, 32)}}}, "Keys.Cookie[0].Block"},
		{Keys{Cookie: []CookieKey{good, {Hash: good.Hash, Block: pattern(32, minDistinctBytes-1)}}}, "Keys.Cookie[1].Block"},
		{Keys{Cookie: []CookieKey{good}, Token: [][]byte{randomBytes(32), pattern(32, minDistinctBytes-1)}}, "Keys.Token[1]"},
		{Keys{Cookie: []CookieKey{{Hash: good.Hash, Block: pattern(16, 7)}}}, "Keys.Cookie[0].Block"},
		{Keys{Cookie: []CookieKey{{Hash: good.Hash, Block: pattern(16, 8)}}}, ""},
		{Keys{Cookie: []CookieKey{{Hash: pattern(32, minDistinctBytes), Block: pattern(32, minDistinctBytes)}}, Token: [][]byte{pattern(32, minDistinctBytes)}}, ""},
		{Keys{Cookie: []CookieKey{{Hash: good.Hash, Block: randomBytes(16)}}, Token: [][]byte{randomBytes(32)}}, ""},
	} {
		_, err := New(Config{BaseURL: "https://app.example", Keys: tc.keys})
		if tc.name == "" {
			if err != nil {
				t.Errorf("New refuses keys random enough: %v", err)
			}
			continue
		}
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.name+" is not random") {
			t.Errorf("%s: New = %v, want ErrConfig naming it not random", tc.name, err)
			continue
		}
		for _, k := range append([][]byte{good.Hash, good.Block}, tc.keys.Token...) {
			if strings.Contains(err.Error(), hex.EncodeToString(k[:8])) || strings.Contains(err.Error(), base64.StdEncoding.EncodeToString(k[:9])) {
				t.Errorf("%s: the error holds a key: %v", tc.name, err)
			}
		}
		if strings.Contains(err.Error(), "changeme") || strings.Contains(err.Error(), "ABCDEF") {
			t.Errorf("%s: the error quotes the key: %v", tc.name, err)
		}
	}
}

// TestRandomTokenLengths: randomToken(n) is the base64url of n fresh
// random bytes, on both sides of its stack buffer's size.
func TestRandomTokenLengths(t *testing.T) {
	for _, n := range []int{1, 15, 32, 48, 49, 64} {
		a, b := randomToken(n), randomToken(n)
		raw, err := base64.RawURLEncoding.DecodeString(a)
		if err != nil || len(raw) != n {
			t.Errorf("randomToken(%d) = %q: %d bytes, %v", n, a, len(raw), err)
		}
		if n >= 15 && a == b {
			t.Errorf("randomToken(%d) twice gave %q", n, a)
		}
	}
}
