package oauthlogin

import (
	"net/url"
	"strings"
	"testing"
)

// The failure and token-mode success queries: whatever an app-supplied
// URL holds in its raw query, the Manager's parameters come first, the
// app's same-named ones (in any percent-encoding) are gone, and nothing
// can split the Location header or move the parameters into a fragment.
func TestAttackV2WithQueryDefences(t *testing.T) {
	m, err := New(Config{BaseURL: "https://app.example/app", Keys: Keys{Cookie: []CookieKey{GenerateCookieKey()}},
		NativeApps: NativeApps{Schemes: []string{"myapp"}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, raw := range []string{
		"/app/failed?error=evil",
		"/app/failed?%65rror=evil&x=1",
		"/app/failed?x=1&error=evil#frag?error=evil",
		"/app/failed?x=%0d%0aSet-Cookie:a=b&error",
		"/app/failed?x=\r\nLocation:%20https://evil.example",
		"https://app.example/app/failed?error=a&error=b&&",
	} {
		to, err := m.redirectTarget(raw)
		if err != nil {
			continue // refused: nothing to inject into
		}
		out := withQuery(to, "error", "access_denied")
		if strings.ContainsAny(out, "\r\n") {
			t.Errorf("%q: CR/LF in %q", raw, out)
		}
		u, err := url.Parse(out)
		if err != nil {
			t.Fatalf("%q: %v", raw, err)
		}
		q, _ := url.ParseQuery(u.RawQuery)
		if got := q["error"]; len(got) != 1 || got[0] != "access_denied" || !strings.HasPrefix(u.RawQuery, "error=access_denied") {
			t.Errorf("%q: failure URL %q carries error %q", raw, out, got)
		}
	}
	for _, raw := range []string{
		"myapp://cb?userId=attacker&secret=s",
		"myapp://cb?%75serId=attacker&%73ecret=s",
		"myapp://cb?x#?userId=attacker",
	} {
		to, err := m.appRedirectTarget(raw)
		if err != nil {
			continue
		}
		out := withQuery(to, "userId", "victim", "secret", "S")
		u, err := url.Parse(out)
		if err != nil {
			t.Fatal(err)
		}
		q, _ := url.ParseQuery(u.RawQuery)
		if len(q["userId"]) != 1 || q.Get("userId") != "victim" || len(q["secret"]) != 1 || q.Get("secret") != "S" {
			t.Errorf("%q: success URL %q", raw, out)
		}
	}
}
