package oauthlogin_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"golang.org/x/oauth2"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
	"github.com/oauthlogin/oauthlogin/providers"
)

// newDPoPHarness is the harness with a second provider, "dpop", at the
// same fake with DPoP on.
func newDPoPHarness(t *testing.T) *harness {
	t.Helper()
	h := newHarness(t)
	h.register("dpop", providers.Config{DPoP: true})
	return h
}

// loginDPoP logs b in with the "dpop" provider and returns its session.
func (h *harness) loginDPoP(b *oauthlogintest.Browser) *oauthlogin.Session {
	h.t.Helper()
	h.mustSucceed(visit(h.t, b, h.beginURL("dpop")))
	return h.storedSession(b)
}

// storedSession reads b's session from the store.
func (h *harness) storedSession(b *oauthlogintest.Browser) *oauthlogin.Session {
	h.t.Helper()
	v, status := h.session(b)
	if status != http.StatusOK {
		h.t.Fatalf("GET /auth/session = %d %v", status, v)
	}
	s, err := h.store.Session(context.Background(), v["id"].(string))
	if err != nil {
		h.t.Fatal(err)
	}
	return s
}

// providerToken opens s's provider tokens.
func (h *harness) providerToken(s *oauthlogin.Session) *oauth2.Token {
	h.t.Helper()
	tok, err := h.m.ProviderToken(s)
	if err != nil || tok == nil {
		h.t.Fatalf("ProviderToken = %v, %v", tok, err)
	}
	h.logs.secret(tok.AccessToken)
	h.logs.secret(tok.RefreshToken)
	return tok
}

// RFC 9449 §5: a token request with a proof gets token_type DPoP and
// tokens bound to the key; §7: the access token is then presented as
// "Authorization: DPoP" with a proof whose ath is its hash. The fake
// verifies every proof (signature by the embedded jwk, typ, htm, htu,
// iat, single-use jti, ath, key binding), so a login (exchange and
// userinfo), a refresh and an m.Client request that all succeed carry
// valid proofs with fresh jtis, by the key sealed with the tokens.
func TestDPoPLoginRefreshAndClient(t *testing.T) {
	h := newDPoPHarness(t)
	b := oauthlogintest.NewBrowser()
	s := h.loginDPoP(b)
	if got := h.idp.DPoPProofs(); got != 2 {
		t.Fatalf("the login sent %d accepted proofs, want 2 (token, userinfo)", got)
	}
	tok := h.providerToken(s)
	if tok.TokenType != "DPoP" {
		t.Fatalf("token_type %q, want DPoP", tok.TokenType)
	}
	// The fake refuses the bound token as a Bearer token (RFC 9449 §7.2).
	if status := userInfoAs(t, h.idp, "Bearer "+tok.AccessToken, ""); status != http.StatusUnauthorized {
		t.Fatalf("the DPoP-bound token as Bearer = %d, want 401", status)
	}

	// Refresh: the refresh token is bound to the sealed key.
	h.pastRefreshReuse()
	if resp := h.do(b, "POST", "/auth/refresh"); resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /auth/refresh = %d", resp.StatusCode)
	}
	if got := h.idp.DPoPProofs(); got != 3 {
		t.Fatalf("%d accepted proofs after the refresh, want 3", got)
	}
	s = h.storedSession(b)
	if h.providerToken(s).AccessToken == tok.AccessToken {
		t.Fatal("the refresh did not renew the access token")
	}

	// m.Client: Authorization: DPoP with ath (the fake checks it).
	resp, err := h.m.Client(context.Background(), s).Get(h.idp.URL + "/userinfo?q=1#f")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || h.idp.DPoPProofs() != 4 {
		t.Fatalf("userinfo through m.Client = %d, %d proofs accepted", resp.StatusCode, h.idp.DPoPProofs())
	}
}

