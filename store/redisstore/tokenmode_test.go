package redisstore_test

import (
	"testing"

	"github.com/oauthlogin/oauthlogin/store/internal/scenario"
)

func TestTokenModeReplay(t *testing.T) {
	s, _ := newStore(t, client(t))
	scenario.TokenModeReplay(t, s)
}

func TestTokenModeProofOfPossession(t *testing.T) {
	s, _ := newStore(t, client(t))
	scenario.TokenModeProofOfPossession(t, s)
}
