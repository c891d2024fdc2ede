package redisstore_test

import (
	"testing"

	"github.com/oauthlogin/oauthlogin/store/internal/scenario"
)

func TestRefreshAfterLogout(t *testing.T) {
	s, _ := newStore(t, client(t))
	scenario.RefreshAfterLogout(t, s)
}

func TestIdentitySessions(t *testing.T) {
	s, _ := newStore(t, client(t))
	scenario.IdentitySessions(t, s)
}

func TestDPoPAcrossInstances(t *testing.T) {
	s, _ := newStore(t, client(t))
	scenario.DPoPAcrossInstances(t, s)
}

func TestBackChannelLogout(t *testing.T) {
	s, _ := newStore(t, client(t))
	scenario.BackChannelLogout(t, s)
}
