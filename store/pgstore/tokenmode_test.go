package pgstore_test

import (
	"testing"

	"github.com/oauthlogin/oauthlogin/store/internal/scenario"
)

func TestPostgresTokenModeReplay(t *testing.T) {
	s, _ := newPostgres(t, pool(t))
	scenario.TokenModeReplay(t, s)
}

func TestPostgresTokenModeProofOfPossession(t *testing.T) {
	s, _ := newPostgres(t, pool(t))
	scenario.TokenModeProofOfPossession(t, s)
}
