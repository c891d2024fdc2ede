package oauthlogin

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"golang.org/x/oauth2"
)

// begin serves GET {prefix}{provider}: it checks the success and failure
// URLs and the scopes, seals a new flow in a cookie and redirects to the
// provider. Bad input is a 400 (404 for an unknown provider) with a JSON
// error; it never redirects anywhere unchecked.
//
// POST {prefix}{provider} with link=1 (in the form or the query) starts a
// flow that links the provider account to the signed-in user instead. It
// must be a same-origin request (http.CrossOriginProtection) from a browser
// with a session, and answers 303; link=1 on a GET is refused, so that no
// cross-site link or image can start a link.
//
// The per-login parameters prompt, login_hint, max_age, acr_values and
// ui_locales (OpenID Connect Core §3.1.2.1) are checked (loginParams) and
// passed on, replacing the provider's own of the same name, except that
// max_age and acr_values may only tighten the provider's own (tighten);
// the effective max_age and acr_values are sealed in the flow and checked
// at the callback. A
// provider that pushes its requests (RFC 9126) gets them all at its PAR
// endpoint first; a failed push ends the login at the failure URL with
// par_failed, and sets no flow cookie.
//
// A begin that arrives at another loopback name for BaseURL's host
// (127.0.0.1 for localhost) is sent there first, with the same path and
// query, since the flow cookie must be set where the callback arrives; a
// link's POST, which cannot be redirected, is refused with 400.
func (m *Manager) begin(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if m.loopbackAlias(r) {
		if r.Method == http.MethodPost {
			m.writeErrorStatus(w, r, http.StatusBadRequest, &hostError{got: r.Host, base: m.baseOrigin})
			return
		}
		m.log.DebugContext(r.Context(), "oauthlogin: begin sent to BaseURL's host", "host", truncate(r.Host, 256), "baseHost", m.base.Host)
		redirect(w, r, m.atBaseHost(r))
		return
	}
	rp, ok := m.lookup(r.PathValue("provider"))
	if !ok {
		m.writeError(w, r, fmt.Errorf("%w: %q", ErrUnknownProvider, r.PathValue("provider")))
		return
	}
	q := r.URL.Query()
	if r.Method == http.MethodPost {
		if !m.sameOrigin(w, r) {
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			m.writeError(w, r, fmt.Errorf("%w: unreadable form", errBadRequest))
			return
		}
		q = r.Form
	}
	if rt := q.Get("response_type"); rt != "" && rt != "code" {
		m.writeError(w, r, errImplicitFlow)
		return
	}
	mode := q.Get("mode")
	if mode != "" && mode != "session" && mode != modeToken {
		m.writeError(w, r, fmt.Errorf("%w: %q", errUnsupportedMode, truncate(mode, 32)))
		return
	}
	success, err := m.target(mode, q.Get("success"))
	if err != nil {
		m.writeError(w, r, fmt.Errorf("success: %w", err))
		return
	}
	failure, err := m.target(mode, q.Get("failure"))
	if err != nil {
		m.writeError(w, r, fmt.Errorf("failure: %w", err))
		return
	}
	scope, err := rp.scope(append(q["scopes"], q["scopes[]"]...))
	if err != nil {
		m.writeError(w, r, err)
		return
	}
	challenge, err := m.appChallenge(mode, q)
	if err != nil {
		m.writeError(w, r, err)
		return
	}
	f := &flow{
		Provider:  rp.name,
		State:     randomToken(32),
		Verifier:  oauth2.GenerateVerifier(),
		Success:   success,
		Failure:   failure,
		Expires:   m.now().Add(m.flowTTL).Unix(),
		Mode:      mode,
		Challenge: challenge,
	}
	extra, err := rp.loginParams(q, f)
	if err != nil {
		m.writeError(w, r, err)
		return
	}
	if q.Get("link") != "" {
		if mode == modeToken {
			m.writeError(w, r, fmt.Errorf("%w: link with mode=token", errUnsupportedMode))
			return
		}
		if r.Method != http.MethodPost {
			m.writeError(w, r, errLinkRequiresPost)
			return
		}
		s := m.answerSession(w, r)
		if s == nil {
			return
		}
		f.LinkUser, f.LinkSession = s.UserID, s.ID
	}
	f.Nonce = f.nonce(rp)
	var to string
	switch {
	case extra == nil && rp.pushURL == "":
		to = rp.authURL(f, scope)
	case rp.pushURL == "":
		to = rp.authBase + rp.authParams(f, scope, extra).Encode()
	default:
		// A failed push sets no flow cookie: the login ends here, at the
		// failure URL, like a failed callback.
		if to, err = rp.push(r.Context(), rp.authParams(f, scope, extra)); err != nil {
			m.log.InfoContext(r.Context(), "oauthlogin: pushed authorization request failed", "provider", rp.name,
				"code", Code(err), "err", logDetail(err, f.Verifier, rp.oauth.ClientSecret))
			redirect(w, r, withQuery(f.Failure, "error", Code(err)))
			return
		}
	}
	m.endExcessFlows(w, r)
	if err := m.setFlowCookie(w, f, rp.formPost); err != nil {
		m.writeError(w, r, err)
		return
	}
	redirect(w, r, to)
}

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
		return "", fmt.Errorf("%w: the scopes parameter has %d bytes, more than %d", errScopeNotAllowed, size, maxScopeParam)
	}
	scopes := slices.Clone(rp.defaultScopes)
	for _, raw := range requested {
		for s := range strings.FieldsFuncSeq(raw, func(r rune) bool { return r == ',' || r == ' ' }) {
			if !rp.allowedScopes[s] {
				if len(s) > 64 {
					s = s[:64] + "…"
				}
				return "", fmt.Errorf("%w: %q for provider %s", errScopeNotAllowed, s, rp.name)
			}
			if !slices.Contains(scopes, s) {
				scopes = append(scopes, s)
			}
		}
	}
	return strings.Join(scopes, " "), nil
}

