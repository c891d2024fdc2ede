package oauthlogin

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// deviceIdP is a scripted device authorization server: each poll answers
// with the next scripted error, then with tokens.
type deviceIdP struct {
	srv     *httptest.Server
	mu      sync.Mutex
	answers []string // errors to answer polls with, in order ("unavailable": a 503); then success
	polls   int
	verify  string
}

func newDeviceIdP(t *testing.T, answers ...string) *deviceIdP {
	d := &deviceIdP{answers: answers}
	d.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		w.Header().Set("Content-Type", "application/json")
		d.mu.Lock()
		defer d.mu.Unlock()
		switch r.URL.Path {
		case "/device":
			verify := d.verify
			if verify == "" {
				verify = "https://idp.example/activate"
			}
			json.NewEncoder(w).Encode(map[string]any{"device_code": "dev-code", "user_code": "WDJB-MJHT", "verification_uri": verify, "expires_in": 600, "interval": 5})
		case "/token":
			if r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:device_code" || r.PostForm.Get("device_code") != "dev-code" {
				w.WriteHeader(http.StatusBadRequest)
				io.WriteString(w, `{"error":"invalid_grant"}`)
				return
			}
			d.polls++
			if len(d.answers) > 0 {
				e := d.answers[0]
				d.answers = d.answers[1:]
				if e == "unavailable" {
					w.WriteHeader(http.StatusServiceUnavailable)
					io.WriteString(w, "down for maintenance")
					return
				}
				w.WriteHeader(http.StatusBadRequest)
				io.WriteString(w, `{"error":"`+e+`"}`)
				return
			}
			io.WriteString(w, `{"access_token":"device-access","token_type":"Bearer","refresh_token":"device-refresh","expires_in":"3600"}`)
		}
	}))
	t.Cleanup(d.srv.Close)
	return d
}

// deviceProvider is a plain provider whose profile is fixed.
type deviceProvider struct{ base string }

func (p deviceProvider) Name() string { return "tv" }
func (p deviceProvider) OAuth2Config() oauth2.Config {
	return oauth2.Config{ClientID: "tv-client", Endpoint: oauth2.Endpoint{AuthURL: p.base + "/authorize", TokenURL: p.base + "/token", DeviceAuthURL: p.base + "/device"}}
}
func (p deviceProvider) Identify(_ context.Context, tok *oauth2.Token, _ string) (*Profile, error) {
	if tok.AccessToken != "device-access" {
		return nil, errors.New("wrong token")
	}
	return &Profile{Subject: "viewer"}, nil
}

// fakeClock records the waits DeviceLogin asks for and ends each at once.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	waits []time.Duration
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.waits = append(c.waits, d)
	c.now = c.now.Add(d)
	ch := make(chan time.Time, 1)
	ch <- c.now
	return ch
}

