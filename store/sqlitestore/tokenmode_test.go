package sqlitestore_test

import (
	"testing"

	"github.com/oauthlogin/oauthlogin/store/internal/scenario"
)

func TestSQLiteTokenModeReplay(t *testing.T) {
	s, _ := newSQLite(t)
	scenario.TokenModeReplay(t, s)
}

func TestSQLiteTokenModeProofOfPossession(t *testing.T) {
	s, _ := newSQLite(t)
	scenario.TokenModeProofOfPossession(t, s)
}
