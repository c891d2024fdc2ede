package oauthlogin_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
	"github.com/oauthlogin/oauthlogin/providers"
)

// postLink starts a link to provider from b with a same-origin form POST
// and returns the response, not followed.
func (h *harness) postLink(b *oauthlogintest.Browser, provider string, header ...string) *http.Response {
	h.t.Helper()
	form := url.Values{"link": {"1"}, "success": {h.app.URL + "/done"}, "failure": {h.app.URL + "/failed"}}
	req, err := http.NewRequest("POST", h.app.URL+"/auth/"+provider, strings.NewReader(form.Encode()))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	noFollow := *b.Client
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := (&noFollow).Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// link runs a whole link of provider in b and returns the page it ends on.
func (h *harness) link(b *oauthlogintest.Browser, provider string) *oauthlogintest.Page {
	h.t.Helper()
	resp := h.postLink(b, provider)
	if resp.StatusCode != http.StatusSeeOther {
		h.t.Fatalf("POST /auth/%s link = %d", provider, resp.StatusCode)
	}
	return visit(h.t, b, resp.Header.Get("Location"))
}

func identities(t *testing.T, h *harness, b *oauthlogintest.Browser) []map[string]any {
	t.Helper()
	var v struct{ Identities []map[string]any }
	decode(t, h.do(b, "GET", "/auth/identities"), &v)
	return v.Identities
}

func TestLinkAndUnlink(t *testing.T) {
	h := newHarness(t)
	h.register("other", providers.Config{})
	b := oauthlogintest.NewBrowser()
	h.mustSucceed(h.login(b))
	before, _ := h.session(b)
	firstTok := h.refreshToken(b) // the identity holds the same tokens
	firstAccess := before["providerAccessToken"].(string)

	h.idp.SetUser(oauthlogintest.User{Subject: "user-9", Email: "ada@work.example"})
	h.mustSucceed(h.link(b, "other"))
	after, _ := h.session(b)
	if after["userId"] != before["userId"] || after["provider"] != "other" || after["providerUid"] != "user-9" {
		t.Fatalf("after linking: %v", after)
	}
	if after["id"] == before["id"] {
		t.Fatal("linking did not rotate the session id")
	}
	if _, err := h.store.Session(context.Background(), before["id"].(string)); err == nil {
		t.Fatal("the session that started the link still exists")
	}
	ids := identities(t, h, b)
	if len(ids) != 2 || ids[0]["provider"] != "test" || ids[1]["provider"] != "other" || ids[1]["userId"] != before["userId"] {
		t.Fatalf("identities after linking: %v", ids)
	}

	// Signing in with the linked account lands in the same user.
	fresh := oauthlogintest.NewBrowser()
	page, err := fresh.Visit(context.Background(), h.beginURL("other"), nil)
	if err != nil {
		t.Fatal(err)
	}
	h.mustSucceed(page)
	if s, _ := h.session(fresh); s["userId"] != before["userId"] {
		t.Fatalf("sign-in with the linked account: user %v, want %v", s["userId"], before["userId"])
	}

	// Unlink the first identity; its refresh token is revoked.
	first, err := h.store.Identity(context.Background(), h.idp.URL, "user-1")
	if err != nil {
		t.Fatal(err)
	}
	if resp := h.do(b, "DELETE", "/auth/identities/"+first.ID); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("unlink = %d", resp.StatusCode)
	}
	if !h.idp.Revoked(firstTok) || !h.idp.Revoked(firstAccess) {
		t.Fatal("the unlinked identity's refresh and access tokens were not both revoked")
	}
	ids = identities(t, h, b)
	if len(ids) != 1 || ids[0]["provider"] != "other" {
		t.Fatalf("identities after unlinking: %v", ids)
	}

	// The last identity stays.
	resp := h.do(b, "DELETE", "/auth/identities/"+ids[0]["id"].(string))
	var v map[string]string
	decode(t, resp, &v)
	if resp.StatusCode != http.StatusConflict || v["error"] != oauthlogin.ErrLastIdentity.Code() {
		t.Fatalf("unlinking the last identity = %d %v", resp.StatusCode, v)
	}
	if len(identities(t, h, b)) != 1 {
		t.Fatal("the last identity was removed")
	}
}

