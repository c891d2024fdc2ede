package oauthlogin

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// target validates a flow's redirect for its mode.
func (m *Manager) target(mode, raw string) (string, error) {
	if mode == modeToken {
		return m.appRedirectTarget(raw)
	}
	return m.redirectTarget(raw)
}

// redirectTarget validates a success or failure URL: absolute http(s), no
// user info, and an origin (scheme, host and port, exactly) on the
// allowlist; or a path ("/me"), resolved against BaseURL (pathTarget).
// Empty means the base URL. It returns the URL re-serialized and
// absolute, so the browser is sent exactly what was checked.
func (m *Manager) redirectTarget(raw string) (string, error) {
	if raw == "" {
		return m.base.Scheme + "://" + m.base.Host + m.basePath() + "/", nil
	}
	if raw[0] == '/' {
		return m.pathTarget(raw)
	}
	return m.originTarget(raw)
}

// pathTarget resolves a path success or failure URL ("/me?tab=1")
// against BaseURL, as an absolute-path reference (RFC 3986 §5.2: BaseURL's
// own path is replaced, dot segments removed). What a browser could read
// as another host is refused before resolving: "//host" and "/\host"
// (browsers take a backslash for a slash), any backslash, control
// character or space; and the result must have BaseURL's origin exactly,
// whatever the path's percent-encoding ("/%2F%2Fhost" stays a path on
// BaseURL's host).
func (m *Manager) pathTarget(raw string) (string, error) {
	if len(raw) > maxRedirect {
		return "", fmt.Errorf("%w: URL longer than %d bytes", errRedirectNotAllowed, maxRedirect)
	}
	if len(raw) > 1 && (raw[1] == '/' || raw[1] == '\\') {
		return "", fmt.Errorf("%w: a path may not start with // or /\\ (another host, to a browser)", errRedirectNotAllowed)
	}
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c <= ' ' || c == 0x7f || c == '\\' {
			return "", fmt.Errorf("%w: a path may not hold a backslash, a space or a control character", errRedirectNotAllowed)
		}
	}
	ref, err := url.Parse(raw)
	if err != nil || ref.Scheme != "" || ref.Host != "" || ref.User != nil || ref.Opaque != "" {
		return "", fmt.Errorf("%w: not a path", errRedirectNotAllowed)
	}
	u := m.base.ResolveReference(ref)
	if origin(u) != m.baseOrigin || u.User != nil {
		return "", fmt.Errorf("%w: the path leaves BaseURL's origin", errRedirectNotAllowed)
	}
	if !m.underBasePath(u) {
		return "", fmt.Errorf("%w: the path leaves BaseURL's path %s", errRedirectNotAllowed, m.basePath())
	}
	return serialize(u)
}

// basePath is BaseURL's path without its trailing "/": "" for a BaseURL
// at the root of its origin. New made sure it is plain (plainPath).
func (m *Manager) basePath() string { return strings.TrimSuffix(m.base.Path, "/") }

// underBasePath reports whether u, on BaseURL's origin, stays under
// BaseURL's path: an app mounted at https://host/app sends its users to
// https://host/app or below, never to a sibling app on the same host.
// u's path must start with BaseURL's in both its escaped and decoded
// forms ("/app%2Fx" is one segment, not under /app/), and its decoded
// form must hold no "." or ".." segment: browsers (WHATWG URL) take
// "%2e%2e" for "..", and would climb out of the prefix after the check.
// A BaseURL at the root allows every path.
func (m *Manager) underBasePath(u *url.URL) bool {
	base := m.basePath()
	if base == "" {
		return true
	}
	for _, p := range []string{u.Path, u.EscapedPath()} {
		if p != base && !strings.HasPrefix(p, base+"/") {
			return false
		}
	}
	for seg := range strings.SplitSeq(u.Path, "/") {
		if seg == "." || seg == ".." {
			return false
		}
	}
	return true
}

