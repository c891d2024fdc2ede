package oauthlogin

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"golang.org/x/oauth2"
)

// DeviceCode is what a user needs to approve a device authorization
// (RFC 8628) on another device: a code to type at an address.
type DeviceCode struct {
	UserCode                string
	VerificationURI         string
	VerificationURIComplete string
	Expires                 time.Time
	Interval                time.Duration
}

// deviceHandle is a device authorization in progress, sealed into the
// opaque handle a client polls with. Each handle polls once: every answer
// but the last carries the next handle, with the interval the server
// enforces (RFC 8628 §3.5: 5 s more after each slow_down) and the earliest
// time it may poll. Single use is a mark per handle in the Store (Consume),
// so no copy of an earlier handle, on any instance, polls faster.
type deviceHandle struct {
	Provider   string `json:"p"`
	DeviceCode string `json:"d"`
	Expires    int64  `json:"e"`
	Interval   int64  `json:"i"`
	// Seq numbers the handles of one device code, from 0.
	Seq int64 `json:"n,omitempty"`
	// NotBefore (Unix milliseconds) is when this handle may poll: the
	// previous poll plus the interval. Zero for the first handle.
	NotBefore int64 `json:"nb,omitempty"`
}

// deviceEnabled reports whether the host serves the device flow for the
// provider (Config.DeviceProviders).
func (m *Manager) deviceEnabled(provider string) bool {
	return slices.Contains(m.cfg.DeviceProviders, provider)
}

// deviceKey names a device code in the Store (Consume), by its hash.
func deviceKey(h *deviceHandle) string {
	return h.Provider + ":" + hashID(h.DeviceCode)
}

// pollStep polls once with handle h, under the rules RFC 8628 §3.5 sets
// for clients, enforced here: h is used once (a second use is
// errInvalidHandle); a poll before h's NotBefore is errSlowDown without a
// provider request; each slow_down, ours or the provider's, adds 5 s to
// the interval of every later poll; and a device code yields at most one
// token, whatever the provider answers later. Unless the device
// authorization ended, it returns the next handle, with the error that
// says why there is no token yet.
func (m *Manager) pollStep(ctx context.Context, rp *registered, h *deviceHandle) (*deviceHandle, *oauth2.Token, error) {
	now := m.now()
	if now.Unix() >= h.Expires {
		return nil, nil, ErrDeviceCodeExpired
	}
	expires := time.Unix(h.Expires, 0)
	if err := m.store.Consume(ctx, "device-poll:"+deviceKey(h)+":"+strconv.FormatInt(h.Seq, 10), expires); err != nil {
		if errors.Is(err, ErrAlreadyUsed) {
			err = fmt.Errorf("%w: a handle polls once; poll with the last one answered", errInvalidHandle)
		}
		return nil, nil, err
	}
	next := *h
	next.Seq++
	if now.UnixMilli() < h.NotBefore {
		next.Interval += 5
		next.NotBefore = now.Add(time.Duration(next.Interval) * time.Second).UnixMilli()
		return &next, nil, errSlowDown
	}
	tok, err := m.pollDevice(ctx, rp, h)
	switch {
	case err == nil:
		if err := m.store.Consume(ctx, "device-done:"+deviceKey(h), expires); err != nil {
			if errors.Is(err, ErrAlreadyUsed) {
				err = fmt.Errorf("%w: the device code was redeemed already", errInvalidHandle)
			}
			return nil, nil, err
		}
		return nil, tok, nil
	case errors.Is(err, errSlowDown):
		next.Interval += 5
	case errors.Is(err, errAuthorizationPending), errors.Is(err, ErrProviderUnavailable):
	default:
		return nil, nil, err
	}
	next.NotBefore = now.Add(time.Duration(next.Interval) * time.Second).UnixMilli()
	return &next, nil, err
}

