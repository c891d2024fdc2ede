package cookiestore_test

import (
	"testing"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/store/cookiestore"
	"github.com/oauthlogin/oauthlogin/store/internal/scenario"
)

// With the cookie store the pending session is sealed into the secret:
// securecookie's base64 decoding skips CR and LF, so "secret\n" opens the
// same pending session. Single use must hold for it all the same.
func TestTokenModeReplay(t *testing.T) {
	keys := []oauthlogin.CookieKey{oauthlogin.GenerateCookieKey()}
	mem := oauthlogin.NewMemoryStore()
	scenario.TokenModeReplay(t, cookiestore.New(mem, keys...))
}

// The memory store, the default, runs the same scenario.
func TestTokenModeReplayMemory(t *testing.T) {
	mem := oauthlogin.NewMemoryStore()
	scenario.TokenModeReplay(t, mem)
}

func TestTokenModeProofOfPossession(t *testing.T) {
	keys := []oauthlogin.CookieKey{oauthlogin.GenerateCookieKey()}
	mem := oauthlogin.NewMemoryStore()
	scenario.TokenModeProofOfPossession(t, cookiestore.New(mem, keys...))
}

func TestTokenModeProofOfPossessionMemory(t *testing.T) {
	mem := oauthlogin.NewMemoryStore()
	scenario.TokenModeProofOfPossession(t, mem)
}
