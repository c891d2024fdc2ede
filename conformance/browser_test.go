package conformance_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
)

// flowKept checks that b still holds a flow cookie: its login goes on.
func (h *harness) flowKept(b *oauthlogintest.Browser) {
	h.t.Helper()
	for _, c := range b.Client.Jar.Cookies(mustParse(h.t, h.app.URL+"/auth/test/callback")) {
		if strings.Contains(c.Name, "flow") {
			return
		}
	}
	h.t.Fatal("the flow cookie was cleared: a callback that named no flow ended the login under way")
}

// refusedUnspent checks a callback refused before it named a flow: the
// failure page with code alone, no session, nothing written, no token
// request, and b's flow still under way.
func (h *harness) refusedUnspent(b *oauthlogintest.Browser, page *oauthlogintest.Page, code string) {
	h.t.Helper()
	if page.URL.Path != "/failed" {
		h.t.Fatalf("callback ended at %s (%d), want /failed?error=%s: %.300s", page.URL, page.Status, code, page.Body)
	}
	if got := page.URL.Query().Get("error"); got != code || len(page.URL.Query()) != 1 {
		h.t.Fatalf("failure URL %s, want only error=%s", page.URL, code)
	}
	h.hits("token", 0)
	h.noSession(b)
	h.flowKept(b)
}

// postCallback sends the callback's parameters as a form_post provider
// does (OAuth 2.0 Form Post Response Mode, §2), from b with its cookies.
func (h *harness) postCallback(b *oauthlogintest.Browser, cb *url.URL, body string) *http.Response {
	h.t.Helper()
	resp := h.do(b, "POST", cb.Path, strings.NewReader(body), "Content-Type", "application/x-www-form-urlencoded")
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		h.t.Fatal(err)
	}
	return resp
}

