package sqlitestore_test

import (
	"testing"

	"github.com/oauthlogin/oauthlogin/store/internal/scenario"
)

func TestSQLiteRefreshAfterLogout(t *testing.T) {
	s, _ := newSQLite(t)
	scenario.RefreshAfterLogout(t, s)
}

func TestSQLiteIdentitySessions(t *testing.T) {
	s, _ := newSQLite(t)
	scenario.IdentitySessions(t, s)
}

func TestSQLiteDPoPAcrossInstances(t *testing.T) {
	s, _ := newSQLite(t)
	scenario.DPoPAcrossInstances(t, s)
}

func TestSQLiteBackChannelLogout(t *testing.T) {
	s, _ := newSQLite(t)
	scenario.BackChannelLogout(t, s)
}
