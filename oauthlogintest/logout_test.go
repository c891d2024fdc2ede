package oauthlogintest_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/oauthlogin/oauthlogin/internal/testapp"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
)

// jwtPart decodes part i (0 header, 1 claims) of a compact JWT.
func jwtPart(t *testing.T, raw string, i int) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[i])
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// Each browser login is a provider session of its own, named by the ID
// token's sid (Back-Channel Logout 1.0 §2.1); discovery lists the logout
// members.
func TestSIDPerLoginAndLogoutDiscovery(t *testing.T) {
	idp := testapp.NewIdP(t)
	cfg := clientConfig(idp)
	login(t, cfg)
	first := jwtPart(t, idp.LastIDToken(), 1)["sid"]
	login(t, cfg)
	second := jwtPart(t, idp.LastIDToken(), 1)["sid"]
	if first == nil || first == "" || first == second {
		t.Fatalf("sids %v and %v, want one per login", first, second)
	}
	resp, err := http.Get(idp.URL + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc map[string]any
	json.NewDecoder(resp.Body).Decode(&doc)
	if doc["end_session_endpoint"] != idp.URL+"/logout" || doc["backchannel_logout_supported"] != true || doc["backchannel_logout_session_supported"] != true {
		t.Fatalf("discovery %v lacks the logout members", doc)
	}
}

// RP-Initiated Logout 1.0 §2–§3: the end-session endpoint takes an
// id_token_hint it issued, checks client_id and a registered
// post_logout_redirect_uri, ends that provider session and redirects back
// with state.
func TestEndSessionEndpoint(t *testing.T) {
	idp := testapp.NewIdP(t)
	login(t, clientConfig(idp))
	hint := idp.LastIDToken()
	sid, _ := jwtPart(t, hint, 1)["sid"].(string)
	back := "http://app.example/logged-out"
	get := func(q url.Values) *http.Response {
		t.Helper()
		c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := c.Get(idp.URL + "/logout?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	for name, q := range map[string]url.Values{
		"unregistered uri": {"id_token_hint": {hint}, "post_logout_redirect_uri": {back}, "state": {"s"}},
		"no hint":          {"post_logout_redirect_uri": {back}},
		"forged hint":      {"id_token_hint": {hint + "x"}},
		"other client":     {"id_token_hint": {hint}, "client_id": {"other"}},
	} {
		if resp := get(q); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", name, resp.StatusCode)
		}
	}
	if idp.LoggedOut(sid) {
		t.Fatal("a refused logout ended the provider session")
	}
	idp.SetPostLogoutRedirectURIs(back)
	resp := get(url.Values{"id_token_hint": {hint}, "client_id": {idp.ClientID}, "post_logout_redirect_uri": {back}, "state": {"st-1"}})
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != back+"?state=st-1" {
		t.Fatalf("logout = %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if !idp.LoggedOut(sid) || idp.Hits("logout") != 5 {
		t.Fatalf("provider session ended %v, hits %d", idp.LoggedOut(sid), idp.Hits("logout"))
	}
}

// LogoutToken builds an honest Back-Channel Logout 1.0 §2.4 token by
// default, verifiable with the published key, and SendBackChannelLogout
// posts it as §2.5 says.
func TestLogoutTokenAndSender(t *testing.T) {
	idp := testapp.NewIdP(t)
	raw := idp.LogoutToken(oauthlogintest.LogoutClaims{Subject: "user-1", SID: "sid-1"})
	if h := jwtPart(t, raw, 0); h["typ"] != "logout+jwt" || h["alg"] != "RS256" {
		t.Fatalf("header %v", h)
	}
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jws.Verify(idp.PublicKey()); err != nil {
		t.Fatalf("not signed by the published key: %v", err)
	}
	c := jwtPart(t, raw, 1)
	events, _ := c["events"].(map[string]any)
	if c["iss"] != idp.URL || c["aud"] != idp.ClientID || c["sub"] != "user-1" || c["sid"] != "sid-1" || c["jti"] == "" ||
		c["iat"] == nil || c["exp"] == nil || c["nonce"] != nil || events["http://schemas.openid.net/event/backchannel-logout"] == nil {
		t.Fatalf("claims %v", c)
	}
	if c := jwtPart(t, idp.LogoutToken(oauthlogintest.LogoutClaims{SID: "s", Nonce: "n", OmitEvents: true, Typ: "-"}), 1); c["nonce"] != "n" || c["events"] != nil {
		t.Fatalf("misbehaving claims %v", c)
	}
	type sent struct {
		form  url.Values
		ctype string
	}
	ch := make(chan sent, 1)
	rp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		ch <- sent{form, r.Header.Get("Content-Type")}
	}))
	t.Cleanup(rp.Close)
	resp, err := idp.SendBackChannelLogout(context.Background(), rp.URL+"/bcl", raw)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := <-ch; got.form.Get("logout_token") != raw || got.ctype != "application/x-www-form-urlencoded" {
		t.Fatalf("sent %v as %q", got.form, got.ctype)
	}
}

// With a back-channel logout URI registered, an ending provider session
// is announced there (Back-Channel Logout 1.0 §2.5), from the end-session
// endpoint and from EndProviderSession; an RP that refuses is an error.
func TestBackChannelLogoutOnSessionEnd(t *testing.T) {
	idp := testapp.NewIdP(t)
	var (
		mu     sync.Mutex
		tokens []string
		status = http.StatusOK
	)
	rp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		mu.Lock()
		defer mu.Unlock()
		tokens = append(tokens, r.PostForm.Get("logout_token"))
		w.WriteHeader(status)
	}))
	t.Cleanup(rp.Close)
	idp.SetBackChannelLogoutURI(rp.URL)
	cfg := clientConfig(idp)
	login(t, cfg)
	sid1, _ := jwtPart(t, idp.LastIDToken(), 1)["sid"].(string)
	resp, err := http.Get(idp.URL + "/logout?" + url.Values{"id_token_hint": {idp.LastIDToken()}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	login(t, cfg)
	sid2, _ := jwtPart(t, idp.LastIDToken(), 1)["sid"].(string)
	if err := idp.EndProviderSession(t.Context(), sid2); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(tokens) != 2 || jwtPart(t, tokens[0], 1)["sid"] != sid1 || jwtPart(t, tokens[1], 1)["sid"] != sid2 || jwtPart(t, tokens[1], 1)["sub"] != "user-1" {
		t.Fatalf("logout tokens sent: %d", len(tokens))
	}
	if !idp.LoggedOut(sid1) || !idp.LoggedOut(sid2) {
		t.Fatal("provider sessions not ended")
	}
	status = http.StatusBadRequest
	mu.Unlock()
	defer mu.Lock()
	if err := idp.EndProviderSession(t.Context(), sid2); err == nil {
		t.Fatal("an RP's 400 is no error")
	}
	if err := idp.EndProviderSession(t.Context(), "no-such-sid"); err == nil {
		t.Fatal("an unknown sid is no error")
	}
}