// startDevice asks the provider for a device code (RFC 8628 §3.1).
func (m *Manager) startDevice(ctx context.Context, provider string) (*DeviceCode, *deviceHandle, error) {
	rp, ok := m.lookup(provider)
	if !ok {
		return nil, nil, fmt.Errorf("%w: %q", ErrUnknownProvider, provider)
	}
	if rp.oauth.Endpoint.DeviceAuthURL == "" {
		return nil, nil, fmt.Errorf("%w: provider %s has no device authorization endpoint", ErrDeviceUnsupported, provider)
	}
	da, err := rp.oauth.DeviceAuth(rp.clientContext(ctx))
	if err != nil {
		return nil, nil, wrap(errProviderError, err)
	}
	for _, raw := range []string{da.VerificationURI, da.VerificationURIComplete} {
		if raw != "" && !secureURL(raw) {
			return nil, nil, fmt.Errorf("%w: verification URI %q is not https", errProviderError, truncate(raw, 128))
		}
	}
	if da.DeviceCode == "" || da.UserCode == "" || da.VerificationURI == "" {
		return nil, nil, fmt.Errorf("%w: incomplete device authorization response", errProviderError)
	}
	// x/oauth2 turned expires_in into a time on the real clock: take it
	// back to seconds, on ours.
	now := m.now()
	expires := now.Add(time.Until(da.Expiry).Round(time.Second))
	if da.Expiry.IsZero() || expires.After(now.Add(time.Hour)) {
		expires = now.Add(time.Hour) // RFC 8628 requires expires_in; bound a missing or absurd one
	}
	interval := time.Duration(da.Interval) * time.Second
	if interval <= 0 {
		interval = 5 * time.Second // RFC 8628 §3.2's default
	}
	code := &DeviceCode{UserCode: da.UserCode, VerificationURI: da.VerificationURI, VerificationURIComplete: da.VerificationURIComplete, Expires: expires, Interval: interval}
	return code, &deviceHandle{Provider: provider, DeviceCode: da.DeviceCode, Expires: expires.Unix(), Interval: int64(interval / time.Second)}, nil
}

// secureURL accepts https, and http on a loopback address (for local
// development and tests, never a remote host).
func secureURL(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil {
		return false
	}
	if u.Scheme == "https" {
		return true
	}
	ip := net.ParseIP(u.Hostname())
	return u.Scheme == "http" && ip != nil && ip.IsLoopback()
}

// pollDevice asks the token endpoint once (RFC 8628 §3.4). Pending,
// slow_down, expired and denied answers are the errors errAuthorizationPending,
// errSlowDown, ErrDeviceCodeExpired and ErrProviderDenied.
func (m *Manager) pollDevice(ctx context.Context, rp *registered, h *deviceHandle) (*oauth2.Token, error) {
	if m.now().Unix() >= h.Expires {
		return nil, ErrDeviceCodeExpired
	}
	// With DPoP, each poll's proof is by a fresh key: the tokens are
	// bound to the key of the poll that gets them (RFC 9449 §5).
	ctx, key, err := rp.dpopContext(ctx, nil)
	if err != nil {
		return nil, err
	}
	form := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "device_code": {h.DeviceCode}}
	req, err := rp.clientForm(ctx, rp.oauth.Endpoint.TokenURL, form)
	if err != nil {
		return nil, err
	}
	resp, err := rp.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrProviderUnavailable, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrProviderUnavailable, err)
	}
	var t struct {
		AccessToken  string      `json:"access_token"`
		TokenType    string      `json:"token_type"`
		RefreshToken string      `json:"refresh_token"`
		ExpiresIn    json.Number `json:"expires_in"`
		IDToken      string      `json:"id_token"`
		Error        string      `json:"error"`
	}
	if err := json.Unmarshal(body, &t); err != nil {
		if resp.StatusCode >= 500 {
			return nil, fmt.Errorf("%w: token endpoint answered %d", ErrProviderUnavailable, resp.StatusCode)
		}
		return nil, fmt.Errorf("%w: unreadable token response (status %d)", ErrTokenExchange, resp.StatusCode)
	}
	switch {
	case t.Error == "authorization_pending":
		return nil, errAuthorizationPending
	case t.Error == "slow_down":
		return nil, errSlowDown
	case t.Error == "expired_token":
		return nil, ErrDeviceCodeExpired
	case t.Error == "access_denied":
		return nil, ErrProviderDenied
	case resp.StatusCode >= 500:
		return nil, fmt.Errorf("%w: token endpoint answered %d", ErrProviderUnavailable, resp.StatusCode)
	case t.Error != "" || resp.StatusCode != http.StatusOK || t.AccessToken == "":
		return nil, fmt.Errorf("%w: token endpoint answered %d", ErrTokenExchange, resp.StatusCode)
	}
	tok := &oauth2.Token{AccessToken: t.AccessToken, TokenType: t.TokenType, RefreshToken: t.RefreshToken}
	if t.IDToken != "" {
		tok = tok.WithExtra(map[string]any{"id_token": t.IDToken})
	}
	if err := checkBoundTokenType(tok, key); err != nil {
		return nil, exchangeError(err)
	}
	if key != nil {
		tok = withTokenDPoPKey(tok, key)
	}
	if secs, err := t.ExpiresIn.Int64(); err == nil && secs != 0 {
		tok.Expiry = m.now().Add(time.Duration(secs) * time.Second)
	}
	tok.Expiry = m.clampExpiry(tok.Expiry)
	return tok, nil
}

