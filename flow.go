package oauthlogin

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// flow is one login attempt, from begin to callback. It travels sealed
// (authenticated and encrypted) in a short-lived cookie of its own, named
// after its state, so several tabs can log in at once and any instance of
// the app can finish a flow another began.
//
// Neither the state nor the nonce is sealed in the cookie, which keeps it
// small. The state is bound by the cookie's name, a 128-bit digest of it,
// which securecookie's MAC covers: a callback finds its flow only with the
// state that named it, and a sealed value moved under another name does not
// open. The lookup compares digests, not states, so its timing tells an
// attacker nothing about a state (DESIGN.md's constant-time check). The
// nonce is derived from the PKCE verifier (flowNonce), which is sealed and
// never leaves the server before the code exchange.
//
// Earlier versions named the cookie after a 96-bit digest and sealed the
// state and nonce in it; findFlow still finishes such a flow, begun before
// an upgrade, and compares its sealed state in constant time.
type flow struct {
	Provider string `json:"p"`
	// State and Nonce are not sealed (see above): State is set from the
	// callback's state once the cookie it names is found, and Nonce at
	// begin for the authorization request. A cookie sealed by an earlier
	// version has both, and they are checked and used as they are.
	State    string `json:"s,omitempty"`
	Verifier string `json:"v"`
	Nonce    string `json:"n,omitempty"`
	Success  string `json:"ok"`
	Failure  string `json:"f"`
	// Mode is "token" for a native app's login, else empty.
	Mode string `json:"m,omitempty"`
	// Expires (Unix seconds) bounds the flow on the Manager's clock, on top
	// of the cookie's Max-Age and securecookie's own timestamp.
	Expires int64 `json:"e"`
	// LinkUser and LinkSession are set when the flow links a new identity
	// to the signed-in user: the callback requires that same session.
	LinkUser    string `json:"lu,omitempty"`
	LinkSession string `json:"ls,omitempty"`
	// Challenge is a token-mode app's own S256 code_challenge, which its
	// secret is bound to (see appChallenge).
	Challenge string `json:"c,omitempty"`
}

// flowCookieName names the flow cookie after a 128-bit digest of its
// state.
func (m *Manager) flowCookieName(state string) string {
	sum := sha256.Sum256([]byte(state))
	return m.digestCookieName(sum[:flowDigest])
}

// flowDigest and earlierFlowDigest are how many bytes of the state's
// SHA-256 name a flow cookie, now and in earlier versions.
const (
	flowDigest        = 16
	earlierFlowDigest = 12
)

// digestCookieName names a flow cookie after a prefix of its state's
// SHA-256 (flowDigest bytes; earlierFlowDigest for a cookie of an earlier
// version, which seals its state).
func (m *Manager) digestCookieName(digest []byte) string {
	return m.flowCookiePrefix + base64.RawURLEncoding.EncodeToString(digest)
}