// TestCallbackBounds: an authorization response (RFC 6749 §4.1.2) that is
// oversized or malformed is refused before any token request (zero
// requests to the token endpoint), with invalid_response, no session and
// no store write. RFC 6749 Appendix A.5 and A.11 define state and code as
// VSCHAR (%x20-7E): control characters (NUL, CR, LF, TAB, DEL) and raw
// non-ASCII bytes are outside both. The bounds: 8 KiB of query or form,
// 4 KiB of code, 512 bytes of state. A callback whose state is unread or
// malformed names no flow, so it ends none; one whose state names the
// flow ends it (state spent) even when its code is malformed. Real
// responses, Microsoft-long codes and Apple's form_post with its user
// JSON among them, still pass.
func TestCallbackBounds(t *testing.T) {
	// Refused unread: the state is not trusted to name a flow.
	for _, tc := range []struct {
		name string
		edit func(q url.Values) string // the raw query to send
	}{
		{"QueryOverBound", func(q url.Values) string {
			raw := q.Encode() + "&junk="
			return raw + strings.Repeat("j", 8<<10+1-len(raw))
		}},
		{"StateOverBound", func(q url.Values) string {
			q.Set("state", q.Get("state")+strings.Repeat("s", 513-len(q.Get("state"))))
			return q.Encode()
		}},
		{"StateNUL", appendTo("state", "\x00")},
		{"StateCR", appendTo("state", "\r")},
		{"StateLF", appendTo("state", "\n")},
		{"StateCRLFHeader", appendTo("state", "\r\nSet-Cookie: x=1")},
		{"StateTAB", appendTo("state", "\t")},
		{"StateUnitSeparator", appendTo("state", "\x1f")},
		{"StateDEL", appendTo("state", "\x7f")},
		{"StateNonASCII", appendTo("state", "é")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			b := oauthlogintest.NewBrowser()
			cb := h.toCallback(b, "test")
			bad := *cb
			bad.RawQuery = tc.edit(cb.Query())
			h.refusedUnspent(b, h.visit(b, bad.String()), "invalid_response")
			// The login under way is untouched: its real callback signs in.
			h.mustSucceed(b, h.visit(b, cb.String()))
		})
	}

	t.Run("FormOverBound", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		b := oauthlogintest.NewBrowser()
		cb := h.toCallback(b, "test")
		body := cb.RawQuery + "&user="
		resp := h.postCallback(b, cb, body+strings.Repeat("u", 8<<10+1-len(body)))
		if got := mustParse(t, resp.Header.Get("Location")).Query().Get("error"); resp.StatusCode != http.StatusSeeOther || got != "invalid_response" {
			t.Fatalf("form over 8 KiB = %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		h.hits("token", 0)
		h.noSession(b)
		h.flowKept(b)
	})

	// Refused with the flow named by a good state: the flow ends, the
	// code is never sent.
	for _, tc := range []struct {
		name string
		edit func(q url.Values) string
	}{
		{"CodeOverBound", func(q url.Values) string {
			q.Set("code", strings.Repeat("c", 4<<10+1))
			return q.Encode()
		}},
		{"CodeNUL", appendTo("code", "\x00")},
		{"CodeCR", appendTo("code", "\r")},
		{"CodeLF", appendTo("code", "\n")},
		{"CodeTAB", appendTo("code", "\t")},
		{"CodeDEL", appendTo("code", "\x7f")},
		{"CodeNonASCII", appendTo("code", "\xff")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			b := oauthlogintest.NewBrowser()
			cb := h.toCallback(b, "test")
			cb.RawQuery = tc.edit(cb.Query())
			h.refused(b, h.visit(b, cb.String()), "invalid_response")
			h.hits("token", 0)
		})
	}

	// What real providers send passes the bounds.
	t.Run("QueryAtBound", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		b := oauthlogintest.NewBrowser()
		cb := h.toCallback(b, "test")
		raw := cb.RawQuery + "&scope="
		cb.RawQuery = raw + strings.Repeat("s", 8<<10-len(raw))
		h.mustSucceed(b, h.visit(b, cb.String()))
	})
	t.Run("MicrosoftLongCodeReachesTheTokenEndpoint", func(t *testing.T) {
		// A 2 KB code (Entra's run to 1–2 KB) and a 4 KiB one, at the
		// bound, are sent to the token endpoint, which alone judges them
		// (the fake provider does not know them).
		t.Parallel()
		h := newHarness(t)
		for i, n := range []int{2048, 4 << 10} {
			b := oauthlogintest.NewBrowser()
			cb := h.toCallback(b, "test")
			q := cb.Query()
			q.Set("code", strings.Repeat("M.C5", n/4))
			cb.RawQuery = q.Encode()
			page := h.visit(b, cb.String())
			if got := page.URL.Query().Get("error"); got != oauthlogin.ErrTokenExchange.Code() {
				t.Fatalf("%d-byte code: ended at %s", n, page.URL)
			}
			h.hits("token", i+1)
		}
	})
	t.Run("AppleFormPostWithUser", func(t *testing.T) {
		// Apple's form_post carries code, state and, at the first login,
		// a user JSON (name and email); a hybrid response adds an ID token.
		t.Parallel()
		h := newHarness(t)
		b := oauthlogintest.NewBrowser()
		cb := h.toCallback(b, "test")
		user, _ := json.Marshal(map[string]any{
			"name":  map[string]string{"firstName": strings.Repeat("Ada", 40), "lastName": strings.Repeat("Lovelace", 20)},
			"email": "ada.lovelace." + strings.Repeat("x", 40) + "@privaterelay.appleid.com",
		})
		form := cb.Query()
		form.Set("user", string(user))
		form.Set("id_token", strings.Repeat("eyJhbGciOiJSUzI1NiJ9.", 60))
		resp := h.postCallback(b, cb, form.Encode())
		if loc := mustParse(t, resp.Header.Get("Location")); resp.StatusCode != http.StatusSeeOther || loc.Path != "/done" {
			t.Fatalf("form_post of %d bytes = %d %s", len(form.Encode()), resp.StatusCode, loc)
		}
		if _, status := h.session(b); status != http.StatusOK {
			t.Fatalf("no session after the form_post callback: %d", status)
		}
	})

	t.Run("NoFlowKnownIs400", func(t *testing.T) {
		// Without a flow in the browser there is no failure URL to
		// trust: 400, and still no token request.
		t.Parallel()
		h := newHarness(t)
		cb := h.toCallback(oauthlogintest.NewBrowser(), "test")
		cb.RawQuery += "&junk=" + strings.Repeat("j", 8<<10)
		fresh := oauthlogintest.NewBrowser()
		page := h.visit(fresh, cb.String())
		if page.Status != http.StatusBadRequest || page.Header.Get("Location") != "" || !strings.Contains(string(page.Body), "invalid_response") {
			t.Fatalf("oversized callback without a flow = %d %s", page.Status, page.Body)
		}
		h.hits("token", 0)
		h.noSession(fresh)
	})
}

