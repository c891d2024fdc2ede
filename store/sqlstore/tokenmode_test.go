package sqlstore_test

import (
	"testing"

	"github.com/oauthlogin/oauthlogin/store/internal/scenario"
)

func TestPostgresTokenModeReplay(t *testing.T) {
	s, _ := newPostgres(t, pool(t))
	scenario.TokenModeReplay(t, s)
}

func TestSQLiteTokenModeReplay(t *testing.T) {
	s, _ := newSQLite(t)
	scenario.TokenModeReplay(t, s)
}

func TestPostgresTokenModeProofOfPossession(t *testing.T) {
	s, _ := newPostgres(t, pool(t))
	scenario.TokenModeProofOfPossession(t, s)
}

func TestSQLiteTokenModeProofOfPossession(t *testing.T) {
	s, _ := newSQLite(t)
	scenario.TokenModeProofOfPossession(t, s)
}