func TestUnlinkRefusals(t *testing.T) {
	h := newHarness(t)
	h.register("other", providers.Config{})
	a := oauthlogintest.NewBrowser()
	h.mustSucceed(h.login(a))
	h.idp.SetUser(oauthlogintest.User{Subject: "user-9"})
	h.mustSucceed(h.link(a, "other"))

	h.idp.SetUser(oauthlogintest.User{Subject: "user-2"})
	b := oauthlogintest.NewBrowser()
	h.mustSucceed(h.login(b))

	aIDs := identities(t, h, a)
	for name, tc := range map[string]struct {
		b      *oauthlogintest.Browser
		id     string
		header []string
		status int
	}{
		"AnotherUsersIdentity": {b, aIDs[0]["id"].(string), nil, http.StatusNotFound},
		"UnknownIdentity":      {a, "nope", nil, http.StatusNotFound},
		"CrossSite":            {a, aIDs[0]["id"].(string), []string{"Sec-Fetch-Site", "cross-site"}, http.StatusForbidden},
		"NoSession":            {oauthlogintest.NewBrowser(), aIDs[0]["id"].(string), nil, http.StatusUnauthorized},
	} {
		if resp := h.do(tc.b, "DELETE", "/auth/identities/"+tc.id, tc.header...); resp.StatusCode != tc.status {
			t.Errorf("%s: = %d, want %d", name, resp.StatusCode, tc.status)
		}
	}
	if len(identities(t, h, a)) != 2 {
		t.Fatal("a refused unlink removed an identity")
	}
}

// An account linked to one user is never moved to another.
func TestLinkConflict(t *testing.T) {
	h := newHarness(t)
	h.register("other", providers.Config{})
	a := oauthlogintest.NewBrowser()
	h.idp.SetUser(oauthlogintest.User{Subject: "shared", Email: "ada@example.com", EmailVerified: true})
	page, err := a.Visit(context.Background(), h.beginURL("other"), nil)
	if err != nil {
		t.Fatal(err)
	}
	h.mustSucceed(page)
	owner, _ := h.session(a)

	h.idp.SetUser(oauthlogintest.User{Subject: "user-2", Email: "ada@example.com", EmailVerified: true})
	b := oauthlogintest.NewBrowser()
	h.mustSucceed(h.login(b))
	sb, _ := h.session(b)

	h.idp.SetUser(oauthlogintest.User{Subject: "shared"})
	h.mustFail(h.link(b, "other"), oauthlogin.ErrIdentityConflict.Code())
	if after, status := h.session(b); status != http.StatusOK || after["id"] != sb["id"] {
		t.Fatal("a refused link changed the session")
	}
	id, err := h.store.Identity(context.Background(), h.idp.URL, "shared")
	if err != nil || id.UserID != owner["userId"] {
		t.Fatalf("the identity moved: %+v, %v", id, err)
	}
	if len(identities(t, h, b)) != 1 {
		t.Fatal("the refused identity was added")
	}
}

func TestLinkRefusals(t *testing.T) {
	h := newHarness(t)
	h.register("other", providers.Config{})
	b := oauthlogintest.NewBrowser()

	// No session: nothing to link to.
	if resp := h.postLink(b, "other"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("link without a session = %d", resp.StatusCode)
	}
	h.mustSucceed(h.login(b))
	// A GET cannot start a link (a cross-site <img> or link could).
	resp := h.do(b, "GET", "/auth/other?link=1")
	var v map[string]string
	decode(t, resp, &v)
	if resp.StatusCode != http.StatusBadRequest || v["error"] != "link_requires_post" {
		t.Fatalf("GET link = %d %v", resp.StatusCode, v)
	}
	// A cross-site POST cannot either.
	if resp := h.postLink(b, "other", "Sec-Fetch-Site", "cross-site"); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site link = %d", resp.StatusCode)
	}
	if h.idp.Hits("authorize") != 1 {
		t.Fatal("a refused link reached the provider")
	}
}

// A link finishes only in the session that began it.
func TestLinkSessionChanged(t *testing.T) {
	h := newHarness(t)
	h.register("other", providers.Config{})
	b := oauthlogintest.NewBrowser()
	h.mustSucceed(h.login(b))
	h.idp.SetUser(oauthlogintest.User{Subject: "user-7"})
	resp := h.postLink(b, "other")
	page, err := b.Visit(context.Background(), resp.Header.Get("Location"), atCallback)
	if err != nil || page.Location == nil {
		t.Fatalf("did not reach the callback: %v", err)
	}
	// Signed out and in again (someone else at the keyboard, say) before the callback.
	h.do(b, "DELETE", "/auth/session")
	h.idp.SetUser(oauthlogintest.User{Subject: "user-2"})
	h.mustSucceed(h.login(b))
	tokenHits := h.idp.Hits("token")
	h.mustFail(visit(t, b, page.Location.String()), "link_session_mismatch")
	if h.idp.Hits("token") != tokenHits {
		t.Fatal("the code was redeemed for a link that cannot finish")
	}
	if _, err := h.store.Identity(context.Background(), h.idp.URL, "user-7"); err == nil {
		t.Fatal("the identity was linked")
	}
}
