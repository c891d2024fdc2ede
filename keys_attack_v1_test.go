package oauthlogin_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/store/cookiestore"
)

// leaks reports whether msg quotes 8 or more consecutive characters of
// secret (or of its lower-case form).
func leaks(msg, secret string) bool {
	for _, s := range []string{secret, strings.ToLower(secret)} {
		for i := 0; i+8 <= len(s); i++ {
			if strings.Contains(msg, s[i:i+8]) {
				return true
			}
		}
	}
	return false
}

// CookieKeysFromEnv's errors name the variable, the key's position and
// the problem, never the key: malformed values of every shape, each built
// around real key material.
func TestAttackV1CookieKeysFromEnvNeverEchoes(t *testing.T) {
	k := oauthlogin.GenerateCookieKey()
	hx := k.Encode()
	raw, _ := hex.DecodeString(hx)
	b64 := base64.StdEncoding.EncodeToString(raw)
	u64 := base64.RawURLEncoding.EncodeToString(raw)
	for _, v := range []string{
		hx[:191], hx + "0", hx + "00", hx[:190] + "zz", hx[:96] + " " + hx[96:], hx[:96] + "\n" + hx[96:],
		hx + ",", "," + hx, hx + ",," + hx, hx + ";" + hx, hx + " " + hx, "0x" + hx, `"` + hx + `"`,
		b64 + "=", b64[:len(b64)-1], b64 + "A", strings.Replace(b64, "A", "-", 1) + "+/", u64 + "===",
		u64[:60] + "é" + u64[60:], u64[:60] + "%3D" + u64[60:], "base64:" + b64,
		hx[:64], b64[:100], hx + hx,
	} {
		t.Setenv("ATTACK_KEYS", v)
		_, err := oauthlogin.CookieKeysFromEnv("ATTACK_KEYS")
		if err == nil {
			continue // b64+"=" is accepted: an extra pad is harmless
		}
		if !errors.Is(err, oauthlogin.ErrConfig) {
			t.Errorf("error does not wrap ErrConfig: %v", err)
		}
		for _, secret := range []string{hx, b64, u64} {
			if leaks(err.Error(), secret) {
				t.Errorf("error quotes key material: %v", err)
			}
		}
	}
}

// CookieKey.String returns the secret key in hex (the form the
// environment takes). String is what fmt's %v and %s, slog's text and JSON
// handlers (via fmt) and most error wrappers call implicitly, so an app
// that logs its Config (a common startup line: slog.Info("config", "cfg",
// cfg)) or a panic that prints one writes every cookie key, and with them
// the HKDF-derived provider-token keys, to its logs: SECURITY.md's "Leaked
// logs" attacker must not find a key there. Before v1 the same log showed
// byte slices, still a leak, but not a paste-ready key.
// Enforces SECURITY.md's "Leaked logs" attacker and issue 16 (attack
// report, defect 4): String, GoString, MarshalJSON redact; only Encode reveals.
func TestAttackV1CookieKeyFormattedLeaks(t *testing.T) {
	k := oauthlogin.GenerateCookieKey()
	cfg := oauthlogin.Config{BaseURL: "https://app.example.com", Keys: oauthlogin.Keys{Cookie: []oauthlogin.CookieKey{k}}}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("config", "cfg", cfg)
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("key", "key", k)
	for _, out := range []string{fmt.Sprintf("%v", cfg), fmt.Sprintf("%+v", cfg), fmt.Sprint(k), buf.String()} {
		if leaks(out, k.Encode()) {
			t.Fatalf("formatting a Config or CookieKey prints the key: %.200s…", out)
		}
	}
}

// A key of 96 zero bytes (or any low-entropy value: a placeholder copied
// from a doc, "000…", "aaaa…") is accepted: anyone can forge session and
// flow cookies of an app deployed with it. GenerateCookieKey's output
// never looks like that, so refusing keys with few distinct bytes costs
// nothing.
// Enforces issue 16 (attack report, defect 11): a key of fewer than 16
// distinct byte values is refused as not random.
func TestAttackV1CookieKeysFromEnvAcceptsWeakKey(t *testing.T) {
	for _, v := range []string{strings.Repeat("0", 192), strings.Repeat("ab", 96), strings.Repeat("A", 128)} {
		t.Setenv("ATTACK_KEYS", v)
		if _, err := oauthlogin.CookieKeysFromEnv("ATTACK_KEYS"); err == nil {
			t.Errorf("a %d-character key of one repeated pattern was accepted", len(v))
		}
	}
}

// Config: IdleTimeout with client-held sessions is refused at New.
func TestAttackV1IdleTimeoutSealedRefused(t *testing.T) {
	keys := []oauthlogin.CookieKey{oauthlogin.GenerateCookieKey()}
	_, err := oauthlogin.New(oauthlogin.Config{
		BaseURL:  "https://app.example.com",
		Keys:     oauthlogin.Keys{Cookie: keys},
		Store:    cookiestore.New(oauthlogin.NewMemoryStore(), keys...),
		Sessions: oauthlogin.SessionOptions{IdleTimeout: time.Hour},
	})
	if !errors.Is(err, oauthlogin.ErrConfig) {
		t.Fatalf("IdleTimeout with cookiestore: New = %v, want ErrConfig", err)
	}
}

