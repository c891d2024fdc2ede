package scenario

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/internal/testapp"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
	"github.com/oauthlogin/oauthlogin/providers"
)

// DPoPAcrossInstances checks that the DPoP key (RFC 9449) of a login is
// sealed with the tokens in store: a login with a DPoP provider on
// instance A, then a refresh on instance B, which has only the store to
// find the key the refresh token is bound to (the fake refuses a refresh
// without a proof by that key), then a resource request through B's
// Manager.Client (a proof with ath by the same key) when store holds
// the session server-side.
func DPoPAcrossInstances(t *testing.T, store oauthlogin.Store) {
	idp := testapp.NewIdP(t)
	front := httptest.NewUnstartedServer(nil)
	cfg := testapp.Config("http://"+front.Listener.Addr().String(), store, slog.New(slog.DiscardHandler))
	var ms []*oauthlogin.Manager
	var srvs []*httptest.Server
	for range 2 {
		m, err := oauthlogin.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		testapp.Register(t, m, idp, "dpop", providers.Config{DPoP: true})
		srv := httptest.NewServer(testapp.Mux(m))
		t.Cleanup(srv.Close)
		ms, srvs = append(ms, m), append(srvs, srv)
	}
	front.Config.Handler = srvs[0].Config.Handler
	front.Start()
	t.Cleanup(front.Close)

	b := oauthlogintest.NewBrowser()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	testapp.MustSucceed(t, testapp.Visit(ctx, t, b, testapp.BeginURL(front.URL, "dpop")))
	if got := idp.DPoPProofs(); got != 2 {
		t.Fatalf("the login sent %d verified proofs, want 2", got)
	}
	var token string
	for _, c := range b.Client.Jar.Cookies(testapp.MustParse(t, front.URL)) {
		if c.Name == "oauthlogin_session" {
			token = c.Value
		}
	}
	if token == "" {
		t.Fatal("no session cookie")
	}
	client := &http.Client{Timeout: 30 * time.Second}
	a := testapp.WithSession(client, "POST", srvs[1].URL+"/auth/refresh", "oauthlogin_session", token)
	if a.Err != nil || a.Status != http.StatusOK {
		t.Fatalf("refresh on instance B = %d %v %v", a.Status, a.Body, a.Err)
	}
	if got := idp.DPoPProofs(); got != 3 {
		t.Fatalf("%d verified proofs after B's refresh, want 3", got)
	}
	id, _ := a.Body["id"].(string)
	if id == "" {
		t.Fatalf("the refresh answered no session id: %v", a.Body)
	}
	s, err := store.Session(ctx, id)
	if errors.Is(err, oauthlogin.ErrNotFound) {
		t.Logf("no server-side session %q", id)
		return // sessions held by the client (cookiestore): B's refresh is the check
	}
	if err != nil {
		t.Fatal(err)
	}
	resp, err := ms[1].Client(ctx, s).Get(idp.URL + "/userinfo")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	t.Log("checked Manager.Client on the other instance") // the server-side path ran
	if resp.StatusCode != http.StatusOK || idp.DPoPProofs() != 4 {
		t.Fatalf("userinfo through B's Client = %d, %d verified proofs, want 200 and 4", resp.StatusCode, idp.DPoPProofs())
	}
}
