package oauthlogin

import (
	"crypto/sha256"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// FuzzReadFlow feeds the flow-cookie decoder arbitrary cookie headers and
// states, beside flows the Manager sealed itself. Properties: it never
// panics; readFlow returns a flow only for a cookie the Manager produced,
// under that flow's own name, sent once; findFlow reports no error only
// for the state of a flow the Manager produced, read from its own cookie
// sent once, and ends no flow but the one the state names.
func FuzzReadFlow(f *testing.F) {
	m, err := New(Config{BaseURL: "http://localhost:8080", Keys: Keys{Cookie: []CookieKey{GenerateCookieKey(), GenerateCookieKey()}}})
	if err != nil {
		f.Fatal(err)
	}
	produced := map[string]*flow{} // by state
	sealed := map[string]*flow{}   // what the cookie holds, by cookie name
	var cookies []*http.Cookie
	for _, p := range []string{"test", "test", "other"} {
		fl := &flow{Provider: p, State: randomToken(32), Verifier: randomToken(32),
			Success: "http://localhost:8080/done", Failure: "http://localhost:8080/failed", Expires: time.Now().Add(time.Hour).Unix()}
		w := httptest.NewRecorder()
		if err := m.setFlowCookie(w, fl, false); err != nil {
			f.Fatal(err)
		}
		c := w.Result().Cookies()[0]
		produced[fl.State] = fl
		in := *fl
		in.State = "" // bound by the name, not sealed
		sealed[c.Name] = &in
		cookies = append(cookies, c)
	}
	a, b := cookies[0], cookies[1]
	f.Add(a.Name, a.Value, "", firstState(produced, a.Name, m))
	f.Add(a.Name, b.Value, b.Name+"="+a.Value, firstState(produced, a.Name, m)) // swapped between two flows
	f.Add(a.Name, a.Value[:len(a.Value)/2], "", "")
	f.Add(a.Name, a.Value+"A", "", firstState(produced, a.Name, m))
	f.Add(a.Name, strings.ToUpper(a.Value), "", "x")
	f.Add("oauthlogin_flow_", "", "", "")
	f.Add(a.Name, "MTcwMDAwMDAwMHx8|AAAA", "oauthlogin_session=x", "state")
	f.Add(a.Name, a.Value, a.Name+"="+a.Value, firstState(produced, a.Name, m))  // the same cookie twice
	f.Add(a.Name, a.Value, a.Name+"=tossed", firstState(produced, a.Name, m))    // a tossed twin after it
	f.Add(a.Name, "tossed", a.Name+"="+a.Value, firstState(produced, a.Name, m)) // and before it
	f.Add(a.Name, a.Value, b.Name+"="+b.Value, firstState(produced, b.Name, m))  // another flow's state
	f.Fuzz(func(t *testing.T, name, value, extra, state string) {
		r := httptest.NewRequest("GET", "http://localhost:8080/auth/test/callback", nil)
		header := name + "=" + value
		if extra != "" {
			header += "; " + extra
		}
		r.Header.Set("Cookie", header)
		if fl, n := m.readFlow(r, name); fl != nil {
			if n != 1 {
				t.Fatalf("readFlow(%q) read a cookie the request carries %d times", name, n)
			}
			if want, ok := sealed[name]; !ok || !reflect.DeepEqual(fl, want) {
				t.Fatalf("readFlow(%q) = %+v: not a flow the Manager sealed under that name", name, fl)
			}
		}
		fl, ended, err := m.findFlow(r, "test", state)
		if ended != "" {
			// Only the flow the state names may be ended.
			sum := sha256.Sum256([]byte(state))
			if state == "" || (ended != m.digestCookieName(sum[:flowDigest]) && ended != m.digestCookieName(sum[:earlierFlowDigest])) {
				t.Fatalf("findFlow(state %q) ends %q, a flow the state does not name", state, ended)
			}
		}
		if err == nil {
			if _, n := cookieValue(r, ended); n != 1 {
				t.Fatalf("findFlow(state %q) accepted a flow cookie sent %d times", state, n)
			}
			want, ok := produced[state]
			if fl == nil || !ok || !reflect.DeepEqual(fl, want) || fl.Provider != "test" {
				t.Fatalf("findFlow(state %q) accepted %+v", state, fl)
			}
		}
		if fl != nil && !slices.ContainsFunc(slices.Collect(maps.Values(produced)), func(p *flow) bool {
			cp := *fl
			cp.State = p.State
			return reflect.DeepEqual(&cp, p)
		}) {
			t.Fatalf("findFlow returned a flow the Manager never sealed: %+v", fl)
		}
	})
}

// firstState returns the state of the produced flow whose cookie is name.
func firstState(produced map[string]*flow, name string, m *Manager) string {
	for s := range produced {
		if m.flowCookieName(s) == name {
			return s
		}
	}
	return ""
}

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