// hangingStore never answers an identity read, whatever its context says
// (a driver with no dial timeout, a wedged pool), until released.
type hangingStore struct {
	*oauthlogin.MemoryStore
	release chan struct{}
}

func (s *hangingStore) Identity(ctx context.Context, issuer, subject string) (*oauthlogin.Identity, error) {
	<-s.release
	return nil, oauthlogin.ErrNotFound
}

// Check bounds its wait but not its work: each call on a store that
// ignores its context leaves a goroutine blocked in the store. A health
// endpoint that calls Check per probe (what Check is for: "New (or an
// explicit m.Check(ctx))") piles up one goroutine, and one pending store
// call, per probe for as long as the store hangs: unbounded. One check in
// flight at a time, shared by callers, bounds it.
// Enforces issue 16 (attack report, defect 2) and Check's doc: "Concurrent
// calls share one read of the store".
func TestAttackV1CheckLeaksGoroutinePerCall(t *testing.T) {
	st := &hangingStore{MemoryStore: oauthlogin.NewMemoryStore(), release: make(chan struct{})}
	defer close(st.release)
	m, err := oauthlogin.New(oauthlogin.Config{BaseURL: "https://app.example.com", Keys: oauthlogin.Keys{Cookie: []oauthlogin.CookieKey{oauthlogin.GenerateCookieKey()}}, Store: st})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // a probe whose deadline has passed: Check returns at once
	before := runtime.NumGoroutine()
	const probes = 100
	for range probes {
		if err := m.Check(ctx); err == nil {
			t.Fatal("Check of a hanging store = nil")
		}
	}
	if grown := runtime.NumGoroutine() - before; grown >= probes/2 {
		t.Fatalf("%d Check calls on a hanging store left %d goroutines behind", probes, grown)
	}
}

// Check with a context the caller canceled (a client that went away)
// blames the store ("did not answer in time", ErrStoreUnavailable),
// though the store was never slow: a health check then marks a healthy
// instance down.
// Enforces issue 16 (attack report, defect 3) and Check's doc: "A ctx the
// caller cancels is not the store's fault".
func TestAttackV1CheckBlamesStoreForCallerCancel(t *testing.T) {
	m, err := oauthlogin.New(oauthlogin.Config{BaseURL: "https://app.example.com", Keys: oauthlogin.Keys{Cookie: []oauthlogin.CookieKey{oauthlogin.GenerateCookieKey()}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := m.Check(ctx); errors.Is(err, oauthlogin.ErrStoreUnavailable) {
		t.Fatalf("Check(canceled ctx) on a healthy memory store = %v", err)
	}
}

// cookiestore.New(inner) with its keys forgotten (the variadic makes
// that compile: cookiestore.New(redisstore.New(client))) is accepted by
// New and by Check; every sign-in then fails at the callback, after
// the provider round trip. Issue 16 §7: New (or Check) should say what
// is wrong before the first login.
// Enforces issue 16 §7 ("New should say what is wrong before the first
// login") for defect 9: New refuses a sealer that cannot seal (ErrConfig).
func TestAttackV1CookieStoreWithoutKeysAccepted(t *testing.T) {
	m, err := oauthlogin.New(oauthlogin.Config{
		BaseURL: "https://app.example.com",
		Keys:    oauthlogin.Keys{Cookie: []oauthlogin.CookieKey{oauthlogin.GenerateCookieKey()}},
		Store:   cookiestore.New(oauthlogin.NewMemoryStore()),
	})
	if err == nil {
		err = m.Check(context.Background())
	}
	if !errors.Is(err, oauthlogin.ErrConfig) {
		t.Fatalf("New + Check with cookiestore.New(inner) and no keys = %v, want ErrConfig", err)
	}
}

// Defence: Check returns when its context's deadline passes even if the
// store never answers, with an error that names the store and wraps
// ErrStoreUnavailable. (A deadline, not a cancel: a caller's cancel is
// the caller's, TestAttackV1CheckBlamesStoreForCallerCancel.)
func TestAttackV1CheckDoesNotHang(t *testing.T) {
	st := &hangingStore{MemoryStore: oauthlogin.NewMemoryStore(), release: make(chan struct{})}
	defer close(st.release)
	m, err := oauthlogin.New(oauthlogin.Config{BaseURL: "https://app.example.com", Keys: oauthlogin.Keys{Cookie: []oauthlogin.CookieKey{oauthlogin.GenerateCookieKey()}}, Store: st})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithDeadline(context.Background(), time.Unix(0, 0)) // already passed
	defer cancel()
	err = m.Check(ctx)
	if !errors.Is(err, oauthlogin.ErrStoreUnavailable) || !strings.Contains(err.Error(), "hangingStore") {
		t.Fatalf("Check of a hanging store = %v", err)
	}
}
