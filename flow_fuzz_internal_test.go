package oauthlogin

import (
	"crypto/sha256"
	"maps"
	"net/http"
	"net/http/httptest"
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
