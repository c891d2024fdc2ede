package oauthlogin_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
)

// hookStore is the memory store with a hook run once, just before the
// next identity write that match selects reaches the store: it lets a
// test place another request (a login) between a read of the identity
// and the write that follows it, deterministically.
type hookStore struct {
	*oauthlogin.MemoryStore
	mu     sync.Mutex
	match  func(*oauthlogin.Identity) bool
	hook   func()
	onLock chan<- struct{} // told when a Lock call must wait
}

// Lock takes the lock; when onLock is set and the lock is held, it tells
// onLock before it waits.
func (s *hookStore) Lock(ctx context.Context, key string, ttl time.Duration) (func(context.Context) error, error) {
	s.mu.Lock()
	c := s.onLock
	s.mu.Unlock()
	if c != nil {
		try, cancel := context.WithCancel(ctx)
		cancel() // a done context makes a try-lock
		if unlock, err := s.MemoryStore.Lock(try, key, ttl); err == nil {
			return unlock, nil
		}
		select {
		case c <- struct{}{}:
		default:
		}
	}
	return s.MemoryStore.Lock(ctx, key, ttl)
}

// concurrently runs f on a goroutine of its own, as another request
// would, and returns once f has finished or waits for a lock (the
// identity's refresh lock, which the caller, inside a hook, holds: f then
// goes on once the caller's critical section ends). wait waits for f.
func (s *hookStore) concurrently(f func()) (wait func()) {
	done, waiting := make(chan struct{}), make(chan struct{}, 1)
	s.mu.Lock()
	s.onLock = waiting
	s.mu.Unlock()
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-waiting:
	}
	s.mu.Lock()
	s.onLock = nil
	s.mu.Unlock()
	return func() { <-done }
}

func (s *hookStore) arm(match func(*oauthlogin.Identity) bool, hook func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.match, s.hook = match, hook
}

func (s *hookStore) UpdateIdentity(ctx context.Context, v *oauthlogin.Identity) error {
	s.mu.Lock()
	hook := s.hook
	if hook != nil && s.match(v) {
		s.match, s.hook = nil, nil
	} else {
		hook = nil
	}
	s.mu.Unlock()
	if hook != nil {
		hook()
	}
	return s.MemoryStore.UpdateIdentity(ctx, v)
}

func newHookHarness(t *testing.T, edit func(*oauthlogin.Config)) (*harness, *hookStore) {
	hs := &hookStore{}
	h := newHarness(t, func(c *oauthlogin.Config) {
		hs.MemoryStore = c.Store.(*oauthlogin.MemoryStore)
		c.Store = hs
		if edit != nil {
			edit(c)
		}
	})
	return h, hs
}

// RFC 7009 §2.1 / RFC 6749 §10.4: a revoking logout drops the identity's
// tokens only when they are the revoked ones (forgetRevoked). But the
// check (read the identity, compare) and the drop (UpdateIdentity of the
// whole record, then every session created up to "now") are not atomic
// with a login, which writes the identity without the refresh lock. A
// new login of the same account that lands between them (a second device
// signing in while the first signs out) has its fresh grant's tokens wiped
// from the identity AND from its own brand-new session (Created <=
// revoked): the user who just signed in has no provider token and no
// refresh token, although the provider never revoked that grant. (When
// the login lands after dropGrant took "revoked", only the identity is
// wiped: the new session's next refresh then answers no_refresh_token
// and drops the session's own valid refresh token as well.)
func TestAttackV2RevokingLogoutWipesConcurrentLogin(t *testing.T) {
	h, hs := newHookHarness(t, func(c *oauthlogin.Config) { c.Sessions.RevokeOnLogout = true })
	a, b := oauthlogintest.NewBrowser(), oauthlogintest.NewBrowser()
	h.mustSucceed(h.login(a))
	var page *oauthlogintest.Page
	var wait func()
	// The drop's write is the identity update with no tokens: b's login
	// runs just before it, after forgetRevoked read the identity.
	hs.arm(func(v *oauthlogin.Identity) bool { return v.ProviderTokens == nil }, func() {
		wait = hs.concurrently(func() { page = h.login(b) })
	})
	if resp := h.do(a, "DELETE", "/auth/session"); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("logout = %d", resp.StatusCode)
	}
	if wait == nil {
		t.Fatal("setup: the logout never dropped the identity's tokens")
	}
	wait()
	if page == nil {
		t.Fatal("setup: the logout never dropped the identity's tokens")
	}
	h.mustSucceed(page)
	v, status := h.session(b)
	if status != http.StatusOK {
		t.Fatalf("the new login's session = %d", status)
	}
	tok, _ := v["providerAccessToken"].(string)
	if tok == "" || v["hasProviderRefreshToken"] != true {
		t.Errorf("a login that completed during another device's revoking logout lost its provider tokens: %v", v)
	}
	id, err := h.store.Identity(context.Background(), h.idp.URL, "user-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(id.ProviderTokens) == 0 {
		t.Errorf("the identity lost the new login's (unrevoked) tokens")
	}
	// What the user sees: the new session's refresh, which reads the
	// identity's canonical tokens, finds none and drops the session's own
	// (valid) refresh token too.
	if resp := h.do(b, "POST", "/auth/refresh"); resp.StatusCode != http.StatusOK {
		v, _ := h.session(b)
		t.Errorf("POST /auth/refresh from the new login's session = %d; session now %v", resp.StatusCode, v)
	}
}