// originTarget validates an absolute success or failure URL: http(s), no
// user info, and an allowed origin. Token mode's app redirects fall back to
// it.
func (m *Manager) originTarget(raw string) (string, error) {
	u, err := parseRedirect(raw)
	if err != nil {
		return "", err
	}
	o := origin(u)
	if !m.allowedOrigins[o] {
		return "", fmt.Errorf("%w: origin %s is not in Config.RedirectOrigins", errRedirectNotAllowed, o)
	}
	if o == m.baseOrigin && !m.baseOriginListed && !m.underBasePath(u) {
		return "", fmt.Errorf("%w: the URL leaves BaseURL's path %s (list its origin in Config.RedirectOrigins to allow the whole origin)", errRedirectNotAllowed, m.basePath())
	}
	return serialize(u)
}

// appRedirectTarget validates a success or failure URL of a token-mode
// (native app) login: what redirectTarget allows, plus a custom scheme
// listed in Config.NativeApps.Schemes ("myapp-callback://auth"), plus a loopback
// redirect to any port for desktop apps (RFC 8252 §7.3: http on 127.0.0.1
// or [::1], never the name localhost).
func (m *Manager) appRedirectTarget(raw string) (string, error) {
	if raw == "" {
		return "", fmt.Errorf("%w: a token-mode login needs success and failure URLs", errRedirectNotAllowed)
	}
	if len(raw) > maxRedirect {
		return "", fmt.Errorf("%w: URL longer than %d bytes", errRedirectNotAllowed, maxRedirect)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("%w: not a URL", errRedirectNotAllowed)
	}
	scheme := strings.ToLower(u.Scheme)
	switch {
	case u.User != nil:
		return "", fmt.Errorf("%w: %q has user info", errRedirectNotAllowed, raw)
	case slices.Contains(m.cfg.NativeApps.Schemes, scheme) && u.Opaque == "":
		return serialize(u)
	case scheme == "http" && u.Opaque == "" && (u.Hostname() == "127.0.0.1" || u.Hostname() == "::1"):
		return serialize(u)
	}
	return m.originTarget(raw)
}

// maxRedirect bounds a redirect URL, as given and as re-serialized (which
// percent-encodes, so can be longer).
const maxRedirect = 2048

func bounded(out string) (string, error) {
	if len(out) > maxRedirect {
		return "", fmt.Errorf("%w: URL longer than %d bytes", errRedirectNotAllowed, maxRedirect)
	}
	return out, nil
}

func parseRedirect(raw string) (*url.URL, error) {
	if len(raw) > maxRedirect {
		return nil, fmt.Errorf("%w: URL longer than %d bytes", errRedirectNotAllowed, maxRedirect)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: not a URL", errRedirectNotAllowed)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return nil, fmt.Errorf("%w: %q is not an absolute http(s) URL", errRedirectNotAllowed, raw)
	}
	if u.Opaque != "" || u.Host == "" || u.User != nil {
		return nil, fmt.Errorf("%w: %q has no plain host", errRedirectNotAllowed, raw)
	}
	return u, nil
}

// origin returns scheme://host[:port] in lower case, without a default port.
func origin(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	port := u.Port()
	if port == "" || (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
		return scheme + "://" + host
	}
	return scheme + "://" + host + ":" + port
}

// serialize returns u as sent in a Location header, bounded. url.URL
// escapes the path and fragment but writes the query as it came, which
// may hold spaces, control bytes, backslashes or raw UTF-8: those are
// percent-encoded, and nothing else changes, so serializing is idempotent.
func serialize(u *url.URL) (string, error) {
	u.RawQuery = escapeQuery(u.RawQuery)
	return bounded(u.String())
}