// finishDevice identifies the user of an approved device authorization
// and starts a bearer session, as a callback would.
func (m *Manager) finishDevice(r *http.Request, rp *registered, tok *oauth2.Token) (*Session, string, error) {
	profile, err := rp.identify(tokenContext(rp.clientContext(r.Context()), tok), tok, "", nil) // no nonce, no authorization response in the device flow
	if err != nil {
		return nil, "", err
	}
	// No begin: the provider's own max_age and acr_values (its
	// AuthParams) are the checks, which the device authorization request
	// does not carry, so a provider that sets them must meet them anyway.
	if err := m.checkLoginFacts(&flow{StepUp: rp.stepUp}, profile); err != nil {
		return nil, "", err
	}
	id, event, err := m.signIn(r.Context(), rp, profile, tok, "")
	if err != nil {
		return nil, "", err
	}
	s, token, err := m.saveNewSession(r, id, tok, profile)
	if err != nil {
		return nil, "", err
	}
	m.emit(r, Event{Type: event, UserID: id.UserID, Provider: rp.name, IdentityID: id.ID, SessionID: s.ID})
	return s, token, nil
}

// deviceStart serves POST {prefix}{provider}/device: it starts a device
// authorization (RFC 8628) and answers 200 with user_code,
// verification_uri, verification_uri_complete, expires_in, interval and an
// opaque handle to poll POST {prefix}device/token with.
func (m *Manager) deviceStart(w http.ResponseWriter, r *http.Request) {
	if !m.deviceEnabled(r.PathValue("provider")) {
		http.NotFound(w, r)
		return
	}
	code, h, err := m.startDevice(r.Context(), r.PathValue("provider"))
	if err != nil {
		m.writeError(w, r, err)
		return
	}
	handle, err := m.keys.sealValue(h, "device")
	if err != nil {
		m.writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{
		"user_code":                 code.UserCode,
		"verification_uri":          code.VerificationURI,
		"verification_uri_complete": code.VerificationURIComplete,
		"expires_in":                int64(code.Expires.Sub(m.now()) / time.Second),
		"interval":                  int64(code.Interval / time.Second),
		"handle":                    base64.RawURLEncoding.EncodeToString(handle),
	})
}