// The same missing lock on the login side, from a refresh: a refresh
// reads the identity under its lock, asks the provider, and writes the
// whole record back; a login of the same account that lands meanwhile (it
// takes no lock) is overwritten, so the identity's canonical tokens are
// the previous grant's again while the new login's session holds the new
// grant's. The identity now says the new session's tokens are "another
// grant" and the old session's are the identity's: when the OLD session
// signs out with RevokeOnLogout, its revoked tokens match the identity's,
// and dropGrant strips the NEW session's valid, never-revoked tokens (the
// "OtherGrant" case of TestRevokingLogoutDropsIdentityTokens, which must
// keep them).
func TestAttackV2RefreshOverwritesConcurrentLogin(t *testing.T) {
	h, hs := newHookHarness(t, func(c *oauthlogin.Config) { c.Sessions.RevokeOnLogout = true })
	a, b := oauthlogintest.NewBrowser(), oauthlogintest.NewBrowser()
	h.mustSucceed(h.login(a))
	var page *oauthlogintest.Page
	var wait func()
	hs.arm(func(v *oauthlogin.Identity) bool { return v.ProviderTokens != nil }, func() {
		wait = hs.concurrently(func() { page = h.login(b) })
	})
	if resp := h.do(a, "POST", "/auth/refresh"); resp.StatusCode != http.StatusOK {
		t.Fatalf("refresh = %d", resp.StatusCode)
	}
	if wait == nil {
		t.Fatal("setup: the refresh wrote no identity")
	}
	wait()
	if page == nil {
		t.Fatal("setup: the login did not finish")
	}
	h.mustSucceed(page)
	before, _ := h.session(b)
	if before["hasProviderRefreshToken"] != true {
		t.Fatalf("setup: b's session has no refresh token: %v", before)
	}
	if resp := h.do(a, "DELETE", "/auth/session"); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("logout = %d", resp.StatusCode)
	}
	v, _ := h.session(b)
	tok, _ := v["providerAccessToken"].(string)
	if tok == "" || h.idp.Revoked(tok) || v["hasProviderRefreshToken"] != true {
		t.Errorf("the older session's revoking logout stripped the newer login's own, unrevoked tokens (revoked at provider: %v): %v", tok != "" && h.idp.Revoked(tok), v)
	}
}

