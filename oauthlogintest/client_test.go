package oauthlogintest_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/oauthlogin/oauthlogin/internal/testapp"
	"golang.org/x/oauth2"
)

func TestClientSecretBasicEncodesSpecialCharacters(t *testing.T) {
	t.Parallel()
	idp := testapp.NewIdP(t)
	idp.SetClientSecret("a:b%c+d e é")
	if idp.ClientSecret != "a:b%c+d e é" {
		t.Fatalf("ClientSecret = %q", idp.ClientSecret)
	}
	for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams} {
		cfg := clientConfig(idp)
		cfg.Endpoint.AuthStyle = style
		login(t, cfg)
	}
}

func TestWrongClientIsInvalidClient(t *testing.T) {
	t.Parallel()
	idp := testapp.NewIdP(t)
	for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams} {
		cfg := clientConfig(idp)
		cfg.Endpoint.AuthStyle = style
		cfg.ClientSecret = "wrong"
		q := authorize(t, cfg.AuthCodeURL("s"))
		_, err := cfg.Exchange(t.Context(), q.Get("code"))
		if code := errorCode(t, err); code != "invalid_client" {
			t.Errorf("style %d: error = %q, want invalid_client", style, code)
		}
	}
}

func TestBasicCredentialsMustBeFormEncoded(t *testing.T) {
	t.Parallel()
	idp := testapp.NewIdP(t)
	idp.SetClientSecret("p+q")
	// A client that forgets to form-encode sends "p+q", which decodes to "p q".
	resp := postForm(t, idp.URL+"/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}}, func(r *http.Request) {
		r.SetBasicAuth(idp.ClientID, "p+q")
	})
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("unencoded secret: status %d, want 401", resp.StatusCode)
	}
	if resp.Header.Get("WWW-Authenticate") == "" {
		t.Error("401 without WWW-Authenticate")
	}
}

func TestTwoClientAuthMethodsAreRefused(t *testing.T) {
	t.Parallel()
	idp := testapp.NewIdP(t)
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}, "client_secret": {idp.ClientSecret}}
	resp := postForm(t, idp.URL+"/token", form, func(r *http.Request) {
		r.SetBasicAuth(idp.ClientID, idp.ClientSecret)
	})
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("status %d, want 400", resp.StatusCode)
	}
}
