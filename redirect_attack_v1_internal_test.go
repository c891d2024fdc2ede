package oauthlogin

import (
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func attackManager(t *testing.T, base string) *Manager {
	t.Helper()
	m, err := New(Config{BaseURL: base, Keys: Keys{Cookie: []CookieKey{GenerateCookieKey()}}})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// browserHost is what a WHATWG URL parser (Chromium, Firefox) takes as the
// host of a Location value: it strips leading/trailing C0 and space, drops
// every tab and newline, and reads a backslash as a slash in http(s) URLs.
// Only the absolute form matters here: every redirect the Manager sends
// is absolute.
func browserHost(loc string) string {
	loc = strings.TrimLeft(loc, "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f ")
	loc = strings.NewReplacer("\t", "", "\n", "", "\r", "", `\`, "/").Replace(loc)
	scheme, rest, ok := strings.Cut(loc, "://")
	if !ok || (scheme != "http" && scheme != "https") {
		return "?"
	}
	rest = strings.TrimLeft(rest, "/")
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		rest = rest[i+1:]
	}
	return strings.ToLower(rest)
}

// RFC 9700 §4.11, OWASP unvalidated redirects: a success or failure path
// must land on BaseURL's host, as a browser reads the Location.
func TestAttackV1PathTargetNeverLeavesHost(t *testing.T) {
	for _, base := range []string{"https://app.example.com", "https://app.example.com/app", "http://localhost:8080", "http://[::1]:8080/x/"} {
		m := attackManager(t, base)
		wantHost := strings.ToLower(m.base.Host)
		for _, raw := range []string{
			"/", "/me", "//evil.example", "///evil.example", "/\\evil.example", "/\\/evil.example",
			"/%2F%2Fevil.example", "/%2f/evil.example", "/%5Cevil.example", "/%5C%5Cevil.example",
			"/\t/evil.example", "/\n/evil.example", "/\r\n/evil.example", "/ /evil.example", "/\x00/evil.example",
			"/..//evil.example", "/..///evil.example", "/../..//evil.example", "/./\\evil.example", "/.%2e/evil.example",
			"/%2e%2e//evil.example", "/..%2f..%2fevil.example", "/@evil.example", "/me@evil.example", "/:@evil.example",
			"/?//evil.example", "/#//evil.example", "/?\\evil.example", "/#\\\\evil.example", "/me?next=https://evil.example",
			"/\u2215\u2215evil.example", "/\uff0f\uff0fevil.example", "/\u29f5evil.example", "/\uff3cevil.example",
			"/\u3002evil.example", "/\u200b/evil.example", "/\u2028/evil.example", "/\u0085/evil.example",
			"/" + strings.Repeat("a", 3000), "/" + strings.Repeat("%", 1500), "/%", "/%zz", "/\x7f", "/a\\b",
			"/https:evil.example", "/javascript:alert(1)", "/.", "/..", "/.../evil.example", "/;//evil.example",
		} {
			out, err := m.redirectTarget(raw)
			if err != nil {
				continue
			}
			if got := browserHost(out); got != wantHost {
				t.Errorf("BaseURL %s, path %q: Location %q, a browser goes to host %q", base, raw, out, got)
			}
			if strings.ContainsAny(out, "\\\t\r\n \x00\x7f") {
				t.Errorf("BaseURL %s, path %q: Location %q holds a byte browsers rewrite", base, raw, out)
			}
			if again, err := m.redirectTarget(out); err != nil || again != out {
				t.Errorf("BaseURL %s, path %q: re-checking %q at the callback = %q, %v", base, raw, out, again, err)
			}
			failed := withQuery(out, "error", "state_mismatch")
			if got := browserHost(failed); got != wantHost {
				t.Errorf("BaseURL %s, path %q: failure Location %q goes to host %q", base, raw, failed, got)
			}
		}
	}
}

// The redirect of a begin at a loopback alias goes to BaseURL's host
// whatever the request carries: no header injection, no Host reflection.
func TestAttackV1LoopbackAliasRedirectIsClean(t *testing.T) {
	m := attackManager(t, "http://localhost:8080")
	h := m.Handler()
	for _, tc := range []struct{ host, target string }{
		{"127.0.0.1:8080", "/auth/test?success=%0d%0aSet-Cookie:%20x=1&failure=/x"},
		{"127.0.0.1:8080", "/auth/test?a=\"<script>\"&b=%00"},
		{"127.0.0.1:8080", "/auth/test?x=\xff\xfe"},
		{"[::1]:8080", "/auth/test?x=1"},
		{"[::ffff:127.0.0.1]:8080", "/auth/test"},
		{"127.1:8080", "/auth/test"},
		{"localhost.:8080", "/auth/test"},
		{"LOCALHOST:8080", "/auth/test"},
		{"localhost:8080@evil.example", "/auth/test"},
		{"evil.example@127.0.0.1:8080", "/auth/test"},
		{"127.0.0.1:8080.evil.example", "/auth/test"},
	} {
		r := httptest.NewRequest("GET", "http://x"+tc.target, nil)
		r.Host = tc.host
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		loc := w.Header().Get("Location")
		if tc.host == "127.0.0.1:8080" && !strings.HasPrefix(loc, "http://localhost:8080/auth/test?") {
			t.Fatalf("Host %q, %s: %d %q, want the alias redirect", tc.host, tc.target, w.Code, loc)
		}
		if loc == "" {
			continue
		}
		if w.Code == http.StatusFound && !strings.HasPrefix(loc, "http://localhost:8080/auth/test") && browserHost(loc) != "127.0.0.1:9" {
			// A redirect to the provider is fine too (BaseURL's own host: a flow began).
			if u, err := url.Parse(loc); err != nil || u.Host == "" {
				t.Errorf("Host %q, %s: Location %q", tc.host, tc.target, loc)
			}
		}
		if strings.ContainsAny(loc, "\r\n\x00 \"<>\x7f") || strings.Contains(loc, "evil") {
			t.Errorf("Host %q, %s: Location %q", tc.host, tc.target, loc)
		}
		if len(w.Header().Values("Set-Cookie")) > 0 && strings.HasPrefix(loc, "http://localhost:8080/auth/") {
			t.Errorf("Host %q: the alias redirect set a cookie", tc.host)
		}
	}
}

// A link's POST at a loopback alias is refused (400, JSON): no redirect
// (a 307/308 would re-POST elsewhere), no cookie, no flow.
func TestAttackV1LoopbackAliasPostRefused(t *testing.T) {
	m := attackManager(t, "http://localhost:8080")
	r := httptest.NewRequest("POST", "/auth/test?link=1", strings.NewReader("link=1"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Host = "127.0.0.1:8080"
	w := httptest.NewRecorder()
	m.Handler().ServeHTTP(w, r)
	if w.Code != http.StatusBadRequest || w.Header().Get("Location") != "" || len(w.Header().Values("Set-Cookie")) != 0 || strings.Contains(w.Body.String(), "127.0.0.1") {
		t.Fatalf("POST link at the alias = %d, Location %q, cookies %v, body %s", w.Code, w.Header().Get("Location"), w.Header().Values("Set-Cookie"), w.Body)
	}
}

// The alias redirect is followed by a request at BaseURL's host, which is
// not redirected again: no loop, for each loopback spelling.
func TestAttackV1LoopbackAliasNoLoop(t *testing.T) {
	for _, base := range []string{"http://localhost:8080", "http://127.0.0.1:8080", "http://[::1]:8080", "https://localhost"} {
		m := attackManager(t, base)
		h := m.Handler()
		r := httptest.NewRequest("GET", "/auth/nosuch?x=1", nil)
		r.Host = "127.0.0.2" + strings.TrimPrefix(m.base.Host, m.base.Hostname())
		if strings.HasPrefix(m.base.Host, "[") {
			r.Host = "127.0.0.2:8080"
		}
		if m.base.Scheme == "https" {
			r.TLS = &tls.ConnectionState{} // a browser at https://127.0.0.2 (a port-less Host's port is the request's own)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusFound {
			t.Fatalf("BaseURL %s, Host %s: %d, want the alias redirect", base, r.Host, w.Code)
		}
		u, _ := url.Parse(w.Header().Get("Location"))
		r2 := httptest.NewRequest("GET", u.RequestURI(), nil)
		r2.Host = u.Host
		w2 := httptest.NewRecorder()
		h.ServeHTTP(w2, r2)
		if w2.Code == http.StatusFound {
			t.Fatalf("BaseURL %s: the redirected request is redirected again to %s", base, w2.Header().Get("Location"))
		}
	}
}

// A local TLS-terminating proxy (Caddy, nginx "proxy_pass http://127.0.0.1;")
// in front of BaseURL https://localhost forwards "Host: 127.0.0.1" with no
// port. splitHost defaults the missing port to BaseURL's scheme (443), not
// the request's (80, plain HTTP), so the app takes the forwarded request
// for a loopback alias and redirects to https://localhost/..., which the
// proxy forwards the same way: an endless redirect loop on every sign-in.
// loopbackAlias's comment says a proxy cannot do this; it can when the
// upstream port is the default one.
// Enforces issue 16 (attack report, defect 5): "the request's own port
// default comes from the request (r.TLS), and no alias redirect when
// X-Forwarded-Host/X-Forwarded-Proto/Forwarded headers are present".
func TestAttackV1LoopbackAliasProxyLoop(t *testing.T) {
	m := attackManager(t, "https://localhost")
	h := m.Handler()
	for i := range 2 {
		// What the proxy sends for https://localhost/auth/test, every time.
		r := httptest.NewRequest("GET", "/auth/test", nil)
		r.Host = "127.0.0.1"
		r.Header.Set("X-Forwarded-Proto", "https")
		r.Header.Set("X-Forwarded-Host", "localhost")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if loc := w.Header().Get("Location"); w.Code == http.StatusFound && loc == "https://localhost/auth/test" {
			t.Fatalf("request %d through the proxy: 302 to %s, which the proxy forwards as the same request (a loop)", i+1, loc)
		}
	}
}

// With BaseURL https://app.example.com/app, "Empty means the base URL"
// (redirectTarget) is not what happens: an empty success goes to the
// origin's root, another app's page when the host is shared (or a 404).
// Enforces redirectTarget's documented default, "Empty means the base
// URL" (issue 16, attack report, defect 6).
func TestAttackV1EmptySuccessIgnoresBasePath(t *testing.T) {
	m := attackManager(t, "https://app.example.com/app")
	got, err := m.redirectTarget("")
	if err != nil || !strings.HasPrefix(got, "https://app.example.com/app") {
		t.Fatalf("redirectTarget(\"\") = %q, %v; want BaseURL https://app.example.com/app", got, err)
	}
}

// A path success escapes BaseURL's path prefix: "/other" and "/app/../other"
// both go to https://app.example.com/other. Same origin, so not an open
// redirect under RFC 9700's origin rule, but an app mounted under a
// prefix on a shared host (a tenant, a path-routed gateway) lets a link
// send its users' post-login landing to any sibling app. "/app/%2e%2e/other"
// passes a prefix check on the string, yet browsers (WHATWG URL) read
// %2e%2e as ".." and go to /other too.
// Enforces issue 16 (attack report, defect 7) and the route table's
// success/failure rule: with a BaseURL path, a path target, resolved and
// with dot segments (%2e too) read as browsers do, stays under it.
func TestAttackV1PathEscapesBasePrefix(t *testing.T) {
	m := attackManager(t, "https://app.example.com/app")
	for _, raw := range []string{"/other", "/app/../other", "/app/%2e%2e/other"} {
		got, err := m.redirectTarget(raw)
		if err == nil && !strings.HasPrefix(got, "https://app.example.com/app/") {
			t.Errorf("BaseURL https://app.example.com/app, path %q: %q", raw, got)
		}
	}
}

// The failure redirect's error is added to a path's own query and keeps
// its fragment and every parameter it had.
func TestAttackV1FailureQueryOnPathWithQuery(t *testing.T) {
	m := attackManager(t, "https://app.example.com")
	for _, tc := range []struct{ raw, want string }{
		{"/failed", "https://app.example.com/failed?error=x"},
		{"/failed?tab=1#frag", "https://app.example.com/failed?error=x&tab=1#frag"},
		{"/failed?error=evil", "https://app.example.com/failed?error=x"},
		{"/failed#a?b", "https://app.example.com/failed?error=x#a?b"},
		{"/failed?", "https://app.example.com/failed?error=x"},
	} {
		out, err := m.redirectTarget(tc.raw)
		if err != nil {
			t.Fatalf("%q: %v", tc.raw, err)
		}
		if got := withQuery(out, "error", "x"); got != tc.want {
			t.Errorf("failure %q: %q, want %q", tc.raw, got, tc.want)
		}
	}
}

// A failure path's own query parameters are lost when Go's ParseQuery
// rejects them (a ";" separator, a bad escape): withQuery ignores
// u.Query()'s error and re-encodes only what parsed; and those it keeps
// are rewritten ("?flag" becomes "flag=", "next=/a/b" "next=%2Fa%2Fb"),
// which routers that read the raw query (or match "?flag") do not see
// as the app wrote them. Seen in Chromium too: "/?//host" comes back
// as "/?%2F%2Fhost=&error=...". The app's failure
// page then misses the state it put in its own URL.
// Enforces issue 16 (attack report, defect 8): the failure redirect adds
// "error=<code>" to the raw query and keeps every other parameter as written.
func TestAttackV1FailureQueryDropsParams(t *testing.T) {
	m := attackManager(t, "https://app.example.com")
	for _, raw := range []string{"/failed?a=1;b=2", "/failed?next=%zz&tab=1", "/failed?flag", "/failed?next=/a/b"} {
		out, err := m.redirectTarget(raw)
		if err != nil {
			t.Fatalf("%q: %v", raw, err)
		}
		got, _ := url.Parse(withQuery(out, "error", "x"))
		orig, _ := url.Parse(out)
		for _, part := range strings.Split(orig.RawQuery, "&") {
			if !strings.Contains(got.RawQuery, part) {
				t.Errorf("failure %q: redirect %q lost %q", raw, got, part)
			}
		}
	}
}

// BaseURL's path becomes part of every route pattern and of the redirect
// URI unchecked: New accepts a path that Handler() then panics on
// (ServeMux pattern syntax: "{$}", "{b...}", unclean "..", "//"), one that
// turns into a wildcard ("/{tenant}" matches any first segment, while
// the flow cookie's Path is the literal "/{tenant}/auth/"), and one whose
// escapes are decoded ("/a%2Fb" serves and registers /a/b/auth/...). A
// configuration error should be ErrConfig at New, never a panic at
// startup or routes other than the ones BaseURL names.
// Enforces issue 16 (attack report, defect 10) and §7 "New should say
// what is wrong": BaseURL's path is checked at New (TestBaseURLPathMustBePlain).
func TestAttackV1BaseURLPathUnchecked(t *testing.T) {
	for _, base := range []string{"https://x.example/{$}", "https://x.example/a/{b...}", "https://x.example/..", "https://x.example/a//b", "https://x.example/{tenant}", "https://x.example/a%2Fb"} {
		m, err := New(Config{BaseURL: base, Keys: Keys{Cookie: []CookieKey{GenerateCookieKey()}}})
		if err != nil {
			continue // refused: fine
		}
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("BaseURL %s: New accepted it, Handler() panics: %v", base, r)
				}
			}()
			h := m.Handler()
			if strings.Contains(base, "{tenant}") {
				r := httptest.NewRequest("GET", "https://x.example/other-app/auth/session", nil)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != http.StatusNotFound {
					t.Errorf("BaseURL %s: GET /other-app/auth/session = %d, served by the Manager", base, w.Code)
				}
			}
			if strings.Contains(base, "%2F") && !strings.HasPrefix(m.prefix, "/a%2Fb/") {
				t.Errorf("BaseURL %s: routes and redirect URI under %q", base, m.prefix)
			}
		}()
	}
}

// BaseURL's path and Config.Prefix are plain segments, checked at New
// (ErrConfig): issue 16 (attack report, defect 10), §7 "New should say
// what is wrong before the first login".
func TestBaseURLPathMustBePlain(t *testing.T) {
	for _, tc := range []struct {
		base, prefix string
		ok           bool
	}{
		{"https://x.example", "", true},
		{"https://x.example/", "", true},
		{"https://x.example/app", "", true},
		{"https://x.example/app/", "", true},
		{"https://x.example/a-b/c_d.e~f/", "/v1.auth/", true},
		{"https://x.example", "/", true},
		{"https://x.example/{$}", "", false},
		{"https://x.example/a/{b...}", "", false},
		{"https://x.example/{tenant}", "", false},
		{"https://x.example/..", "", false},
		{"https://x.example/a/./b", "", false},
		{"https://x.example/a//b", "", false},
		{"https://x.example/a%2Fb", "", false},
		{"https://x.example/a%62", "", false},
		{"https://x.example/a b", "", false},
		{"https://x.example", "/{p}/", false},
		{"https://x.example", "/a//", false},
		{"https://x.example", "/../", false},
		{"https://x.example", "/a%2Fb/", false},
	} {
		_, err := New(Config{BaseURL: tc.base, Prefix: tc.prefix, Keys: Keys{Cookie: []CookieKey{GenerateCookieKey()}}})
		if tc.ok && err != nil {
			t.Errorf("BaseURL %s, Prefix %q: %v", tc.base, tc.prefix, err)
		}
		if !tc.ok && !errors.Is(err, ErrConfig) {
			t.Errorf("BaseURL %s, Prefix %q: New = %v, want ErrConfig", tc.base, tc.prefix, err)
		}
	}
}

// An absolute success URL on BaseURL's origin stays under BaseURL's path
// too, unless the app lists that origin in RedirectOrigins; and a path
// under it, with dot segments that stay inside, is kept (issue 16, attack
// report, defect 7).
func TestRedirectStaysUnderBasePath(t *testing.T) {
	m := attackManager(t, "https://app.example.com/app")
	for raw, want := range map[string]string{
		"/app":                             "https://app.example.com/app",
		"/app/me?x=1":                      "https://app.example.com/app/me?x=1",
		"https://app.example.com/app/x":    "https://app.example.com/app/x",
		"https://app.example.com/other":    "",
		"https://app.example.com/app/../x": "",
		"https://app.example.com/app%2Fx":  "",
		"/app%2Fx":                         "",
		"/apple":                           "",
		"/app/.%2e/x":                      "",
		"":                                 "https://app.example.com/app/",
	} {
		got, err := m.redirectTarget(raw)
		if want == "" && err == nil {
			t.Errorf("%q = %q, want refused", raw, got)
		}
		if want != "" && (err != nil || got != want) {
			t.Errorf("%q = %q, %v; want %q", raw, got, err, want)
		}
	}
	listed, err := New(Config{BaseURL: "https://app.example.com/app", RedirectOrigins: []string{"https://app.example.com"}, Keys: Keys{Cookie: []CookieKey{GenerateCookieKey()}}})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := listed.redirectTarget("https://app.example.com/other"); err != nil || got != "https://app.example.com/other" {
		t.Errorf("with BaseURL's origin listed: %q, %v", got, err)
	}
	if got, err := listed.redirectTarget("/other"); err == nil {
		t.Errorf("a path leaves BaseURL's path even with the origin listed: %q", got)
	}
}

// withQuery puts its pairs first, replaces the app's own parameters of
// those names, and keeps the rest of the raw query and the fragment byte
// for byte (issue 16, attack report, defect 8).
func TestWithQueryKeepsRawQuery(t *testing.T) {
	for _, tc := range []struct{ raw, want string }{
		{"https://a.example/f?a=1;b=2", "https://a.example/f?error=x&a=1;b=2"},
		{"https://a.example/f?flag&next=/a/b", "https://a.example/f?error=x&flag&next=/a/b"},
		{"https://a.example/f?next=%zz&error=old&err%6Fr=old2#frag?x", "https://a.example/f?error=x&next=%zz#frag?x"},
		{"myapp-callback://auth?s=1", "myapp-callback://auth?error=x&s=1"},
	} {
		if got := withQuery(tc.raw, "error", "x"); got != tc.want {
			t.Errorf("withQuery(%q) = %q, want %q", tc.raw, got, tc.want)
		}
	}
	if got := withQuery("myapp-callback://auth", "userId", "u", "secret", "s"); got != "myapp-callback://auth?secret=s&userId=u" {
		t.Errorf("token-mode success = %q", got)
	}
}
