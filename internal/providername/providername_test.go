package providername

import (
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	for _, name := range []string{"google", "a", "0", "my-idp_2", strings.Repeat("a", 64)} {
		if err := Check(name); err != nil {
			t.Errorf("Check(%q) = %v, want nil", name, err)
		}
	}
	for _, name := range []string{"", "Test Provider", "Google", "-a", "_a", "a b", "a/b", "a.b", "é", strings.Repeat("a", 65),
		"session", "sessions", "refresh", "identities", "token", "device", "logout"} {
		err := Check(name)
		if err == nil {
			t.Errorf("Check(%q) = nil, want an error", name)
			continue
		}
		if !strings.Contains(err.Error(), Rule) {
			t.Errorf("Check(%q) = %q: does not state the rule", name, err)
		}
	}
}