// deviceToken serves POST {prefix}device/token: with the handle of
// deviceStart or of the previous poll (JSON or form), it polls the
// provider once. It answers 400 with error authorization_pending,
// slow_down (and the interval to use from now on), expired_token or
// access_denied, like RFC 8628's token endpoint, or 201 with the session
// JSON whose secret is the bearer session token. Pending, slow_down and a
// provider unavailable (503) carry the next "handle": a handle polls only
// once (a second time is 400 invalid_handle), and a poll sooner than the
// interval after the previous one is slow_down, without asking the
// provider. A lost answer means starting again.
func (m *Manager) deviceToken(w http.ResponseWriter, r *http.Request) {
	if len(m.cfg.DeviceProviders) == 0 {
		http.NotFound(w, r)
		return
	}
	var in struct {
		Handle string `json:"handle"`
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "application/json" {
		json.NewDecoder(r.Body).Decode(&in)
	} else if r.ParseForm() == nil {
		in.Handle = r.PostForm.Get("handle")
	}
	raw, err := base64.RawURLEncoding.DecodeString(in.Handle)
	var h deviceHandle
	if err != nil || m.keys.openValue(raw, "device", &h) != nil {
		m.writeError(w, r, errInvalidHandle)
		return
	}
	if !m.deviceEnabled(h.Provider) {
		http.NotFound(w, r)
		return
	}
	rp, ok := m.lookup(h.Provider)
	if !ok {
		m.writeError(w, r, fmt.Errorf("%w: %q", ErrUnknownProvider, h.Provider))
		return
	}
	next, tok, err := m.pollStep(r.Context(), rp, &h)
	var s *Session
	var token string
	if err == nil {
		s, token, err = m.finishDevice(r, rp, tok)
	}
	if err != nil {
		w.Header().Set("Cache-Control", "no-store")
		if next != nil {
			m.writeNextHandle(w, r, next, err)
			return
		}
		switch {
		case errors.Is(err, errInvalidHandle), errors.Is(err, ErrDeviceCodeExpired), errors.Is(err, ErrProviderDenied), errors.Is(err, ErrProviderUnavailable):
			m.writeError(w, r, err)
		default:
			// Any other failure, of the provider or of the sign-in
			// that follows its answer, is a 502.
			m.writeErrorStatus(w, r, http.StatusBadGateway, err)
		}
		return
	}
	m.writeSessionToken(w, r, s, token, http.StatusCreated)
}

// writeNextHandle answers a poll that may go on: pending, slow_down (with
// the interval from now on) or the provider unavailable, with the next
// handle and the error's fixed text.
func (m *Manager) writeNextHandle(w http.ResponseWriter, r *http.Request, next *deviceHandle, err error) {
	sealed, serr := m.keys.sealValue(next, "device")
	if serr != nil {
		m.writeError(w, r, serr)
		return
	}
	sentinel := errAuthorizationPending
	switch {
	case errors.Is(err, errSlowDown):
		sentinel = errSlowDown
	case errors.Is(err, ErrProviderUnavailable):
		sentinel = ErrProviderUnavailable
		m.log.InfoContext(r.Context(), "oauthlogin: device poll: provider unavailable", "provider", next.Provider, "err", logDetail(err, next.DeviceCode, m.clientSecret(next.Provider)))
	}
	v := map[string]any{"error": sentinel.code, "message": sentinel.public, "handle": base64.RawURLEncoding.EncodeToString(sealed)}
	if sentinel == errSlowDown {
		v["interval"] = next.Interval
	}
	writeJSON(w, sentinel.status, v)
}

// DeviceLogin signs in on a device without a browser (a CLI, a TV) with
// the device authorization grant (RFC 8628): it gets a code from the
// provider, hands it to show for the user to approve elsewhere, and polls
// every interval (5 s more after each slow_down) until the user approves,
// denies, the code expires, or ctx ends. It returns the new session and its
// bearer token.
func (m *Manager) DeviceLogin(ctx context.Context, provider string, show func(DeviceCode) error) (*Session, string, error) {
	if !m.deviceEnabled(provider) {
		return nil, "", fmt.Errorf("%w: %q is not in Config.DeviceProviders", ErrDeviceUnsupported, provider)
	}
	code, h, err := m.startDevice(ctx, provider)
	if err != nil {
		return nil, "", err
	}
	if err := show(*code); err != nil {
		return nil, "", err
	}
	rp, _ := m.lookup(provider)
	r, _ := http.NewRequestWithContext(ctx, http.MethodPost, "/device", nil) // metadata for events
	r.RemoteAddr = "device:0"
	for {
		wait := time.Duration(h.Interval) * time.Second
		if left := code.Expires.Sub(m.now()); left < wait {
			wait = max(left, 0)
		}
		select {
		case <-m.after(wait):
		case <-ctx.Done():
			return nil, "", ctx.Err()
		}
		next, tok, err := m.pollStep(ctx, rp, h)
		switch {
		case err == nil:
			return m.finishDevice(r, rp, tok)
		case next == nil:
			return nil, "", err
		}
		h = next // its interval is 5 s more after a slow_down (RFC 8628 §3.5)
	}
}
