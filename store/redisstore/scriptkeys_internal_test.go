package redisstore

import (
	"regexp"
	"strings"
	"testing"
)

// The scripts that write or end sessions touch only keys given in KEYS,
// as Redis Cluster requires ("All the keys accessed by the script must be
// explicitly provided as input key arguments", EVAL's documentation): no
// key is computed from ARGV or read from a record. Redis checks this only
// on a cluster; this test reads the scripts.
func TestSessionScriptsDeclareTheirKeys(t *testing.T) {
	call := regexp.MustCompile(`redis\.call\('(\w+)',\s*([^,)]+)`)
	key := regexp.MustCompile(`^KEYS\[[^\]]+\]$`)
	index := regexp.MustCompile(`\bindex\(([^)]*)\)`)
	for name, src := range map[string]string{
		"saveSession":         saveSessionLua,
		"deleteSession":       deleteSessionLua,
		"touchSession":        touchSessionLua,
		"updateSessionTokens": updateSessionTokensLua,
		"endIndexed":          endIndexedLua,
	} {
		calls := call.FindAllStringSubmatch(src, -1)
		if len(calls) == 0 {
			t.Fatalf("%s: no redis.call found: the test no longer reads the script", name)
		}
		for _, c := range calls {
			arg := strings.TrimSpace(c[2])
			// index(k) is the save script's helper; its callers are checked below.
			if !key.MatchString(arg) && !(name == "saveSession" && arg == "k") {
				t.Errorf("%s: %s on %q, a key not taken from KEYS", name, c[1], arg)
			}
		}
		for _, c := range index.FindAllStringSubmatch(src, -1) {
			if arg := strings.TrimSpace(c[1]); arg != "k" && !key.MatchString(arg) {
				t.Errorf("%s: index(%s), a key not taken from KEYS", name, arg)
			}
		}
	}
}