// escapeQuery percent-encodes the bytes of a raw query that may not appear
// in a URL as they are.
func escapeQuery(q string) string {
	n := 0
	for i := 0; i < len(q); i++ {
		if unsafeInQuery(q[i]) {
			n++
		}
	}
	if n == 0 {
		return q
	}
	const hex = "0123456789ABCDEF"
	b := make([]byte, 0, len(q)+2*n)
	for i := 0; i < len(q); i++ {
		c := q[i]
		if unsafeInQuery(c) {
			b = append(b, '%', hex[c>>4], hex[c&15])
		} else {
			b = append(b, c)
		}
	}
	return string(b)
}

func unsafeInQuery(c byte) bool {
	return c <= ' ' || c >= 0x7f || strings.IndexByte(`"<>\^`+"`{|}", c) >= 0
}

// refusedAppSchemes are schemes that name no native app: the web's own,
// which the allowlist of origins covers, and those a browser runs or reads
// locally.
var refusedAppSchemes = []string{"http", "https", "javascript", "data", "file", "vbscript", "blob", "about"}

// appSchemes checks Config.NativeApps.Schemes and returns them lower-cased: each
// must be RFC 3986 §3.1 scheme syntax, ALPHA *( ALPHA / DIGIT / "+" / "-"
// / "." ), and none of refusedAppSchemes.
func appSchemes(schemes []string) ([]string, error) {
	out := make([]string, 0, len(schemes))
	for _, s := range schemes {
		lower := strings.ToLower(s)
		if !schemeSyntax(lower) || slices.Contains(refusedAppSchemes, lower) {
			return nil, fmt.Errorf("%w: NativeApps.Schemes entry %q is not a native app's URL scheme (use a reverse-DNS name, RFC 8252 §7.1)", ErrConfig, s)
		}
		out = append(out, lower)
	}
	return out, nil
}