// RFC 9700 §4.14.2 / RFC 6749 §10.4: with refresh token rotation, a spent
// refresh token must never be sent again (the provider takes it for a
// stolen one and revokes the grant). A login whose provider answers
// without a refresh token (Google without prompt=consent, and any provider
// that issues one only at first consent) keeps the identity's current one
// (identity.go): it reads it outside the refresh lock, and writes it back
// later. A refresh of the same identity that rotates it in between (the
// user's other tab, a background TokenSource) is undone: the identity
// holds the spent refresh token again, the next refresh presents it, and
// the provider revokes the whole grant: every session of the user loses
// its provider tokens (409 provider_token_revoked).
func TestAttackV2LoginRestoresSpentRefreshToken(t *testing.T) {
	h, hs := newHookHarness(t, nil)
	h.idp.Behave(oauthlogintest.Behavior{RotateRefreshTokens: true})
	a, b := oauthlogintest.NewBrowser(), oauthlogintest.NewBrowser()
	h.mustSucceed(h.login(a))
	// The provider issues no refresh token for a later login; a refresh
	// still rotates (RotateRefreshTokens comes first).
	h.idp.Behave(oauthlogintest.Behavior{RotateRefreshTokens: true, OmitRefreshToken: true})
	var status int
	var wait func()
	hs.arm(func(v *oauthlogin.Identity) bool { return v.ProviderTokens != nil }, func() {
		wait = hs.concurrently(func() { status = h.do(a, "POST", "/auth/refresh").StatusCode }) // rotates RT1 -> RT2
	})
	h.mustSucceed(h.login(b)) // the refresh runs while it writes the identity
	if wait == nil {
		t.Fatal("setup: the login wrote no identity")
	}
	wait()
	if status != http.StatusOK {
		t.Fatalf("setup: the concurrent refresh = %d", status)
	}
	h.pastRefreshReuse()
	if resp := h.do(b, "POST", "/auth/refresh"); resp.StatusCode != http.StatusOK {
		t.Errorf("the next refresh = %d: it presented the spent refresh token and the provider revoked the grant", resp.StatusCode)
	}
	if resp := h.do(a, "POST", "/auth/refresh"); resp.StatusCode != http.StatusOK {
		t.Errorf("the other session's refresh = %d: the grant is gone", resp.StatusCode)
	}
}

// The refresh's whole-record write also resurrects the identity's other
// fields as they were when it read them: a login that records the
// provider account's new email (the old mailbox was given up, or is no
// longer verified) is undone by a refresh in flight, and the identity
// keeps the old verified address in the email index. With
// EmailLinkProviders, whoever holds that address next (a reassigned
// mailbox) and signs in with another listed provider is linked into this
// user's account (OpenID Connect Core §5.7: email is not a stable
// identifier; the app relies on the library keeping it current).
func TestAttackV2RefreshResurrectsOldVerifiedEmail(t *testing.T) {
	h, hs := newHookHarness(t, func(c *oauthlogin.Config) { c.EmailLinkProviders = []string{"test"} })
	a, b := oauthlogintest.NewBrowser(), oauthlogintest.NewBrowser()
	h.mustSucceed(h.login(a))
	ctx := context.Background()
	if ids, _ := h.store.IdentitiesByEmail(ctx, "ada@example.com"); len(ids) != 1 {
		t.Fatalf("setup: the identity is not indexed under its verified email: %v", ids)
	}
	h.idp.SetUser(oauthlogintest.User{Subject: "user-1", Email: "ada@new.example", EmailVerified: true, Name: "Ada Lovelace"})
	var page *oauthlogintest.Page
	var wait func()
	hs.arm(func(v *oauthlogin.Identity) bool { return v.ProviderTokens != nil }, func() {
		wait = hs.concurrently(func() { page = h.login(b) })
	})
	if resp := h.do(a, "POST", "/auth/refresh"); resp.StatusCode != http.StatusOK {
		t.Fatalf("refresh = %d", resp.StatusCode)
	}
	if wait == nil {
		t.Fatal("setup: the refresh wrote no identity")
	}
	wait()
	h.mustSucceed(page)
	id, err := h.store.Identity(ctx, h.idp.URL, "user-1")
	if err != nil {
		t.Fatal(err)
	}
	if id.VerifiedEmail != "ada@new.example" {
		t.Errorf("after a login reported ada@new.example, the identity's verified email is %q", id.VerifiedEmail)
	}
	if ids, _ := h.store.IdentitiesByEmail(ctx, "ada@example.com"); len(ids) != 0 {
		t.Errorf("the identity is still indexed under the address its provider no longer reports")
	}
}
