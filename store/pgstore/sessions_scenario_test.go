package pgstore_test

import (
	"testing"

	"github.com/oauthlogin/oauthlogin/store/internal/scenario"
)

func TestPostgresRefreshAfterLogout(t *testing.T) {
	s, _ := newPostgres(t, pool(t))
	scenario.RefreshAfterLogout(t, s)
}

func TestPostgresIdentitySessions(t *testing.T) {
	s, _ := newPostgres(t, pool(t))
	scenario.IdentitySessions(t, s)
}

func TestPostgresDPoPAcrossInstances(t *testing.T) {
	s, _ := newPostgres(t, pool(t))
	scenario.DPoPAcrossInstances(t, s)
}

func TestPostgresBackChannelLogout(t *testing.T) {
	s, _ := newPostgres(t, pool(t))
	scenario.BackChannelLogout(t, s)
}