// userInfoAs calls the fake's userinfo with an Authorization header and
// a DPoP proof ("": none) and returns the status.
func userInfoAs(t *testing.T, idp *oauthlogintest.Server, authorization, proof string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", idp.URL+"/userinfo", nil)
	req.Header.Set("Authorization", authorization)
	if proof != "" {
		req.Header.Set("DPoP", proof)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// refreshAt redeems refreshToken at the fake's token endpoint as the
// client, with proof ("": none), and returns the status and error code.
func refreshAt(t *testing.T, idp *oauthlogintest.Server, refreshToken, proof string) (int, string) {
	t.Helper()
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}}
	req, _ := http.NewRequest("POST", idp.URL+"/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(idp.ClientID, idp.ClientSecret)
	if proof != "" {
		req.Header.Set("DPoP", proof)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct {
		Error string `json:"error"`
	}
	json.NewDecoder(resp.Body).Decode(&v)
	return resp.StatusCode, v.Error
}

// RFC 9449 §11.1 (proof replay) and §4.3 checks 8, 9 and 11: a proof the
// client sent is refused when sent again (its jti is spent), and when
// sent to another URL or with another method.
func TestDPoPProofReplayAndRetarget(t *testing.T) {
	h := newDPoPHarness(t)
	var mu sync.Mutex
	var proofs []string
	h.idp.Behave(oauthlogintest.Behavior{Intercept: map[string]func(http.Handler) http.Handler{
		"token": func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				proofs = append(proofs, r.Header.Get("DPoP"))
				mu.Unlock()
				next.ServeHTTP(w, r)
			})
		},
	}})
	b := oauthlogintest.NewBrowser()
	s := h.loginDPoP(b)
	tok := h.providerToken(s)
	if len(proofs) != 1 || proofs[0] == "" {
		t.Fatalf("captured %d proofs at the token endpoint, want 1", len(proofs))
	}
	// Replayed at the token endpoint, with the refresh token it would
	// redeem: refused, and the refresh token still works for the client.
	if status, code := refreshAt(t, h.idp, tok.RefreshToken, proofs[0]); status != http.StatusBadRequest || code != "invalid_dpop_proof" {
		t.Fatalf("replayed proof = %d %s, want 400 invalid_dpop_proof", status, code)
	}
	// Sent to userinfo (another URL, another method) with the token.
	if status := userInfoAs(t, h.idp, "DPoP "+tok.AccessToken, proofs[0]); status != http.StatusUnauthorized {
		t.Fatalf("the token endpoint's proof at userinfo = %d, want 401", status)
	}
	h.pastRefreshReuse()
	if resp := h.do(b, "POST", "/auth/refresh"); resp.StatusCode != http.StatusOK {
		t.Fatalf("the client's own refresh after the replays = %d", resp.StatusCode)
	}
	// Captured: the login's, the replay, the refresh's (a new one).
	if len(proofs) != 3 || proofs[2] == "" || proofs[2] == proofs[0] {
		t.Fatalf("the refresh did not send a new proof (%d captured)", len(proofs))
	}
}

// RFC 9449 §5: a refresh token bound to the client's key is useless to
// whoever copies it out of the store without the key: redeemed without a
// proof, or with a proof by another key, it is refused; the client, with
// the sealed key, refreshes as before.
func TestDPoPCopiedRefreshTokenUseless(t *testing.T) {
	h := newDPoPHarness(t)
	b := oauthlogintest.NewBrowser()
	tok := h.providerToken(h.loginDPoP(b))
	if status, code := refreshAt(t, h.idp, tok.RefreshToken, ""); status != http.StatusBadRequest || code != "invalid_dpop_proof" {
		t.Fatalf("the copied refresh token without a proof = %d %s, want 400 invalid_dpop_proof", status, code)
	}
	proof, err := oauthlogin.DPoPProof("POST", h.idp.URL+"/token", "")
	if err != nil {
		t.Fatal(err)
	}
	if status, code := refreshAt(t, h.idp, tok.RefreshToken, proof); status != http.StatusBadRequest || code != "invalid_dpop_proof" {
		t.Fatalf("the copied refresh token with another key's proof = %d %s, want 400 invalid_dpop_proof", status, code)
	}
	// The copied access token with another key's proof is refused too.
	proof, _ = oauthlogin.DPoPProof("GET", h.idp.URL+"/userinfo", tok.AccessToken)
	if status := userInfoAs(t, h.idp, "DPoP "+tok.AccessToken, proof); status != http.StatusUnauthorized {
		t.Fatalf("the copied access token with another key's proof = %d, want 401", status)
	}
	h.pastRefreshReuse()
	if resp := h.do(b, "POST", "/auth/refresh"); resp.StatusCode != http.StatusOK {
		t.Fatalf("the client's refresh = %d", resp.StatusCode)
	}
}