// maxScopeParam bounds what a begin request's scopes may add up to.
const maxScopeParam = 2048

// callback serves GET and POST {prefix}{provider}/callback. It ends the flow
// the state names: on success with a new session and a redirect to the
// success URL; on any failure with a redirect to the failure URL carrying
// error=<code>, and no session. A callback that does not name a flow of
// this browser by its state (none, a wrong one, a malformed or oversized
// response) ends no flow: its failure goes to the URL of another live flow
// for the provider, whose login goes on, or, when there is none, there is
// no failure URL to trust and it answers 400.
func (m *Manager) callback(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer") // the URL holds the code
	provider := r.PathValue("provider")
	rp, ok := m.lookup(provider)
	if !ok {
		m.writeError(w, r, fmt.Errorf("%w: %q", ErrUnknownProvider, provider))
		return
	}
	// An oversized response, or a state no flow of ours could have, is
	// refused before any work for it; it names no flow, so it ends none
	// (findFlow), and its failure goes to another flow's URL if any.
	params, malformed := callbackParams(w, r)
	state := params.Get("state")
	if malformed == nil {
		malformed = checkValue("state", state, maxState)
	}
	if malformed != nil {
		params, state = url.Values{}, ""
	}
	f, cookie, err := m.findFlow(r, provider, state)
	if malformed != nil {
		err = malformed
	}
	if cookie != "" {
		// The flow this callback names ends here, whatever happens next.
		m.clearCookie(w, cookie, m.flowCookiePath)
	} else if errors.Is(err, errStateMismatch) && m.otherHost(r) {
		// Its flow cookie, if any, is at BaseURL's host, or the begin was
		// served at this one: say so, rather than a bare mismatch.
		m.log.DebugContext(r.Context(), "oauthlogin: a callback at another host than BaseURL's finds no flow",
			"host", truncate(r.Host, 256), "baseHost", m.base.Host)
		err = &hostError{got: r.Host, base: m.baseOrigin, callback: true}
	}
	if f == nil {
		m.writeError(w, r, err)
		return
	}
	// The redirects were checked at begin; check them again, in case the
	// allowlist changed since (or a cookie key leaked), and send the
	// browser to what was checked (a path resolved, as at begin).
	for _, to := range []*string{&f.Success, &f.Failure} {
		checked, rerr := m.target(f.Mode, *to)
		if rerr != nil {
			m.writeError(w, r, rerr)
			return
		}
		*to = checked
	}
	if err == nil {
		err = m.store.Consume(r.Context(), "state:"+hashID(f.State), m.now().Add(m.flowTTL))
		if errors.Is(err, ErrAlreadyUsed) {
			err = errStateReplayed
		}
	}
	to := f.Success
	if err == nil {
		to, err = m.finish(w, r, rp, f, params)
	}
	if err != nil {
		// What a hostile provider sends back may echo the values it was
		// given; none of them reaches the log.
		msg := logDetail(err, f.State, f.Verifier, f.nonce(rp), params.Get("code"), rp.oauth.ClientSecret)
		m.log.InfoContext(r.Context(), "oauthlogin: login failed", "provider", provider, "code", Code(err), "err", msg)
		to = withQuery(f.Failure, "error", Code(err))
	}
	redirect(w, r, to)
}

