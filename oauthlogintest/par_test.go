package oauthlogintest_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/oauthlogin/oauthlogin/internal/testapp"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
)

// push posts form to the PAR endpoint, authenticated by edit (nil: Basic
// with the client's secret), and returns the status and the JSON answer.
func push(t *testing.T, idp *oauthlogintest.Server, form url.Values, edit func(*http.Request)) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, idp.URL+"/par", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if edit == nil {
		req.SetBasicAuth(url.QueryEscape(idp.ClientID), url.QueryEscape(idp.ClientSecret))
	} else {
		edit(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	return resp, v
}

// pushForm is an authorization request's parameters for a push.
func pushForm(idp *oauthlogintest.Server, challenge string) url.Values {
	return url.Values{
		"client_id": {idp.ClientID}, "response_type": {"code"}, "redirect_uri": {callbackURL},
		"scope": {"openid email"}, "state": {"pushed-state"}, "nonce": {"n-1"},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"},
	}
}

// RFC 9126 §2.2: 201 with request_uri and expires_in; §4: the
// authorization request names it with client_id and request_uri only, and
// the pushed parameters (state, PKCE) are the ones used, once.
func TestPARPushAndAuthorize(t *testing.T) {
	t.Parallel()
	idp := testapp.NewIdP(t)
	verifier := oauth2.GenerateVerifier()
	resp, v := push(t, idp, pushForm(idp, oauth2.S256ChallengeFromVerifier(verifier)), nil)
	uri, _ := v["request_uri"].(string)
	if resp.StatusCode != http.StatusCreated || !strings.HasPrefix(uri, "urn:ietf:params:oauth:request_uri:") || v["expires_in"] != float64(60) {
		t.Fatalf("push: %d %v", resp.StatusCode, v)
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control = %q", resp.Header.Get("Cache-Control"))
	}
	link := idp.URL + "/authorize?" + url.Values{"client_id": {idp.ClientID}, "request_uri": {uri}}.Encode()
	q := authorize(t, link)
	if q.Get("state") != "pushed-state" || q.Get("code") == "" {
		t.Fatalf("authorize with request_uri: %v", q)
	}
	cfg := clientConfig(idp)
	if _, err := cfg.Exchange(t.Context(), q.Get("code"), oauth2.VerifierOption(verifier)); err != nil {
		t.Fatalf("exchange with the pushed challenge's verifier: %v", err)
	}
	page, err := oauthlogintest.NewBrowser().Visit(t.Context(), link, nil)
	if err != nil || page.Status != http.StatusBadRequest {
		t.Fatalf("a used request_uri: %v %v, want 400", page, err)
	}
	if idp.Hits("par") != 1 {
		t.Errorf("Hits(par) = %d", idp.Hits("par"))
	}
}

// The client authenticates at the PAR endpoint as at the token endpoint
// (RFC 9126 §2.1); a pushed request may not carry request_uri.
func TestPARRefusals(t *testing.T) {
	t.Parallel()
	idp := testapp.NewIdP(t)
	form := pushForm(idp, oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier()))
	for _, tc := range []struct {
		name   string
		form   url.Values
		edit   func(*http.Request)
		status int
		code   string
	}{
		{"NoSecret", form, func(*http.Request) {}, 401, "invalid_client"},
		{"WrongSecret", form, func(r *http.Request) { r.SetBasicAuth(idp.ClientID, "wrong") }, 401, "invalid_client"},
		{"RequestURIInPush", func() url.Values {
			f := url.Values{"request_uri": {"urn:x"}}
			for k, v := range form {
				f[k] = v
			}
			return f
		}(), nil, 400, "invalid_request"},
		{"BadRedirectURI", func() url.Values {
			f := url.Values{"redirect_uri": {"/relative"}}
			for k, v := range form {
				if k != "redirect_uri" {
					f[k] = v
				}
			}
			return f
		}(), nil, 400, "invalid_request"},
	} {
		resp, v := push(t, idp, tc.form, tc.edit)
		if resp.StatusCode != tc.status || v["error"] != tc.code {
			t.Errorf("%s: %d %v, want %d %s", tc.name, resp.StatusCode, v, tc.status, tc.code)
		}
	}
}

// A request_uri is bound to the client that pushed it: another client_id
// at the authorization endpoint is refused.
func TestPARBoundToClient(t *testing.T) {
	t.Parallel()
	idp := testapp.NewIdP(t)
	_, v := push(t, idp, pushForm(idp, oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())), nil)
	link := idp.URL + "/authorize?" + url.Values{"client_id": {"other-client"}, "request_uri": {v["request_uri"].(string)}}.Encode()
	page, err := oauthlogintest.NewBrowser().Visit(t.Context(), link, nil)
	if err != nil || page.Status != http.StatusBadRequest {
		t.Fatalf("another client's request_uri: %v %v, want 400", page, err)
	}
}

// Behavior.RequirePAR: discovery says so (RFC 9126 §5), and the
// authorization endpoint refuses a request that was not pushed.
func TestRequirePAR(t *testing.T) {
	t.Parallel()
	idp := testapp.NewIdP(t)
	idp.Behave(oauthlogintest.Behavior{RequirePAR: true})
	resp, err := http.Get(idp.URL + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if doc["require_pushed_authorization_requests"] != true || doc["pushed_authorization_request_endpoint"] != idp.URL+"/par" {
		t.Errorf("discovery: %v", doc)
	}
	page, err := oauthlogintest.NewBrowser().Visit(t.Context(), clientConfig(idp).AuthCodeURL("st"), nil)
	if err != nil || page.Status != http.StatusBadRequest {
		t.Fatalf("a request not pushed: %v %v, want 400", page, err)
	}
}