// RFC 9449 §8: a token endpoint that wants a nonce answers 400
// use_dpop_nonce with DPoP-Nonce; the client sends the request once more
// with it, and keeps the nonces of later answers (the fake rotates its
// nonce at every accepted proof), so the userinfo request and the
// refresh need no retry.
func TestDPoPNonceRetried(t *testing.T) {
	h := newDPoPHarness(t)
	h.idp.Behave(oauthlogintest.Behavior{DPoPNonce: true})
	b := oauthlogintest.NewBrowser()
	h.loginDPoP(b)
	if got := h.idp.Hits("token"); got != 2 {
		t.Fatalf("the exchange took %d token requests, want 2 (use_dpop_nonce, then with the nonce)", got)
	}
	if got := h.idp.Hits("userinfo"); got != 1 {
		t.Fatalf("userinfo took %d requests, want 1: the nonce of the token answer was not kept", got)
	}
	h.pastRefreshReuse()
	if resp := h.do(b, "POST", "/auth/refresh"); resp.StatusCode != http.StatusOK || h.idp.Hits("token") != 3 {
		t.Fatalf("refresh = %d after %d token requests, want 200 after 3", resp.StatusCode, h.idp.Hits("token"))
	}
}

// alwaysUseNonce answers every request with a new nonce and a demand for
// it, as the token endpoint (400 JSON) or as a resource (401 challenge).
func alwaysUseNonce(resource bool, hits *int, mu *sync.Mutex) func(http.Handler) http.Handler {
	return func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			*hits++
			n := *hits
			mu.Unlock()
			io.Copy(io.Discard, r.Body)
			w.Header().Set("DPoP-Nonce", "nonce-"+strings.Repeat("x", n))
			w.Header().Set("Content-Type", "application/json")
			if resource {
				w.Header().Set("WWW-Authenticate", `DPoP error="use_dpop_nonce"`)
				w.WriteHeader(http.StatusUnauthorized)
			} else {
				w.WriteHeader(http.StatusBadRequest)
			}
			io.WriteString(w, `{"error":"use_dpop_nonce"}`)
		})
	}
}

// RFC 9449 §8, §9: the nonce retry happens once, never twice: a server
// that asks for a new nonce every time gets two requests, then the
// client gives up (dpop_failed for a login; the 401 for m.Client).
func TestDPoPNonceRetriedOnlyOnce(t *testing.T) {
	h := newDPoPHarness(t)
	b := oauthlogintest.NewBrowser()
	s := h.loginDPoP(b)

	var mu sync.Mutex
	tokenHits, userHits := 0, 0
	h.idp.Behave(oauthlogintest.Behavior{Intercept: map[string]func(http.Handler) http.Handler{
		"token":    alwaysUseNonce(false, &tokenHits, &mu),
		"userinfo": alwaysUseNonce(true, &userHits, &mu),
	}})
	h.mustFail(visit(t, oauthlogintest.NewBrowser(), h.beginURL("dpop")), "dpop_failed")
	if tokenHits != 2 {
		t.Fatalf("the exchange sent %d token requests, want 2", tokenHits)
	}
	resp, err := h.m.Client(context.Background(), s).Get(h.idp.URL + "/userinfo")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || userHits != 2 {
		t.Fatalf("m.Client = %d after %d requests, want 401 after 2", resp.StatusCode, userHits)
	}
}

