package oauthlogin

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// deviceApp is instances of an app over one store and one set of keys,
// with the device flow enabled for "tv", on one fake clock.
type deviceApp struct {
	t     *testing.T
	clock *fakeClock
	ms    []*Manager
}

func newDeviceApp(t *testing.T, d *deviceIdP, instances int) *deviceApp {
	a := &deviceApp{t: t, clock: &fakeClock{now: time.Now()}}
	store := NewMemoryStore()
	keys := []CookieKey{GenerateCookieKey()}
	for range instances {
		m, err := New(Config{BaseURL: "http://localhost", Keys: Keys{Cookie: keys}, Store: store, DeviceProviders: []string{"tv"}})
		if err != nil {
			t.Fatal(err)
		}
		m.now, m.after = a.clock.Now, a.clock.After
		store.now = a.clock.Now
		if err := m.Register(deviceProvider{d.srv.URL}); err != nil {
			t.Fatal(err)
		}
		a.ms = append(a.ms, m)
	}
	return a
}

// post sends a form to instance i's handler and returns the status and
// the JSON answer.
func (a *deviceApp) post(i int, path string, form url.Values) (int, map[string]any) {
	w := httptest.NewRecorder()
	r := httptest.NewRequest("POST", path, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	a.ms[i].Handler().ServeHTTP(w, r)
	var v map[string]any
	json.Unmarshal(w.Body.Bytes(), &v)
	return w.Code, v
}

// start begins a device authorization on instance 0 and returns its
// first handle.
func (a *deviceApp) start() string {
	status, v := a.post(0, "/auth/tv/device", nil)
	if status != http.StatusOK {
		a.t.Fatalf("device start = %d %v", status, v)
	}
	return v["handle"].(string)
}

func (a *deviceApp) poll(i int, handle string) (int, map[string]any) {
	return a.post(i, "/auth/device/token", url.Values{"handle": {handle}})
}

// handleWith seals a handle as the app does, changed by edit.
func (a *deviceApp) handleWith(handle string, edit func(*deviceHandle)) string {
	raw, _ := base64.RawURLEncoding.DecodeString(handle)
	var h deviceHandle
	if err := a.ms[0].keys.openValue(raw, "device", &h); err != nil {
		a.t.Fatal(err)
	}
	edit(&h)
	sealed, err := a.ms[0].keys.sealValue(&h, "device")
	if err != nil {
		a.t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(sealed)
}

// RFC 8628 §3.5 and RFC 6749 §4.1.2 (a code is used once): a device code
// yields at most one session. The provider here answers success to every
// poll; two handles of the same device code (a replayed chain, or a
// provider that answers success again), polled on two instances, get one
// session between them.
func TestDeviceCodeOneSession(t *testing.T) {
	d := newDeviceIdP(t) // success at every poll
	a := newDeviceApp(t, d, 2)
	first := a.start()
	twin := a.handleWith(first, func(h *deviceHandle) { h.Seq = 7 }) // another link of the chain
	if status, v := a.poll(0, first); status != http.StatusCreated {
		t.Fatalf("first = %d %v", status, v)
	}
	if status, v := a.poll(1, twin); status != http.StatusBadRequest || v["error"] != errInvalidHandle.Code() {
		t.Fatalf("the same device code again, on the other instance = %d %v, want 400 invalid_handle", status, v)
	}
	store := a.ms[0].store.(*MemoryStore)
	store.mu.Lock()
	n := len(store.sessions)
	store.mu.Unlock()
	if n != 1 || d.polls != 2 {
		t.Fatalf("%d sessions from one device code after %d provider polls, want 1 after 2", n, d.polls)
	}
}

// RFC 8628 §3.5: a client polls no sooner than the interval after its
// previous poll, and slow_down adds 5 s to the interval for that and every
// later poll. The server enforces both: a poll too soon is slow_down with
// no provider request, the interval grows by 5 s each time, and every
// handle polls once, so an earlier handle (with a shorter interval, or
// none to wait) is refused, also on another instance.
func TestDevicePollingEnforced(t *testing.T) {
	d := newDeviceIdP(t, "authorization_pending", "authorization_pending", "authorization_pending", "slow_down")
	a := newDeviceApp(t, d, 2)
	h0 := a.start()
	status, v := a.poll(0, h0)
	if status != http.StatusBadRequest || v["error"] != errAuthorizationPending.Code() || d.polls != 1 {
		t.Fatalf("first poll = %d %v after %d provider polls", status, v, d.polls)
	}
	h := v["handle"].(string)

	// At once, 1 s later, 9 s later: too soon each time, answered here.
	want := []float64{10, 15, 20}
	for i, wait := range []time.Duration{0, time.Second, 9 * time.Second} {
		a.clock.After(wait)
		status, v = a.poll(i%2, h)
		if status != http.StatusBadRequest || v["error"] != errSlowDown.Code() || v["interval"] != want[i] || d.polls != 1 {
			t.Fatalf("too-soon poll %d = %d %v after %d provider polls; want slow_down, interval %v, no provider request", i, status, v, d.polls, want[i])
		}
		h = v["handle"].(string)
	}
	// Every earlier handle is spent, whatever interval it carries.
	for _, old := range []string{h0, a.handleWith(h0, func(h *deviceHandle) { h.Seq = 1 })} {
		if status, v := a.poll(1, old); status != http.StatusBadRequest || v["error"] != errInvalidHandle.Code() || d.polls != 1 {
			t.Fatalf("an earlier handle = %d %v after %d provider polls, want invalid_handle and no provider request", status, v, d.polls)
		}
	}
	// 20 s after the last poll is soon enough.
	a.clock.After(19 * time.Second)
	if status, v = a.poll(0, h); v["error"] != errSlowDown.Code() || d.polls != 1 {
		t.Fatalf("19 s into a 20 s interval = %d %v", status, v)
	}
	h = v["handle"].(string) // now 25 s
	a.clock.After(25 * time.Second)
	if status, v = a.poll(1, h); v["error"] != errAuthorizationPending.Code() || d.polls != 2 {
		t.Fatalf("after the interval = %d %v after %d provider polls", status, v, d.polls)
	}
	// The provider's slow_down counts the same: 25 s, then 30 s.
	a.clock.After(25 * time.Second)
	if status, v = a.poll(0, v["handle"].(string)); v["error"] != errAuthorizationPending.Code() || d.polls != 3 {
		t.Fatalf("poll = %d %v", status, v)
	}
	a.clock.After(25 * time.Second)
	if status, v = a.poll(0, v["handle"].(string)); v["error"] != errSlowDown.Code() || v["interval"] != float64(30) || d.polls != 4 {
		t.Fatalf("provider slow_down = %d %v", status, v)
	}
	a.clock.After(29 * time.Second)
	if status, v = a.poll(1, v["handle"].(string)); v["error"] != errSlowDown.Code() || v["interval"] != float64(35) || d.polls != 4 {
		t.Fatalf("29 s into a 30 s interval = %d %v", status, v)
	}
	a.clock.After(35 * time.Second)
	if status, v = a.poll(0, v["handle"].(string)); status != http.StatusCreated || d.polls != 5 {
		t.Fatalf("last poll = %d %v", status, v)
	}
}

// The device routes are served only for providers the host lists in
// Config.DeviceProviders; for any other, and for every provider when the
// list is empty, they answer 404 like a route not mounted, before any
// provider request. DeviceLogin follows the same rule.
func TestDeviceRoutesOptIn(t *testing.T) {
	d := newDeviceIdP(t)
	a := newDeviceApp(t, d, 1)
	handle := a.start() // sealed while enabled

	for name, list := range map[string][]string{"none": nil, "another": {"other"}} {
		m, err := New(Config{BaseURL: "http://localhost", Keys: Keys{Cookie: a.ms[0].cfg.Keys.Cookie}, DeviceProviders: list})
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Register(deviceProvider{d.srv.URL}); err != nil {
			t.Fatal(err)
		}
		for _, path := range []string{"/auth/tv/device", "/auth/device/token"} {
			w := httptest.NewRecorder()
			r := httptest.NewRequest("POST", path, strings.NewReader(url.Values{"handle": {handle}}.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			m.Handler().ServeHTTP(w, r)
			if w.Code != http.StatusNotFound {
				t.Errorf("%s: %s = %d, want 404", name, path, w.Code)
			}
		}
		if _, _, err := m.DeviceLogin(context.Background(), "tv", func(DeviceCode) error { return nil }); !errors.Is(err, ErrDeviceUnsupported) {
			t.Errorf("%s: DeviceLogin = %v, want ErrDeviceUnsupported", name, err)
		}
	}
	if d.polls != 0 {
		t.Fatalf("%d provider polls from disabled routes", d.polls)
	}
}
