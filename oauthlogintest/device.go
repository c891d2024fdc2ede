package oauthlogintest

import (
	"crypto/rand"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// deviceGrant is a device authorization (RFC 8628) waiting for its user.
type deviceGrant struct {
	userCode string
	scope    string
	expires  time.Time
	interval time.Duration
	approved *User // set by ApproveDevice
	denied   bool
	used     bool
}

// deviceTTL is how long device codes last.
const deviceTTL = 10 * time.Minute

// serveDevice is the device authorization endpoint (RFC 8628 §3.1).
func (s *Server) serveDevice(w http.ResponseWriter, r *http.Request) {
	if e := parsePostForm(r); e != nil {
		e.write(w)
		return
	}
	if s.jwtClientAuth() || r.PostForm.Has("client_assertion") {
		// A client registered for a JWT method authenticates here as at
		// the token endpoint (RFC 8628 §3.1).
		if e := s.authenticateClient(r); e != nil {
			e.write(w)
			return
		}
	} else if r.PostForm.Get("client_id") != s.clientID {
		if user, _, ok := r.BasicAuth(); !ok || user != url.QueryEscape(s.clientID) {
			writeError(w, http.StatusUnauthorized, "invalid_client", "unknown client")
			return
		}
	}
	b := s.currentBehavior()
	ttl := deviceTTL
	if b.DeviceExpiresIn != 0 {
		ttl = b.DeviceExpiresIn
	}
	d := &deviceGrant{userCode: userCode(), scope: r.PostForm.Get("scope"), expires: time.Now().Add(ttl), interval: 5 * time.Second}
	code := randomString()
	s.mu.Lock()
	s.devices[code] = d
	s.mu.Unlock()
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{
		"device_code":               code,
		"user_code":                 d.userCode,
		"verification_uri":          s.issuer + "/activate",
		"verification_uri_complete": s.issuer + "/activate?user_code=" + d.userCode,
		"expires_in":                int64(ttl / time.Second),
		"interval":                  int64(d.interval / time.Second),
	})
}

// userCode returns eight letters in two groups, from an alphabet without
// vowels or look-alikes (RFC 8628 §6.1).
func userCode() string {
	const alphabet = "BCDFGHJKLMNPQRSTVWXZ"
	b := make([]byte, 8)
	rand.Read(b)
	var sb strings.Builder
	for i, c := range b {
		if i == 4 {
			sb.WriteByte('-')
		}
		sb.WriteByte(alphabet[int(c)%len(alphabet)])
	}
	return sb.String()
}

// redeemDeviceCode runs the device_code grant (RFC 8628 §3.4): scripted
// answers first (Behavior.DevicePolls), then pending until ApproveDevice or
// DenyDevice, expired_token after the code's lifetime.
func (s *Server) redeemDeviceCode(form url.Values, b Behavior, now time.Time) (*tokenResponse, *grant, *oauthError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.devices[form.Get("device_code")]
	if d == nil || d.used {
		return nil, nil, invalidGrant("unknown device code")
	}
	if s.devicePolls < len(b.DevicePolls) {
		e := b.DevicePolls[s.devicePolls]
		s.devicePolls++
		return nil, nil, &oauthError{http.StatusBadRequest, e, "scripted by oauthlogintest.Behavior.DevicePolls"}
	}
	switch {
	case !now.Before(d.expires):
		return nil, nil, &oauthError{http.StatusBadRequest, "expired_token", "the device code expired"}
	case d.denied:
		d.used = true
		return nil, nil, &oauthError{http.StatusBadRequest, "access_denied", "the user denied the device"}
	case d.approved == nil:
		return nil, nil, &oauthError{http.StatusBadRequest, "authorization_pending", "waiting for the user"}
	}
	d.used = true
	g := &grant{clientID: s.clientID, scope: d.scope, user: *d.approved, authTime: now, expires: now, used: true}
	resp := s.issueAccessLocked(g, now, b.AccessTokenSize)
	if !b.OmitRefreshToken {
		resp.RefreshToken = randomString()
		s.refresh[resp.RefreshToken] = &refreshToken{grant: g}
	}
	return resp, g, nil
}

// issueClientCredentials runs the client_credentials grant (RFC 6749
// §4.4): an access token for the client itself, no user, no refresh token.
func (s *Server) issueClientCredentials(form url.Values, b Behavior, now time.Time) (*tokenResponse, *grant, *oauthError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := &grant{clientID: s.clientID, scope: form.Get("scope"), authTime: now, expires: now, used: true}
	return s.issueAccessLocked(g, now, b.AccessTokenSize), g, nil
}

// errUnknownUserCode is returned for a user code no device is waiting with.
var errUnknownUserCode = errors.New("oauthlogintest: no device waits with that user code")

// ApproveDevice approves the device waiting with userCode as u: its next
// poll gets tokens (and an ID token with the openid scope).
func (s *Server) ApproveDevice(userCode string, u User) error {
	return s.answerDevice(userCode, func(d *deviceGrant) { d.approved = &u })
}

// DenyDevice denies the device waiting with userCode: its next poll gets
// access_denied.
func (s *Server) DenyDevice(userCode string) error {
	return s.answerDevice(userCode, func(d *deviceGrant) { d.denied = true })
}

func (s *Server) answerDevice(userCode string, answer func(*deviceGrant)) error {
	userCode = strings.ToUpper(strings.TrimSpace(userCode))
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range s.devices {
		if d.userCode == userCode && !d.used && d.approved == nil && !d.denied && time.Now().Before(d.expires) {
			answer(d)
			return nil
		}
	}
	return errUnknownUserCode
}