// RFC 9449 §5: with a proof sent, the token_type must be DPoP. A
// provider that ignores the proof and answers Bearer (unbound tokens) is
// refused: the login fails with dpop_failed, and so does a refresh.
func TestDPoPBearerAnswerRefused(t *testing.T) {
	h := newDPoPHarness(t)
	b := oauthlogintest.NewBrowser()
	h.loginDPoP(b)

	h.idp.Behave(oauthlogintest.Behavior{IgnoreDPoP: true})
	h.mustFail(visit(t, oauthlogintest.NewBrowser(), h.beginURL("dpop")), "dpop_failed")
	h.pastRefreshReuse()
	resp := h.do(b, "POST", "/auth/refresh")
	var v map[string]any
	decode(t, resp, &v)
	if resp.StatusCode != http.StatusBadGateway || v["error"] != "dpop_failed" {
		t.Fatalf("refresh answered Bearer = %d %v, want 502 dpop_failed", resp.StatusCode, v)
	}
}

// Without DPoP on, nothing changes: no proof is sent and the tokens are
// Bearer.
func TestDPoPOffSendsNoProof(t *testing.T) {
	h := newHarness(t)
	var mu sync.Mutex
	var sent []string
	h.idp.Behave(oauthlogintest.Behavior{Intercept: map[string]func(http.Handler) http.Handler{
		"token": func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				sent = append(sent, r.Header.Get("DPoP"))
				mu.Unlock()
				next.ServeHTTP(w, r)
			})
		},
	}})
	b := oauthlogintest.NewBrowser()
	h.mustSucceed(h.login(b))
	if len(sent) != 1 || sent[0] != "" || h.idp.DPoPProofs() != 0 {
		t.Fatalf("a provider without DPoP sent proofs: %q", sent)
	}
	if tok := h.providerToken(h.storedSession(b)); tok.TokenType != "Bearer" {
		t.Fatalf("token_type %q", tok.TokenType)
	}
}