func deviceManager(t *testing.T, d *deviceIdP, clock *fakeClock) *Manager {
	m, err := New(Config{BaseURL: "http://localhost", Keys: Keys{Cookie: []CookieKey{GenerateCookieKey()}}, DeviceProviders: []string{"tv"}})
	if err != nil {
		t.Fatal(err)
	}
	if clock != nil {
		m.now, m.after = clock.Now, clock.After
	}
	if err := m.Register(deviceProvider{d.srv.URL}); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestDeviceLogin(t *testing.T) {
	d := newDeviceIdP(t, "authorization_pending", "slow_down", "authorization_pending", "slow_down", "authorization_pending")
	clock := &fakeClock{now: time.Now()}
	m := deviceManager(t, d, clock)
	var shown DeviceCode
	s, token, err := m.DeviceLogin(context.Background(), "tv", func(c DeviceCode) error { shown = c; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if shown.UserCode != "WDJB-MJHT" || shown.VerificationURI != "https://idp.example/activate" || shown.Interval != 5*time.Second {
		t.Fatalf("shown %+v", shown)
	}
	// 5 s, then +5 s after each slow_down, for every later poll too.
	want := []time.Duration{5, 5, 10, 10, 15, 15}
	if len(clock.waits) != len(want) {
		t.Fatalf("waits %v", clock.waits)
	}
	for i, w := range want {
		if clock.waits[i] != w*time.Second {
			t.Fatalf("waits %v, want %v seconds", clock.waits, want)
		}
	}
	if d.polls != 6 || s.ProviderUID != "viewer" || len(token) != 43 {
		t.Fatalf("polls %d, session %+v", d.polls, s)
	}
	got, err := m.store.Session(context.Background(), hashID(token))
	if err != nil || got.UserID != s.UserID {
		t.Fatalf("the bearer session is not stored: %v", err)
	}
	tok, _ := m.ProviderToken(got)
	if tok.RefreshToken != "device-refresh" || tok.Expiry.Sub(clock.Now()) != time.Hour {
		t.Fatalf("tokens %+v (expires_in as a string is an hour)", tok)
	}
}

func TestDeviceLoginEnds(t *testing.T) {
	for _, tc := range []struct {
		name    string
		answers []string
		want    error
	}{
		{"Denied", []string{"authorization_pending", "access_denied"}, ErrProviderDenied},
		{"Expired", []string{"expired_token"}, ErrDeviceCodeExpired},
		{"Other", []string{"invalid_grant"}, ErrTokenExchange},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDeviceIdP(t, tc.answers...)
			m := deviceManager(t, d, &fakeClock{now: time.Now()})
			_, _, err := m.DeviceLogin(context.Background(), "tv", func(DeviceCode) error { return nil })
			if !errors.Is(err, tc.want) {
				t.Fatalf("DeviceLogin = %v, want %v", err, tc.want)
			}
		})
	}
	t.Run("LocalDeadline", func(t *testing.T) {
		pending := make([]string, 1000)
		for i := range pending {
			pending[i] = "authorization_pending"
		}
		d := newDeviceIdP(t, pending...)
		clock := &fakeClock{now: time.Now()}
		m := deviceManager(t, d, clock)
		_, _, err := m.DeviceLogin(context.Background(), "tv", func(DeviceCode) error { return nil })
		// Polls at 5, 10, ... 595 s; at 600 s the code has expired.
		if !errors.Is(err, ErrDeviceCodeExpired) || d.polls != 119 {
			t.Fatalf("after 600 s of pending: %v after %d polls, want ErrDeviceCodeExpired after 119", err, d.polls)
		}
	})
	t.Run("Cancelled", func(t *testing.T) {
		d := newDeviceIdP(t, "authorization_pending")
		m := deviceManager(t, d, nil)
		ctx, cancel := context.WithCancel(context.Background())
		_, _, err := m.DeviceLogin(ctx, "tv", func(DeviceCode) error { cancel(); return nil })
		if !errors.Is(err, context.Canceled) || d.polls != 0 {
			t.Fatalf("cancelled: %v after %d polls", err, d.polls)
		}
	})
	t.Run("InsecureVerificationURI", func(t *testing.T) {
		d := newDeviceIdP(t)
		d.verify = "http://idp.example/activate"
		m := deviceManager(t, d, nil)
		if _, _, err := m.DeviceLogin(context.Background(), "tv", func(DeviceCode) error { return nil }); !errors.Is(err, errProviderError) {
			t.Fatalf("http verification URI: %v", err)
		}
	})
}

func TestDeviceHTTP(t *testing.T) {
	d := newDeviceIdP(t, "authorization_pending", "slow_down")
	clock := &fakeClock{now: time.Now()}
	m := deviceManager(t, d, clock)
	h := m.Handler()
	do := func(path, body string) (int, map[string]any) {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("POST", path, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		h.ServeHTTP(w, r)
		var v map[string]any
		json.Unmarshal(w.Body.Bytes(), &v)
		return w.Code, v
	}
	status, start := do("/auth/tv/device", "")
	if status != http.StatusOK || start["user_code"] != "WDJB-MJHT" || start["interval"] != float64(5) || start["expires_in"].(float64) < 590 {
		t.Fatalf("start = %d %v", status, start)
	}
	handle := url.Values{"handle": {start["handle"].(string)}}.Encode()
	status, v := do("/auth/device/token", handle)
	if status != http.StatusBadRequest || v["error"] != errAuthorizationPending.Code() || v["handle"] == nil {
		t.Fatalf("first poll = %d %v", status, v)
	}
	clock.After(5 * time.Second)
	handle = url.Values{"handle": {v["handle"].(string)}}.Encode()
	if status, v = do("/auth/device/token", handle); status != http.StatusBadRequest || v["error"] != errSlowDown.Code() || v["interval"] != float64(10) {
		t.Fatalf("second poll = %d %v", status, v)
	}
	clock.After(10 * time.Second)
	status, s := do("/auth/device/token", url.Values{"handle": {v["handle"].(string)}}.Encode())
	if status != http.StatusCreated || s["providerUid"] != "viewer" || len(s["secret"].(string)) != 43 {
		t.Fatalf("third poll = %d %v", status, s)
	}
	// A forged or tampered handle is refused before any request.
	raw, _ := base64.RawURLEncoding.DecodeString(start["handle"].(string))
	raw[len(raw)-1] ^= 1
	polls := d.polls
	if status, v := do("/auth/device/token", url.Values{"handle": {base64.RawURLEncoding.EncodeToString(raw)}}.Encode()); status != http.StatusBadRequest || v["error"] != errInvalidHandle.Code() || d.polls != polls {
		t.Fatalf("tampered handle = %d %v", status, v)
	}
	if status, _ := do("/auth/nope/device", ""); status != http.StatusNotFound {
		t.Fatalf("unknown provider = %d", status)
	}
}

// TestDevicePollRenamedAnswers: a device poll that finds the provider
// down answers 503 provider_unavailable (ErrProviderUnavailable, the
// refresh's outage too) with the next handle; one whose device code the
// provider says expired, or that expired on our clock, answers 400
// expired_token (ErrDeviceCodeExpired, RFC 8628's code), and no handle.
func TestDevicePollRenamedAnswers(t *testing.T) {
	d := newDeviceIdP(t, "unavailable", "expired_token")
	a := newDeviceApp(t, d, 1)
	status, v := a.poll(0, a.start())
	if status != http.StatusServiceUnavailable || v["error"] != "provider_unavailable" || v["message"] != ErrProviderUnavailable.public || v["handle"] == nil {
		t.Fatalf("poll with the provider down = %d %v, want 503 provider_unavailable and a handle", status, v)
	}
	a.clock.After(5 * time.Second)
	status, v = a.poll(0, v["handle"].(string))
	if status != http.StatusBadRequest || v["error"] != "expired_token" || v["message"] != ErrDeviceCodeExpired.public || v["handle"] != nil || d.polls != 2 {
		t.Fatalf("poll answered expired_token = %d %v after %d provider polls", status, v, d.polls)
	}

	d = newDeviceIdP(t)
	a = newDeviceApp(t, d, 1)
	h := a.start()
	a.clock.After(601 * time.Second) // the code's expires_in is 600
	if status, v := a.poll(0, h); status != http.StatusBadRequest || v["error"] != "expired_token" || d.polls != 0 {
		t.Fatalf("poll after expiry = %d %v after %d provider polls", status, v, d.polls)
	}
}
