package oauthlogin

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// scriptedIdP answers the device authorization and token endpoints the
// way its fields say, and counts the requests a redirect's target gets.
type scriptedIdP struct {
	srv, trap *httptest.Server
	trapped   atomic.Int32

	mu          sync.Mutex
	redirect    map[string]bool // by path: answer 307 to the trap
	tokenType   *string         // nil: no token_type member
	deviceBody  string          // replaces the device authorization answer
	tokenGrants []string        // grant_type of each token request
}

func newScriptedIdP(t *testing.T) *scriptedIdP {
	bearer := "Bearer"
	p := &scriptedIdP{redirect: map[string]bool{}, tokenType: &bearer}
	p.trap = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.trapped.Add(1)
		io.WriteString(w, `{"access_token":"trapped","token_type":"Bearer","device_code":"d","user_code":"u","verification_uri":"https://idp.example/activate"}`)
	}))
	t.Cleanup(p.trap.Close)
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.redirect[r.URL.Path] {
			http.Redirect(w, r, p.trap.URL+r.URL.Path, http.StatusTemporaryRedirect)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/device":
			if p.deviceBody != "" {
				io.WriteString(w, p.deviceBody)
				return
			}
			io.WriteString(w, `{"device_code":"dev-code","user_code":"WDJB-MJHT","verification_uri":"https://idp.example/activate","expires_in":600,"interval":5}`)
		case "/token":
			p.tokenGrants = append(p.tokenGrants, r.PostForm.Get("grant_type"))
			typ := ""
			if p.tokenType != nil {
				typ = `"token_type":"` + *p.tokenType + `",`
			}
			io.WriteString(w, `{"access_token":"device-access",`+typ+`"expires_in":3600}`)
		}
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *scriptedIdP) set(f func(p *scriptedIdP)) { p.mu.Lock(); defer p.mu.Unlock(); f(p) }

// scriptedManager is a Manager with client (nil: the default one) and the
// "tv" provider at p.
func scriptedManager(t *testing.T, p *scriptedIdP, client *http.Client) *Manager {
	m, err := New(Config{BaseURL: "http://localhost", Keys: Keys{Cookie: []CookieKey{GenerateCookieKey()}}, HTTPClient: client})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Register(deviceProvider{p.srv.URL}); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestBackChannelRedirectsDeviceAndService: the device authorization and
// device token requests carry the client's credentials and the device
// code, the client credentials grant the client secret; answered with a
// 307 they fail, and the redirect's target gets no request (RFC 9700
// §4.11: no credential goes to a URL the client was not configured with).
// It holds for the default client and for a host's own.
func TestBackChannelRedirectsDeviceAndService(t *testing.T) {
	for name, client := range map[string]*http.Client{"DefaultClient": nil, "HostClient": {}} {
		t.Run(name, func(t *testing.T) {
			p := newScriptedIdP(t)
			m := scriptedManager(t, p, client)

			p.set(func(p *scriptedIdP) { p.redirect["/device"] = true })
			if _, _, err := m.startDevice(t.Context(), "tv"); err == nil {
				t.Error("a redirected device authorization request started a device flow")
			}

			p.set(func(p *scriptedIdP) { p.redirect["/device"] = false })
			_, h, err := m.startDevice(t.Context(), "tv")
			if err != nil {
				t.Fatal(err)
			}
			rp, _ := m.lookup("tv")
			p.set(func(p *scriptedIdP) { p.redirect["/token"] = true })
			if _, err := m.pollDevice(t.Context(), rp, h); err == nil {
				t.Error("a redirected device poll returned a token")
			}

			ts, err := m.ServiceTokenSource(t.Context(), "tv", nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := ts.Token(); err == nil {
				t.Error("a redirected client credentials request returned a token")
			}
			if n := p.trapped.Load(); n != 0 {
				t.Fatalf("the redirect target got %d requests", n)
			}
		})
	}
}

// TestTokenTypeDeviceAndService: RFC 6749 §5.1 and §7.1, RFC 6750: the
// device flow's token and the client credentials token must be of type
// Bearer (case-insensitive); another type, or none, is ErrTokenExchange.
func TestTokenTypeDeviceAndService(t *testing.T) {
	str := func(s string) *string { return &s }
	for _, tc := range []struct {
		name string
		typ  *string
		ok   bool
	}{
		{"Mac", str("mac"), false},
		{"Empty", str(""), false},
		{"Missing", nil, false},
		{"LowerCase", str("bearer"), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newScriptedIdP(t)
			m := scriptedManager(t, p, nil)
			_, h, err := m.startDevice(t.Context(), "tv")
			if err != nil {
				t.Fatal(err)
			}
			p.set(func(p *scriptedIdP) { p.tokenType = tc.typ })
			rp, _ := m.lookup("tv")
			_, err = m.pollDevice(t.Context(), rp, h)
			if tc.ok != (err == nil) || (!tc.ok && !errors.Is(err, ErrTokenExchange)) {
				t.Errorf("device poll: %v", err)
			}
			ts, err := m.ServiceTokenSource(t.Context(), "tv", nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = ts.Token()
			if tc.ok != (err == nil) || (!tc.ok && !errors.Is(err, ErrTokenExchange)) {
				t.Errorf("client credentials: %v", err)
			}
			p.set(func(p *scriptedIdP) {
				if len(p.tokenGrants) != 2 || p.tokenGrants[1] != "client_credentials" {
					t.Errorf("token requests: %v", p.tokenGrants)
				}
			})
		})
	}
}

// TestDeviceAuthorizationOverOneMiB: a device authorization answer just
// over 1 MiB is refused, read no further than the bound.
func TestDeviceAuthorizationOverOneMiB(t *testing.T) {
	p := newScriptedIdP(t)
	m := scriptedManager(t, p, nil)
	prefix := `{"device_code":"dev-code","user_code":"WDJB-MJHT","verification_uri":"https://idp.example/activate","expires_in":600,"pad":"`
	body := prefix + strings.Repeat("a", 1<<20+1-len(prefix)-2) + `"}`
	if len(body) != 1<<20+1 {
		t.Fatalf("body of %d bytes", len(body))
	}
	p.set(func(p *scriptedIdP) { p.deviceBody = body })
	if _, _, err := m.startDevice(t.Context(), "tv"); err == nil {
		t.Fatal("a device authorization answer over 1 MiB was accepted")
	}
}