// appendTo returns an edit that appends s to the parameter k.
func appendTo(k, s string) func(q url.Values) string {
	return func(q url.Values) string {
		q.Set(k, q.Get(k)+s)
		return q.Encode()
	}
}

// TestForgedCallbackKeepsLogin: a callback whose state names no flow of
// the browser cannot cancel the login under way there. RFC 6749 §10.12
// binds the response to the user agent's flow through the state; a
// response that carries no such binding (a login-CSRF link with the
// attacker's state, a made-up or missing state, an unreadable response)
// is refused, to the failure URL of the live flow, and must not end that
// flow: its real callback, arriving afterwards, still signs in.
func TestForgedCallbackKeepsLogin(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	attacker, victim := oauthlogintest.NewBrowser(), oauthlogintest.NewBrowser()
	forged := h.toCallback(attacker, "test")
	own := h.toCallback(victim, "test")
	tokens := h.idp.Hits("token")

	edits := []struct {
		name, query, code string
	}{
		{"AttackersCallback", forged.RawQuery, "state_mismatch"},
		{"MadeUpState", url.Values{"code": {"x"}, "state": {strings.Repeat("A", 43)}}.Encode(), "state_mismatch"},
		{"NoState", url.Values{"code": {"x"}}.Encode(), "state_missing"},
		{"ErrorWithoutState", url.Values{"error": {"access_denied"}}.Encode(), "state_missing"},
		{"Oversized", forged.RawQuery + "&j=" + strings.Repeat("j", 8<<10), "invalid_response"},
	}
	for _, e := range edits {
		u := *own
		u.RawQuery = e.query
		page := h.visit(victim, u.String())
		if page.URL.Path != "/failed" || page.URL.Query().Get("error") != e.code {
			t.Fatalf("%s: ended at %s, want /failed?error=%s", e.name, page.URL, e.code)
		}
		h.flowKept(victim)
	}
	if h.idp.Hits("token") != tokens {
		t.Fatal("a forged callback reached the token endpoint")
	}
	h.noSession(victim)
	// The victim's own callback, after all that, signs in.
	h.mustSucceed(victim, h.visit(victim, own.String()))
}

