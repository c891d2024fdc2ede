package scenario

import (
	"testing"

	"github.com/oauthlogin/oauthlogin"
)

// The memory store runs the back-channel logout scenario here; the
// server stores run it from their own modules.
func TestMemoryBackChannelLogout(t *testing.T) {
	BackChannelLogout(t, oauthlogin.NewMemoryStore())
}