// schemeSyntax reports whether s is a lower-case RFC 3986 scheme.
func schemeSyntax(s string) bool {
	if s == "" || len(s) > 64 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// A login's flow cookie is host-only: set where the begin is served, sent
// back only to that host. The provider returns the browser to BaseURL's
// host (the redirect URI), so a begin served at another name for the same
// server (http://127.0.0.1:8080 for http://localhost:8080) sets a cookie
// the callback never sees. Begin sends such a browser to BaseURL's host
// first; a callback that finds no flow at another host says why.

// loopbackAlias reports whether r arrived at another loopback name for
// BaseURL's host and port: "localhost", 127.0.0.0/8 or [::1] for another
// of them. Only then is Begin's redirect to BaseURL's host safe: a request
// whose Host a reverse proxy rewrote (nginx's default proxy_pass sends its
// upstream's name) arrives at the same name however often it is sent to
// BaseURL, and a redirect would loop. A proxy on BaseURL's machine can
// forward a loopback name with the default port, so:
//
// A request a proxy forwarded (X-Forwarded-Host, X-Forwarded-Proto or
// Forwarded present) is never an alias: a local TLS proxy in front of
// https://localhost may forward "Host: 127.0.0.1" every time. And a Host
// without a port takes the default of the scheme the request itself came
// over (r.TLS), not BaseURL's: plain HTTP on port 80 is not BaseURL's 443.
func (m *Manager) loopbackAlias(r *http.Request) bool {
	if forwarded(r) {
		return false
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	host, port := splitHost(r.Host, scheme)
	want, wantPort := splitHost(m.base.Host, m.base.Scheme)
	return port == wantPort && !strings.EqualFold(host, want) && isLoopback(host) && isLoopback(want)
}

// forwarded reports whether r carries a reverse proxy's forwarding headers.
func forwarded(r *http.Request) bool {
	for _, h := range []string{"X-Forwarded-Host", "X-Forwarded-Proto", "Forwarded"} {
		if _, ok := r.Header[h]; ok {
			return true
		}
	}
	return false
}

// otherHost reports whether r arrived at another host name than BaseURL's.
func (m *Manager) otherHost(r *http.Request) bool {
	host, _ := splitHost(r.Host, m.base.Scheme)
	want, _ := splitHost(m.base.Host, m.base.Scheme)
	return !strings.EqualFold(host, want)
}

// atBaseHost is r's URL on BaseURL's origin: the same path and query.
func (m *Manager) atBaseHost(r *http.Request) string {
	to := m.base.Scheme + "://" + m.base.Host + r.URL.EscapedPath()
	if r.URL.RawQuery != "" {
		to += "?" + escapeQuery(r.URL.RawQuery)
	}
	return to
}

// splitHost splits a Host header into name and port, the port defaulting
// to the scheme's.
func splitHost(hostport, scheme string) (host, port string) {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		host, port = strings.TrimSuffix(strings.TrimPrefix(hostport, "["), "]"), ""
	}
	if port == "" {
		port = "80"
		if scheme == "https" {
			port = "443"
		}
	}
	return host, port
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// hostError is a request that had to arrive at BaseURL's host and did
// not: a link's begin (a POST, which a redirect cannot carry), or a
// callback that found no flow (its cookie is at BaseURL's host, or the
// begin was served at this one). Its JSON message names BaseURL's origin;
// the host the request came to is for the log only.
type hostError struct {
	got, base string
	callback  bool
}

func (e *hostError) Error() string {
	if e.callback {
		return fmt.Sprintf("oauthlogin: state mismatch: the callback arrived at host %q, and finds no sign-in begun there: "+
			"sign-ins begin and end at BaseURL's host, %s", truncate(e.got, 256), e.base)
	}
	return fmt.Sprintf("oauthlogin: a link's begin arrived at host %q: it must be posted to BaseURL's host, %s", truncate(e.got, 256), e.base)
}

// Unwrap gives a callback's error its code, state_mismatch.
func (e *hostError) Unwrap() error {
	if e.callback {
		return errStateMismatch
	}
	return nil
}

// message is the JSON answer's message for e.
func (e *hostError) message() string {
	if e.callback {
		return "the callback matches no sign-in started in this browser: sign-in callbacks must arrive at " + e.base +
			", the app's BaseURL, where the sign-in began; open the app there"
	}
	return "a sign-in must start at " + e.base + ", the app's BaseURL; open the app there"
}

// redirect answers with a redirect to an absolute URL the Manager built or
// checked, without http.Redirect's HTML body: 302 to a GET, 303 to a POST
// (a link's begin, a form_post callback), so that the browser GETs the
// target and never re-POSTs to it (RFC 9700 §4.12).
func redirect(w http.ResponseWriter, r *http.Request, to string) {
	w.Header().Set("Location", to)
	if r.Method == http.MethodPost {
		w.WriteHeader(http.StatusSeeOther)
		return
	}
	w.WriteHeader(http.StatusFound)
}

// withQuery returns raw (a URL checked by redirectTarget or
// appRedirectTarget) with the key, value pairs put first in its query,
// before any fragment. The rest of the query is kept byte for byte (a
// parameter url.ParseQuery would reject, a ";", "?flag" stay as the app
// wrote them), except parameters named by one of the keys, which the
// pairs replace: the app's own "error=" never stands beside the Manager's.
func withQuery(raw string, kv ...string) string {
	rest, frag, hasFrag := strings.Cut(raw, "#")
	rest, query, _ := strings.Cut(rest, "?")
	set := make(url.Values, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		set.Set(kv[i], kv[i+1])
	}
	var b strings.Builder
	b.WriteString(rest)
	b.WriteByte('?')
	b.WriteString(set.Encode())
	for part := range strings.SplitSeq(query, "&") {
		key, _, _ := strings.Cut(part, "=")
		if k, err := url.QueryUnescape(key); part == "" || err == nil && set.Has(k) {
			continue
		}
		b.WriteByte('&')
		b.WriteString(part)
	}
	if hasFrag {
		b.WriteByte('#')
		b.WriteString(frag)
	}
	return b.String()
}
