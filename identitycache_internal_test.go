package oauthlogin

import (
	"strings"
	"testing"
)

// TestKnownIdentitiesBounded: accounts with long names are not
// remembered, and a full cache starts over rather than grow.
func TestKnownIdentitiesBounded(t *testing.T) {
	var k knownIdentities
	k.put("https://idp\x00"+strings.Repeat("s", maxKnownIdentityBytes), "id")
	if _, ok := k.get("https://idp\x00" + strings.Repeat("s", maxKnownIdentityBytes)); ok {
		t.Error("an account over the size bound was remembered")
	}
	for i := range maxKnownIdentities + 10 {
		k.put(strings.Repeat("a", i%300)+string(rune(i)), "id")
	}
	if n := len(k.m); n > maxKnownIdentities {
		t.Errorf("%d accounts remembered, bound %d", n, maxKnownIdentities)
	}
}