// callbackParams returns a callback's parameters: the query, or for a
// form_post callback the form. An oversized or unreadable one is an error
// wrapping errInvalidResponse, read no further.
func callbackParams(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	if len(r.URL.RawQuery) > maxCallbackParams {
		return nil, fmt.Errorf("%w: query over %d bytes", errInvalidResponse, maxCallbackParams)
	}
	if r.Method != http.MethodPost {
		return r.URL.Query(), nil
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxCallbackParams)
	if err := r.ParseForm(); err != nil {
		return nil, fmt.Errorf("%w: form unreadable or over %d bytes", errInvalidResponse, maxCallbackParams)
	}
	return r.Form, nil
}

// checkValue refuses a code or state over limit bytes or with a byte
// outside VSCHAR (%x20-7E, RFC 6749 Appendix A.5 and A.11): control
// characters (NUL, CR, LF, TAB, DEL) and raw non-ASCII bytes have no place
// in either, and some token endpoints or logs would read them otherwise.
func checkValue(name, v string, limit int) error {
	if len(v) > limit {
		return fmt.Errorf("%w: %s over %d bytes", errInvalidResponse, name, limit)
	}
	if !vschars(v) {
		return fmt.Errorf("%w: %s has a byte outside %%x20-7E", errInvalidResponse, name)
	}
	return nil
}

// vschars reports whether s has only VSCHAR bytes (%x20-7E, RFC 6749
// Appendix A).
func vschars(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// nqchars reports whether s has only NQCHAR bytes (%x21 / %x23-5B /
// %x5D-7E, RFC 6749 Appendix A): printable, without a space, a double
// quote or a backslash.
func nqchars(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// checkResponse checks the authorization response before any token
// request: parameters, issuer (RFC 9207), error, code, link session.
func (m *Manager) checkResponse(r *http.Request, rp *registered, f *flow, params url.Values) error {
	for _, k := range []string{"code", "iss", "error", "state"} {
		if len(params[k]) > 1 {
			// RFC 6749 §3.1: a parameter must not be sent more than once.
			return fmt.Errorf("%w: repeated %s", errInvalidResponse, k)
		}
	}
	if rp.oidc != nil {
		// RFC 9207: an authorization response names its issuer; a mix-up
		// attack sends one provider's response to another's callback.
		iss, sent := params.Get("iss"), params.Has("iss")
		if (sent && !matchIssuer(rp.oidc, iss)) || (!sent && rp.oidc.IssuerInResponse()) {
			return errIssuerMismatch
		}
	}
	if e := params.Get("error"); e != "" {
		if e == "access_denied" {
			return ErrProviderDenied
		}
		if pe, ok := promptErrors[e]; ok {
			return pe
		}
		return fmt.Errorf("%w: %q", errProviderError, truncate(e, 64))
	}
	code := params.Get("code")
	if code == "" {
		return errCodeMissing
	}
	if err := checkValue("code", code, maxCode); err != nil {
		return err
	}
	if f.LinkUser != "" {
		// Link only into the session that asked for it, still signed in.
		s, err := m.requestSession(r)
		if err != nil || s.ID != f.LinkSession || s.UserID != f.LinkUser {
			return errLinkSessionMismatch
		}
	}
	return nil
}

// finish checks the authorization response, redeems the code, identifies
// the user and starts the session. It returns where to send the browser.
func (m *Manager) finish(w http.ResponseWriter, r *http.Request, rp *registered, f *flow, params url.Values) (string, error) {
	if err := m.checkResponse(r, rp, f, params); err != nil {
		return "", err
	}
	// With DPoP, a fresh key for the tokens of this login (RFC 9449): the
	// exchange's proof and the user info request's are by it.
	ctx, key, err := rp.dpopContext(rp.clientContext(r.Context()), nil)
	if err != nil {
		return "", err
	}
	tok, err := rp.exchange(ctx, params.Get("code"), oauth2.VerifierOption(f.Verifier))
	if err != nil {
		return "", exchangeError(err)
	}
	tok.Expiry = m.clampExpiry(tok.Expiry)
	profile, err := rp.identify(ctx, tok, f.nonce(rp), params)
	if err != nil {
		return "", err
	}
	if err := m.checkLoginFacts(f, profile); err != nil {
		return "", err
	}
	if key != nil {
		tok = withTokenDPoPKey(tok, key) // sealed with the tokens from here on
	}
	id, event, err := m.signIn(r.Context(), rp, profile, tok, f.LinkUser)
	if err != nil {
		return "", err
	}
	to, s := f.Success, (*Session)(nil)
	if f.Mode == modeToken {
		to, s, err = m.startTokenSession(r, f, id, profile)
	} else {
		s, err = m.startSession(w, r, id, tok, profile)
	}
	if err != nil {
		return "", err
	}
	m.emit(r, Event{Type: event, UserID: id.UserID, Provider: rp.name, IdentityID: id.ID, SessionID: s.ID})
	return to, nil
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
