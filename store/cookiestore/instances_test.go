package cookiestore_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
	"github.com/oauthlogin/oauthlogin/providers"
	"github.com/oauthlogin/oauthlogin/store/cookiestore"
)

// Found by an adversarial review: this package's doc sells the cookie store to "an app ... with
// many instances and no shared store", and its example Config sets
// Sessions and Identities only. Config.OneTime left nil silently becomes a
// MemoryStore of each process, so nothing single-use is shared between the
// instances: a token-mode secret (the sealed pending session, which any
// instance opens) is redeemed once PER INSTANCE, each time for a new
// bearer session. The same holds for login states and device handles.
//
// What is demanded: SECURITY.md's threat model (several instances behind a
// load balancer: the attacker "must not be able to replay a state on
// another instance"), CreateSession's doc ("A secret is used once"), and
// README ("any app instance can finish a login another began"). The
// configuration here is the package doc's example, two instances with the
// same keys and a shared identity store.
func TestSecretRedeemedOnceAcrossInstances(t *testing.T) {
	idp := oauthlogintest.NewServer()
	t.Cleanup(idp.Close)
	keys := []oauthlogin.CookieKey{oauthlogin.GenerateCookieKey()}
	shared := oauthlogin.NewMemoryStore() // stands for the shared server store (redisstore, pgstore)
	instance := func() *httptest.Server {
		srv := httptest.NewUnstartedServer(nil)
		m, err := oauthlogin.New(oauthlogin.Config{ // the package doc's example
			BaseURL:    "http://" + srv.Listener.Addr().String(),
			Keys:       oauthlogin.Keys{Cookie: keys},
			Store:      cookiestore.New(shared, keys...),
			Sessions:   oauthlogin.SessionOptions{Lifetime: time.Hour},
			NativeApps: oauthlogin.NativeApps{Schemes: []string{"myapp"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		p, err := providers.OIDC(context.Background(), "test", idp.URL, providers.Config{ClientID: idp.ClientID, ClientSecret: idp.ClientSecret})
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Register(p); err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		mux.Handle("/auth/", m.Handler())
		srv.Config.Handler = mux
		srv.Start()
		t.Cleanup(srv.Close)
		return srv
	}
	a, b := instance(), instance()

	q := url.Values{"mode": {"token"}, "success": {"myapp://cb"}, "failure": {"myapp://failed"}}
	page, err := oauthlogintest.NewBrowser().Visit(context.Background(), a.URL+"/auth/test?"+q.Encode(), nil)
	if err != nil || page.Location == nil || page.Location.Scheme != "myapp" {
		t.Fatalf("token-mode login: %v %v", page, err)
	}
	userID, secret := page.Location.Query().Get("userId"), page.Location.Query().Get("secret")
	redeem := func(srv *httptest.Server) int {
		body, _ := json.Marshal(map[string]string{"userId": userID, "secret": secret})
		resp, err := http.Post(srv.URL+"/auth/session", "application/json", strings.NewReader(string(body)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := redeem(a); got != http.StatusCreated {
		t.Fatalf("first redemption = %d", got)
	}
	if got := redeem(b); got == http.StatusCreated {
		t.Fatalf("the one-time secret, used on instance A, made a second session on instance B (%d)", got)
	}
}