// RFC 9449 §5 for the device authorization grant (RFC 8628): the poll
// that gets the tokens carries a proof, they are bound to its key, the
// user info request and a later refresh sign with that key.
func TestDPoPDeviceFlow(t *testing.T) {
	h := newHarness(t, func(c *oauthlogin.Config) { c.DeviceProviders = []string{"dpop"} })
	h.register("dpop", providers.Config{DPoP: true})
	post := func(path string, form url.Values) (int, map[string]any) {
		resp, err := http.Post(h.app.URL+path, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v map[string]any
		json.NewDecoder(resp.Body).Decode(&v)
		return resp.StatusCode, v
	}
	_, start := post("/auth/dpop/device", nil)
	if err := h.idp.ApproveDevice(start["user_code"].(string), oauthlogintest.User{Subject: "tv-user", Email: "tv@example.com", EmailVerified: true}); err != nil {
		t.Fatal(err)
	}
	status, v := post("/auth/device/token", url.Values{"handle": {start["handle"].(string)}})
	if status != http.StatusCreated {
		t.Fatalf("device token = %d %v", status, v)
	}
	h.logs.secret(v["secret"].(string))
	if got := h.idp.DPoPProofs(); got != 2 {
		t.Fatalf("%d verified proofs, want 2 (the poll, userinfo)", got)
	}
	s, err := h.store.Session(context.Background(), v["id"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if tok := h.providerToken(s); tok.TokenType != "DPoP" {
		t.Fatalf("token_type %q", tok.TokenType)
	}
	if _, err := h.m.Refresh(context.Background(), s); err != nil || h.idp.DPoPProofs() != 3 {
		t.Fatalf("Refresh: %v, %d verified proofs", err, h.idp.DPoPProofs())
	}
}

// Token mode: the session made when the app redeems its one-time secret
// copies the identity's tokens with their key, so Manager.Client of that
// session signs its proofs by the key the tokens are bound to.
func TestDPoPTokenModeSession(t *testing.T) {
	h := newHarness(t, func(c *oauthlogin.Config) { c.NativeApps.Schemes = []string{"myapp-callback"} })
	h.register("dpop", providers.Config{DPoP: true})
	q := url.Values{"mode": {"token"}, "success": {"myapp-callback://auth"}, "failure": {"myapp-callback://auth/failed"}}
	page := visit(t, oauthlogintest.NewBrowser(), h.app.URL+"/auth/dpop?"+q.Encode())
	if page.Location == nil || page.Location.Query().Get("secret") == "" {
		t.Fatalf("token-mode login ended at %s (%d)", page.URL, page.Status)
	}
	back := page.Location.Query()
	h.logs.secret(back.Get("secret"))
	resp, v := exchange(t, h, back.Get("userId"), back.Get("secret"))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("exchange = %d %v", resp.StatusCode, v)
	}
	h.logs.secret(v["secret"].(string))
	s, err := h.store.Session(context.Background(), v["id"].(string))
	if err != nil {
		t.Fatal(err)
	}
	got, err := h.m.Client(context.Background(), s).Get(h.idp.URL + "/userinfo")
	if err != nil {
		t.Fatal(err)
	}
	got.Body.Close()
	if got.StatusCode != http.StatusOK || h.idp.DPoPProofs() != 3 {
		t.Fatalf("userinfo through the token-mode session's Client = %d, %d verified proofs", got.StatusCode, h.idp.DPoPProofs())
	}
}

// BenchmarkLoginDPoP is BenchmarkLogin with DPoP on: a key made, and two
// proofs signed by the client and verified by the fake (token, userinfo).
func BenchmarkLoginDPoP(b *testing.B) {
	h := newHarness(b)
	h.register("dpop", providers.Config{DPoP: true})
	br := oauthlogintest.NewBrowser()
	u := h.beginURL("dpop")
	b.ReportAllocs()
	for b.Loop() {
		page, err := br.Visit(context.Background(), u, nil)
		if err != nil || page.URL.Path != "/done" {
			b.Fatal(err, page.URL)
		}
	}
}

// RFC 9449 §5: a token endpoint that refuses the proof (invalid_dpop_proof)
// fails the login and the refresh with dpop_failed, not a generic code.
func TestDPoPProofRefusedByProvider(t *testing.T) {
	h := newDPoPHarness(t)
	b := oauthlogintest.NewBrowser()
	h.loginDPoP(b)
	h.idp.Behave(oauthlogintest.Behavior{TokenError: "invalid_dpop_proof"})
	h.mustFail(visit(t, oauthlogintest.NewBrowser(), h.beginURL("dpop")), "dpop_failed")
	h.pastRefreshReuse()
	resp := h.do(b, "POST", "/auth/refresh")
	var v map[string]any
	decode(t, resp, &v)
	if resp.StatusCode != http.StatusBadGateway || v["error"] != "dpop_failed" {
		t.Fatalf("refresh with the proof refused = %d %v, want 502 dpop_failed", resp.StatusCode, v)
	}
}

// A provider that issues a refresh token only at the first login answers
// a later one without: the identity keeps the old refresh token for a
// Bearer login, but not for a DPoP one, whose old refresh token is bound
// to the previous login's key (RFC 9449 §5), which the new tokens do not
// carry. The session then has no refresh token rather than one that
// cannot work.
func TestDPoPNewLoginDropsOldBoundRefreshToken(t *testing.T) {
	h := newDPoPHarness(t)
	h.loginDPoP(oauthlogintest.NewBrowser())
	h.idp.Behave(oauthlogintest.Behavior{OmitRefreshToken: true})
	b := oauthlogintest.NewBrowser()
	if tok := h.providerToken(h.loginDPoP(b)); tok.RefreshToken != "" {
		t.Fatal("the session kept the previous login's bound refresh token")
	}
	resp := h.do(b, "POST", "/auth/refresh")
	var v map[string]any
	decode(t, resp, &v)
	if v["error"] != oauthlogin.ErrNoRefreshToken.Code() {
		t.Fatalf("refresh = %d %v, want no_refresh_token", resp.StatusCode, v)
	}
}