// TestDuplicateCookies: cookies have weak integrity (RFC 6265 §8.6, §8.7):
// a sibling host can set a cookie for the parent Domain, and over http a
// cookie with a narrower Path can be planted (cookie tossing); the
// browser then sends both under one name, the narrower path first
// (§5.4), and the server cannot tell which is its own. The __Host- prefix
// (RFC 6265bis §4.1.3.2) rules this out over https only. So a request
// that carries the session cookie name (or a chunk name) more than once
// has no session: 401 or anonymous, never the first or the last cookie's
// session, and the cookies are expired at every path the request reached
// us through. A flow cookie name sent twice is no flow.
func TestDuplicateCookies(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	// fresh signs a victim and an attacker in: a request with duplicates
	// ends the sessions its copies name, so each case has its own.
	fresh := func(t *testing.T) (victim *oauthlogintest.Browser, mine, theirs, tossed *http.Cookie) {
		t.Helper()
		victim, attacker := oauthlogintest.NewBrowser(), oauthlogintest.NewBrowser()
		h.mustSucceed(victim, h.login(victim))
		h.mustSucceed(attacker, h.login(attacker))
		mine, theirs = sessionCookie(t, h, victim), sessionCookie(t, h, attacker)
		return victim, mine, theirs, &http.Cookie{Name: mine.Name, Value: theirs.Value}
	}
	name := sessionCookie(t, h, func() *oauthlogintest.Browser {
		b := oauthlogintest.NewBrowser()
		h.mustSucceed(b, h.login(b))
		return b
	}()).Name
	base := h.app.URL
	// alive reports whether a session cookie, sent alone, still signs in.
	alive := func(c *http.Cookie) bool {
		return serve(h.m, "GET", base+"/auth/session", []*http.Cookie{{Name: c.Name, Value: c.Value}}).StatusCode == http.StatusOK
	}

	// cleared checks that resp expires name at / and at each narrower
	// path of wantPaths.
	cleared := func(t *testing.T, resp *http.Response, name string, wantPaths ...string) {
		t.Helper()
		got := map[string]bool{}
		for _, c := range resp.Cookies() {
			if c.Name == name {
				if c.MaxAge >= 0 || c.Value != "" {
					t.Fatalf("Set-Cookie %s does not expire it", c)
				}
				got[c.Path] = true
			}
		}
		for _, p := range append([]string{"/"}, wantPaths...) {
			if !got[p] {
				t.Fatalf("%s not expired at Path=%s (expired at %v)", name, p, got)
			}
		}
	}
	noSession := func(t *testing.T, resp *http.Response) {
		t.Helper()
		var v map[string]any
		json.NewDecoder(resp.Body).Decode(&v)
		if resp.StatusCode != http.StatusUnauthorized || v["error"] != oauthlogin.ErrNoSession.Code() {
			t.Fatalf("= %d %v, want 401 no_session", resp.StatusCode, v)
		}
	}
	for _, tc := range []struct {
		name    string
		cookies func(mine, tossed *http.Cookie) []*http.Cookie
	}{
		{"TossedFirst", func(mine, tossed *http.Cookie) []*http.Cookie { return []*http.Cookie{tossed, mine} }},
		{"TossedLast", func(mine, tossed *http.Cookie) []*http.Cookie { return []*http.Cookie{mine, tossed} }},
		{"SameValueTwice", func(mine, _ *http.Cookie) []*http.Cookie { return []*http.Cookie{mine, mine} }},
	} {
		t.Run("Session"+tc.name, func(t *testing.T) {
			_, mine, _, tossed := fresh(t)
			resp := serve(h.m, "GET", base+"/auth/session", tc.cookies(mine, tossed))
			noSession(t, resp)
			cleared(t, resp, name, "/auth", "/auth/", "/auth/session")
		})
	}

	t.Run("HostPrefixedTwiceOverHTTPS", func(t *testing.T) {
		// Over https the name is __Host-: Path=/ only, so it is expired
		// there alone (a browser refuses a __Host- cookie with another
		// path).
		_, mine, theirs, _ := fresh(t)
		m := h.manager("https://app.example.com", h.cfg.Keys.Cookie)
		host := &http.Cookie{Name: "__Host-oauthlogin_session", Value: mine.Value}
		if resp := serve(m, "GET", "https://app.example.com/auth/session", []*http.Cookie{host}); resp.StatusCode != http.StatusOK {
			t.Fatalf("__Host- session = %d", resp.StatusCode)
		}
		resp := serve(m, "GET", "https://app.example.com/auth/session", []*http.Cookie{host, {Name: host.Name, Value: theirs.Value}})
		noSession(t, resp)
		cleared(t, resp, host.Name)
		for _, c := range resp.Cookies() {
			if c.Path != "/" || !c.Secure {
				t.Fatalf("Set-Cookie %s: a __Host- cookie is Secure with Path=/ only", c)
			}
		}
	})

	t.Run("SessionChunkTwice", func(t *testing.T) {
		// A token in chunks (name.0, name.1) is one session; a chunk name
		// sent twice is none.
		_, mine, _, _ := fresh(t)
		half := len(mine.Value) / 2
		c0 := &http.Cookie{Name: name + ".0", Value: mine.Value[:half]}
		c1 := &http.Cookie{Name: name + ".1", Value: mine.Value[half:]}
		if resp := serve(h.m, "GET", base+"/auth/session", []*http.Cookie{c0, c1}); resp.StatusCode != http.StatusOK {
			t.Fatalf("chunked session = %d", resp.StatusCode)
		}
		for _, dup := range []*http.Cookie{c0, c1, {Name: name + ".1", Value: "x"}} {
			resp := serve(h.m, "GET", base+"/auth/session", []*http.Cookie{c0, c1, dup})
			noSession(t, resp)
			cleared(t, resp, dup.Name, "/auth", "/auth/", "/auth/session")
		}
	})

	t.Run("SingleBesideChunks", func(t *testing.T) {
		// A single session cookie beside chunks is two candidate tokens:
		// a tossed single cookie must not win over a chunked session
		// (cookie store), nor tossed chunks over a single cookie. Neither
		// is used, and both are ended.
		_, mine, _, tossed := fresh(t)
		half := len(mine.Value) / 2
		c0 := &http.Cookie{Name: name + ".0", Value: mine.Value[:half]}
		c1 := &http.Cookie{Name: name + ".1", Value: mine.Value[half:]}
		for _, jar := range [][]*http.Cookie{{tossed, c0, c1}, {mine, {Name: name + ".0", Value: "planted"}}} {
			resp := serve(h.m, "GET", base+"/auth/session", jar)
			noSession(t, resp)
			cleared(t, resp, name)
			cleared(t, resp, name+".0")
		}
	})

	t.Run("RequireSession", func(t *testing.T) {
		_, mine, _, tossed := fresh(t)
		handler := h.m.RequireSession(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			t.Error("served with a duplicate session cookie")
		}))
		w := httptest.NewRecorder()
		req := httptest.NewRequest("GET", base+"/app/private", nil)
		req.AddCookie(tossed)
		req.AddCookie(mine)
		handler.ServeHTTP(w, req)
		noSession(t, w.Result())
		cleared(t, w.Result(), name, "/app", "/app/", "/app/private")
	})

	t.Run("LoadSessionIsAnonymous", func(t *testing.T) {
		_, mine, _, tossed := fresh(t)
		served := false
		handler := h.m.LoadSession(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, ok := oauthlogin.SessionFromContext(r.Context()); ok {
				t.Error("a session was loaded from a duplicate cookie")
			}
			served = true
		}))
		w := httptest.NewRecorder()
		req := httptest.NewRequest("GET", base+"/page", nil)
		req.AddCookie(mine)
		req.AddCookie(tossed)
		handler.ServeHTTP(w, req)
		if !served {
			t.Fatal("the anonymous request was not served")
		}
		cleared(t, w.Result(), name, "/page")
	})

	t.Run("BearerWins", func(t *testing.T) {
		// A bearer request is authenticated by its header alone (cookies
		// play no part): duplicates beside it change nothing.
		victim, mine, _, tossed := fresh(t)
		resp := serve(h.m, "GET", base+"/auth/session", []*http.Cookie{tossed, mine}, "Authorization", "Bearer "+mine.Value)
		var v map[string]any
		json.NewDecoder(resp.Body).Decode(&v)
		want, _ := h.session(victim)
		if resp.StatusCode != http.StatusOK || v["id"] != want["id"] {
			t.Fatalf("bearer with duplicate cookies = %d %v", resp.StatusCode, v)
		}
	})

	for _, route := range []struct{ method, path string }{{"POST", "/auth/refresh"}, {"DELETE", "/auth/session"}} {
		t.Run(route.method+"Duplicates", func(t *testing.T) {
			_, mine, theirs, tossed := fresh(t)
			resp := serve(h.m, route.method, base+route.path, []*http.Cookie{tossed, mine}, "Sec-Fetch-Site", "same-origin")
			noSession(t, resp)
			cleared(t, resp, name, "/auth", "/auth/", route.path)
			// Neither copy is used, and neither outlives the request: a
			// copy of the cookie stolen earlier must not survive the
			// logout (or the refresh) that the duplicate blocked.
			if alive(mine) || alive(theirs) {
				t.Fatalf("a session named by a duplicate cookie outlived the request (victim's %v, tossed %v)", alive(mine), alive(theirs))
			}
		})
	}

	t.Run("FlowCookieTwice", func(t *testing.T) {
		for _, second := range []string{"same", "junk"} {
			b := oauthlogintest.NewBrowser()
			cb := h.toCallback(b, "test")
			flow := flowCookie(t, h, b)
			dup := &http.Cookie{Name: flow.Name, Value: flow.Value}
			if second == "junk" {
				dup.Value = flip(flow.Value)
			}
			tokens := h.idp.Hits("token")
			resp := serve(h.m, "GET", cb.String(), []*http.Cookie{flow, dup})
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
				t.Fatalf("%s: callback with its flow cookie twice = %d %s", second, resp.StatusCode, resp.Header.Get("Location"))
			}
			cleared := false
			for _, c := range resp.Cookies() {
				if strings.Contains(c.Name, "session") {
					t.Fatalf("%s: a session cookie was set", second)
				}
				cleared = cleared || (c.Name == flow.Name && c.MaxAge < 0)
			}
			if !cleared {
				t.Fatalf("%s: the duplicate flow cookie was not expired", second)
			}
			if h.idp.Hits("token") != tokens {
				t.Fatalf("%s: a callback with a duplicate flow cookie reached the token endpoint", second)
			}
		}
	})
}