// flowNonce derives an OpenID flow's nonce from its PKCE verifier: as
// unpredictable as the verifier (256 random bits), which the public
// challenge, a digest without the domain separation, does not reveal.
func flowNonce(verifier string) string {
	sum := sha256.Sum256([]byte("oauthlogin nonce\x00" + verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// nonce is the flow's nonce for rp: none for a plain OAuth 2 provider.
func (f *flow) nonce(rp *registered) string {
	switch {
	case rp.oidc == nil:
		return ""
	case f.Nonce != "": // sealed by an earlier version
		return f.Nonce
	default:
		return flowNonce(f.Verifier)
	}
}

// setFlowCookie sends the sealed flow. For a form_post provider over https
// it is SameSite=None, since the provider's cross-site POST to the callback
// would not carry a Lax cookie; the state check is what binds it then.
func (m *Manager) setFlowCookie(w http.ResponseWriter, f *flow, formPost bool) error {
	name := m.flowCookieName(f.State)
	sealed := *f
	sealed.State, sealed.Nonce = "", "" // bound by the name, derived from the verifier
	value, err := m.keys.encodeCookie(name, &sealed)
	if err != nil {
		return err
	}
	// Written directly: name and value are base64url (securecookie's
	// value may end in '='), safe as they are, and http.SetCookie's
	// byte-by-byte check of them is a tenth of a begin's time.
	var b strings.Builder
	b.Grow(len(name) + len(value) + 96)
	b.WriteString(name)
	b.WriteByte('=')
	b.WriteString(value)
	b.WriteString("; Path=")
	b.WriteString(m.flowCookiePath)
	b.WriteString("; Max-Age=")
	b.WriteString(strconv.Itoa(max(1, int(m.flowTTL/time.Second)))) // 0 would mean a browser-session cookie
	b.WriteString("; HttpOnly")
	if m.secure {
		b.WriteString("; Secure")
	}
	if formPost && m.secure {
		b.WriteString("; SameSite=None")
	} else {
		b.WriteString("; SameSite=Lax")
	}
	w.Header().Add("Set-Cookie", b.String())
	return nil
}

// maxFlows is how many logins one browser may have in progress: a begin
// beyond it ends the others, so that begins (each sets a cookie, and any
// site can send the browser to one) cannot fill the browser's cookie jar
// until it drops the session cookie or every request is too large.
const maxFlows = 8

// endExcessFlows expires every flow cookie the request carries when it
// carries maxFlows or more, before a begin adds one.
func (m *Manager) endExcessFlows(w http.ResponseWriter, r *http.Request) {
	n := 0
	m.eachFlowCookie(r, func(string) { n++ })
	if n >= maxFlows {
		m.eachFlowCookie(r, func(name string) { m.clearCookie(w, name, m.flowCookiePath) })
	}
}

// eachFlowCookie calls f with the name of each flow cookie the request
// carries.
func (m *Manager) eachFlowCookie(r *http.Request, f func(name string)) {
	eachCookie(r, func(name, _ string) bool {
		if strings.HasPrefix(name, m.flowCookiePrefix) {
			f(name)
		}
		return true
	})
}

// findFlow returns the flow a callback answers and the name of the flow
// cookie the callback ends ("" for none). The state names the flow cookie;
// the sealed state inside is compared in constant time.
//
// Only a callback that names a flow by its state ends it. When the state
// is missing or matches no flow, another live flow of this browser for the
// same provider (if any) is returned with the error, so that the failure
// can go to a URL the host allowed, but its cookie is not named: a forged
// callback (a login CSRF link, a page that replays a stale callback URL)
// must not cancel the login the user has under way, whose real callback
// follows. A nil flow means there is no URL to trust.
//
// A flow cookie name the request carries more than once is no flow: cookie
// tossing (a sibling host's Domain cookie, or a narrower Path, over http
// where __Host- does not apply) can add a second cookie of the same name,
// and neither can be told to be ours. Such a cookie named by the state is
// ended; one found while looking for another flow is passed over.
func (m *Manager) findFlow(r *http.Request, provider, state string) (*flow, string, error) {
	if state == "" {
		return m.otherFlow(r, provider), "", ErrStateMissing
	}
	sum := sha256.Sum256([]byte(state))
	name := m.digestCookieName(sum[:flowDigest])
	f, n := m.readFlow(r, name)
	if f == nil && n < 2 {
		// A flow begun before an upgrade: its state is sealed.
		earlier := m.digestCookieName(sum[:earlierFlowDigest])
		if g, k := m.readFlow(r, earlier); k > 1 || (g != nil && g.State != "") {
			f, name, n = g, earlier, k
		}
	}
	switch {
	case n > 1:
		return m.otherFlow(r, provider), name, fmt.Errorf("%w: the flow cookie is sent more than once", ErrStateMismatch)
	case f == nil:
		return m.otherFlow(r, provider), "", ErrStateMismatch
	case f.State != "" && subtle.ConstantTimeCompare([]byte(f.State), []byte(state)) != 1:
		// Named by a digest of another state (96 bits, in an earlier
		// version): not this callback's flow to end.
		return f, "", ErrStateMismatch
	}
	f.State = state // the name, which the MAC covers, binds it
	if m.now().Unix() >= f.Expires {
		return f, name, ErrFlowExpired
	}
	if f.Provider != provider {
		return f, name, ErrProviderMismatch
	}
	return f, name, nil
}

// otherFlow returns a live flow of this browser for provider, found by
// scanning its cookies, or nil: a callback that names none of its flows
// uses it only for its failure URL.
func (m *Manager) otherFlow(r *http.Request, provider string) *flow {
	for _, c := range r.Cookies() {
		if !strings.HasPrefix(c.Name, m.flowCookiePrefix) {
			continue
		}
		if f, n := m.readFlow(r, c.Name); n == 1 && f != nil && f.Provider == provider && m.now().Unix() < f.Expires {
			return f
		}
	}
	return nil
}

// readFlow decodes the named flow cookie; nil when absent, forged, expired,
// or sent more than once. n is how many cookies of that name the request
// carries (counted up to 2).
func (m *Manager) readFlow(r *http.Request, name string) (*flow, int) {
	v, n := cookieValue(r, name)
	if n != 1 {
		return nil, n
	}
	var f flow
	if err := m.keys.decodeCookie(name, v, &f); err != nil {
		return nil, n
	}
	return &f, n
}

// Bounds on a callback, checked before any work for it (RFC 6749 §4.1.2
// lets the provider choose the sizes of what it issues; these leave room
// for every provider we know). Real authorization responses are far
// smaller: Microsoft Entra's codes, the longest in common use, run to
// 1–2 KB; Apple's form_post adds a user JSON of a few hundred bytes;
// Google adds a scope list. 8 KiB is also what many proxies and servers
// allow a request line (nginx's large_client_header_buffers), so no
// provider can count on more in a redirect.
const (
	// maxCallbackParams bounds the raw query, and apart the form body of a
	// form_post callback.
	maxCallbackParams = 8 << 10
	// maxCode is twice the longest authorization code seen in practice.
	maxCode = 4 << 10
	// maxState bounds the state: ours are 43 bytes.
	maxState = 512
)

// callbackParams returns a callback's parameters: the query, or for a
// form_post callback the form. An oversized or unreadable one is an error
// wrapping ErrInvalidResponse, read no further.
func callbackParams(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	if len(r.URL.RawQuery) > maxCallbackParams {
		return nil, fmt.Errorf("%w: query over %d bytes", ErrInvalidResponse, maxCallbackParams)
	}
	if r.Method != http.MethodPost {
		return r.URL.Query(), nil
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxCallbackParams)
	if err := r.ParseForm(); err != nil {
		return nil, fmt.Errorf("%w: form unreadable or over %d bytes", ErrInvalidResponse, maxCallbackParams)
	}
	return r.Form, nil
}

// checkValue refuses a code or state over limit bytes or with a byte
// outside VSCHAR (%x20-7E, RFC 6749 Appendix A.5 and A.11): control
// characters (NUL, CR, LF, TAB, DEL) and raw non-ASCII bytes have no place
// in either, and some token endpoints or logs would read them otherwise.
func checkValue(name, v string, limit int) error {
	if len(v) > limit {
		return fmt.Errorf("%w: %s over %d bytes", ErrInvalidResponse, name, limit)
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] > 0x7e {
			return fmt.Errorf("%w: %s has a byte outside %%x20-7E", ErrInvalidResponse, name)
		}
	}
	return nil
}

// redirectTarget validates a success or failure URL: absolute http(s), no
// user info, and an origin (scheme, host and port, exactly) on the
// allowlist; or a path ("/me"), resolved against BaseURL (pathTarget).
// Empty means the base URL. It returns the URL re-serialized and
// absolute, so the browser is sent exactly what was checked.
func (m *Manager) redirectTarget(raw string) (string, error) {
	if raw == "" {
		return m.base.Scheme + "://" + m.base.Host + "/", nil
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
		return "", fmt.Errorf("%w: URL longer than %d bytes", ErrRedirectNotAllowed, maxRedirect)
	}
	if len(raw) > 1 && (raw[1] == '/' || raw[1] == '\\') {
		return "", fmt.Errorf("%w: a path may not start with // or /\\ (another host, to a browser)", ErrRedirectNotAllowed)
	}
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c <= ' ' || c == 0x7f || c == '\\' {
			return "", fmt.Errorf("%w: a path may not hold a backslash, a space or a control character", ErrRedirectNotAllowed)
		}
	}
	ref, err := url.Parse(raw)
	if err != nil || ref.Scheme != "" || ref.Host != "" || ref.User != nil || ref.Opaque != "" {
		return "", fmt.Errorf("%w: not a path", ErrRedirectNotAllowed)
	}
	u := m.base.ResolveReference(ref)
	if origin(u) != origin(m.base) || u.User != nil {
		return "", fmt.Errorf("%w: the path leaves BaseURL's origin", ErrRedirectNotAllowed)
	}
	return serialize(u)
}

// originTarget validates an absolute success or failure URL: http(s), no
// user info, and an allowed origin. Token mode's app redirects fall back to
// it.
func (m *Manager) originTarget(raw string) (string, error) {
	u, err := parseRedirect(raw)
	if err != nil {
		return "", err
	}
	if !m.allowedOrigins[origin(u)] {
		return "", fmt.Errorf("%w: origin %s is not in Config.RedirectOrigins", ErrRedirectNotAllowed, origin(u))
	}
	return serialize(u)
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

// maxRedirect bounds a redirect URL, as given and as re-serialized (which
// percent-encodes, so can be longer).
const maxRedirect = 2048

func bounded(out string) (string, error) {
	if len(out) > maxRedirect {
		return "", fmt.Errorf("%w: URL longer than %d bytes", ErrRedirectNotAllowed, maxRedirect)
	}
	return out, nil
}

func parseRedirect(raw string) (*url.URL, error) {
	if len(raw) > maxRedirect {
		return nil, fmt.Errorf("%w: URL longer than %d bytes", ErrRedirectNotAllowed, maxRedirect)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: not a URL", ErrRedirectNotAllowed)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return nil, fmt.Errorf("%w: %q is not an absolute http(s) URL", ErrRedirectNotAllowed, raw)
	}
	if u.Opaque != "" || u.Host == "" || u.User != nil {
		return nil, fmt.Errorf("%w: %q has no plain host", ErrRedirectNotAllowed, raw)
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

// maxScopeParam bounds what a begin request's scopes may add up to.
const maxScopeParam = 2048

// scope returns the scope parameter for a begin request: the provider's
// defaults followed by the requested extras, each of which must be allowed.
// requested holds the raw query values (comma- or space-separated, or
// repeated).
func (rp *registered) scope(requested []string) (string, error) {
	if len(requested) == 0 {
		return rp.defaultScope, nil
	}
	size := 0
	for _, raw := range requested {
		size += len(raw)
	}
	if size > maxScopeParam {
		return "", fmt.Errorf("%w: the scopes parameter has %d bytes, more than %d", ErrScopeNotAllowed, size, maxScopeParam)
	}
	scopes := slices.Clone(rp.defaultScopes)
	for _, raw := range requested {
		for s := range strings.FieldsFuncSeq(raw, func(r rune) bool { return r == ',' || r == ' ' }) {
			if !rp.allowedScopes[s] {
				if len(s) > 64 {
					s = s[:64] + "…"
				}
				return "", fmt.Errorf("%w: %q for provider %s", ErrScopeNotAllowed, s, rp.name)
			}
			if !slices.Contains(scopes, s) {
				scopes = append(scopes, s)
			}
		}
	}
	return strings.Join(scopes, " "), nil
}
