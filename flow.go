package oauthlogin

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/http"
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
	// StepUp is what the login asks of the authentication, the begin's
	// and the provider's own (tighten), which the callback checks
	// (checkLoginFacts); nil for most logins.
	StepUp *stepUp `json:"su,omitempty"`
}

// stepUp is a login's max_age (seconds) and acr_values, checked against
// the ID token's auth_time and acr.
type stepUp struct {
	MaxAge    *int64 `json:"ma,omitempty"`
	ACRValues string `json:"acr,omitempty"`
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
	var buf [128]byte // verifiers are 43 bytes: hashed without a heap copy
	sum := sha256.Sum256(append(append(buf[:0], "oauthlogin nonce\x00"...), verifier...))
	var out [43]byte
	base64.RawURLEncoding.Encode(out[:], sum[:])
	return string(out[:])
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
		return m.otherFlow(r, provider), "", errStateMissing
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
		return m.otherFlow(r, provider), name, fmt.Errorf("%w: the flow cookie is sent more than once", errStateMismatch)
	case f == nil:
		return m.otherFlow(r, provider), "", errStateMismatch
	case f.State != "" && subtle.ConstantTimeCompare([]byte(f.State), []byte(state)) != 1:
		// Named by a digest of another state (96 bits, in an earlier
		// version): not this callback's flow to end.
		return f, "", errStateMismatch
	}
	f.State = state // the name, which the MAC covers, binds it
	if m.now().Unix() >= f.Expires {
		return f, name, errFlowExpired
	}
	if f.Provider != provider {
		return f, name, errProviderMismatch
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
