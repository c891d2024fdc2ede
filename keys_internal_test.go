package oauthlogin

import (
	"strings"
	"testing"
)

func TestHashIDLong(t *testing.T) {
	short, long := hashID("a"), hashID(strings.Repeat("a", 1000))
	if len(short) != 43 || len(long) != 43 || short == long {
		t.Fatalf("hashID: %q %q", short, long)
	}
}
