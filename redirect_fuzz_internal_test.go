package oauthlogin

import (
	"net/url"
	"strings"
	"testing"
)

// fuzzAllowed is the allowlist of FuzzRedirectTarget, beside the base URL.
var fuzzAllowed = []string{"https://good.example", "http://localhost:3000", "https://[::1]:8443", "myapp://"}

// FuzzRedirectTarget checks success and failure URL validation. Properties:
// it never panics; a URL it accepts has an allowlisted origin (BaseURL's
// exactly, for a path), its
// re-serialization re-parses to that same origin with a plain authority
// (no user info, backslash, percent-encoding, control or space character),
// and accepting is idempotent.
func FuzzRedirectTarget(f *testing.F) {
	m, err := New(Config{BaseURL: "https://app.example.com", Keys: Keys{Cookie: []CookieKey{GenerateCookieKey()}},
		RedirectOrigins: fuzzAllowed[:3]})
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		"", "https://good.example/", "https://app.example.com/done?x=1#y", "HTTPS://GOOD.EXAMPLE:443/",
		"//evil.example", "https://good.example@evil.example", "https://good.example\\@evil.example",
		"https://good.example%2F@evil.example", "https://good.example./", "javascript:alert(1)",
		"http://localhost:3000/cb", "https://[::1]:8443/x", "https://good.example\t.evil/", "https://good.example:/",
		"/me", "/me?tab=1#top", "/a/../me", "/..", "/../..//evil", "/.//evil", "//evil", "/\\evil", "\\\\evil",
		"/%2F%2Fevil", "/%5Cevil", "/@evil", "/:evil", "/me\r\nLocation: x", "/ me", "me", "./me", "?x", "#x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		out, err := m.redirectTarget(raw)
		if err != nil {
			if out != "" {
				t.Fatalf("refused %q but returned %q", raw, out)
			}
			return
		}
		u, err := url.Parse(out)
		if err != nil {
			t.Fatalf("accepted %q as %q, which does not parse: %v", raw, out, err)
		}
		if !m.allowedOrigins[origin(u)] {
			t.Fatalf("accepted %q as %q, origin %s not allowed", raw, out, origin(u))
		}
		if strings.HasPrefix(raw, "/") {
			if origin(u) != origin(m.base) || !strings.HasPrefix(out, "https://app.example.com/") {
				t.Fatalf("accepted the path %q as %q, which leaves BaseURL's origin", raw, out)
			}
		} else if raw != "" {
			in, err := parseRedirect(raw)
			if err != nil || origin(in) != origin(u) {
				t.Fatalf("accepted %q as %q: origin changed from %v to %s", raw, out, in, origin(u))
			}
		}
		scheme, rest, ok := strings.Cut(out, "://")
		if !ok || (scheme != "http" && scheme != "https") {
			t.Fatalf("accepted %q as %q: not http(s)://", raw, out)
		}
		authority := rest
		if i := strings.IndexAny(rest, "/?#"); i >= 0 {
			authority = rest[:i]
		}
		for _, c := range authority {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune(".-:[]", c)) {
				t.Fatalf("accepted %q as %q: authority %q holds %q", raw, out, authority, c)
			}
		}
		for _, c := range out {
			if c < 0x21 || c == 0x7f || c == '\\' {
				t.Fatalf("accepted %q as %q, which holds %q", raw, out, c)
			}
		}
		again, err := m.redirectTarget(out)
		if err != nil || again != out {
			t.Fatalf("accepted %q as %q, but that gives %q, %v", raw, out, again, err)
		}
	})
}

// FuzzAppRedirectTarget checks token mode's wider redirect rule: what it
// accepts is an allowed origin, a listed app scheme with no user info, or
// plain http to a loopback address, and its re-serialization keeps that.
func FuzzAppRedirectTarget(f *testing.F) {
	m, err := New(Config{BaseURL: "https://app.example.com", Keys: Keys{Cookie: []CookieKey{GenerateCookieKey()}},
		NativeApps: NativeApps{Schemes: []string{"myapp-callback"}}})
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		"myapp-callback://auth", "MYAPP-CALLBACK://auth/x?y=1", "myapp-callback:opaque", "myapp-callback://a@b",
		"http://127.0.0.1:8080/cb", "http://[::1]:9/cb", "http://localhost:1/cb", "https://127.0.0.1/cb",
		"http://127.0.0.1.evil.example/", "otherapp://auth", "https://app.example.com/done", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		out, err := m.appRedirectTarget(raw)
		if err != nil {
			return
		}
		u, err := url.Parse(out)
		if err != nil {
			t.Fatalf("accepted %q as %q, which does not parse: %v", raw, out, err)
		}
		again, err := m.appRedirectTarget(out)
		if err != nil || again != out {
			t.Fatalf("accepted %q as %q, which is then %q, %v", raw, out, again, err)
		}
		switch {
		case u.User != nil:
			t.Fatalf("accepted %q as %q: user info", raw, out)
		case u.Scheme == "myapp-callback" && u.Opaque == "":
		case u.Scheme == "http" && (u.Hostname() == "127.0.0.1" || u.Hostname() == "::1"):
		case m.allowedOrigins[origin(u)] && (u.Scheme == "https" || u.Scheme == "http"):
		default:
			t.Fatalf("accepted %q as %q: neither an app scheme, a loopback nor an allowed origin", raw, out)
		}
	})
}
