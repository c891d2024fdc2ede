package oauthlogin_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
	"github.com/oauthlogin/oauthlogin/providers"
)

// lockWatch is the memory store with its Lock keys recorded, the keys held
// now tracked, and every UpdateIdentity checked to run while the refresh
// lock of that very identity (issuer, subject, id) is held: the lock that
// makes a login's write and a refresh's read-modify-write exclude each
// other.
type lockWatch struct {
	*oauthlogin.MemoryStore
	mu     sync.Mutex
	taken  []string
	held   map[string]int
	unheld []string // UpdateIdentity calls made without their lock
}

func newLockWatch(s *oauthlogin.MemoryStore) *lockWatch {
	return &lockWatch{MemoryStore: s, held: map[string]int{}}
}

func v8RefreshLock(issuer, subject, id string) string {
	return "oauthlogin:refresh:" + issuer + "\x00" + subject + "\x00" + id
}

func (s *lockWatch) Lock(ctx context.Context, key string, ttl time.Duration) (func(context.Context) error, error) {
	unlock, err := s.MemoryStore.Lock(ctx, key, ttl)
	if err != nil || unlock == nil {
		return unlock, err
	}
	s.mu.Lock()
	s.taken = append(s.taken, key)
	s.held[key]++
	s.mu.Unlock()
	var once sync.Once
	return func(ctx context.Context) error {
		once.Do(func() {
			s.mu.Lock()
			s.held[key]--
			s.mu.Unlock()
		})
		return unlock(ctx)
	}, nil
}

func (s *lockWatch) UpdateIdentity(ctx context.Context, v *oauthlogin.Identity) error {
	s.mu.Lock()
	if s.held[v8RefreshLock(v.Issuer, v.ProviderUID, v.ID)] == 0 {
		s.unheld = append(s.unheld, v.ID)
	}
	s.mu.Unlock()
	return s.MemoryStore.UpdateIdentity(ctx, v)
}

func (s *lockWatch) reset() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.taken
	s.taken = nil
	return t
}

// TestAttackV8GuessedLoginTakesTheRefreshLock: a returning login that
// guesses its identity locks exactly the key a refresh of that identity's
// sessions locks, and writes the identity only under it; after the account
// was unlinked and linked again behind the Manager's back (as another
// Manager on the store would), the wrong guess's lock is dropped and the
// write is under the new identity's lock, as a login (never a sign-up or
// a link) of the user the account now belongs to.
func TestAttackV8GuessedLoginTakesTheRefreshLock(t *testing.T) {
	var w *lockWatch
	var evMu sync.Mutex
	var events []oauthlogin.EventType
	h := newHarness(t, func(c *oauthlogin.Config) {
		w = newLockWatch(c.Store.(*oauthlogin.MemoryStore))
		c.Store = w
		c.Hooks.OnEvent = func(_ context.Context, e oauthlogin.Event) {
			evMu.Lock()
			events = append(events, e.Type)
			evMu.Unlock()
		}
	})
	ctx := context.Background()
	h.mustSucceed(h.login(oauthlogintest.NewBrowser()))
	first, err := h.store.Identity(ctx, h.idp.URL, "user-1")
	if err != nil {
		t.Fatal(err)
	}
	w.reset()
	b := oauthlogintest.NewBrowser()
	h.mustSucceed(h.login(b))
	want := v8RefreshLock(h.idp.URL, "user-1", first.ID)
	if got := w.reset(); !slices.Equal(got, []string{want}) {
		t.Fatalf("a returning login locked %q, want only %q", got, want)
	}
	h.pastRefreshReuse()
	if resp := h.do(b, "POST", "/auth/refresh"); resp.StatusCode != http.StatusOK {
		t.Fatalf("refresh = %d", resp.StatusCode)
	}
	if got := w.reset(); !slices.Contains(got, want) {
		t.Fatalf("the refresh locked %q, not the login's %q", got, want)
	}

	// Unlinked and linked again as another record of another user.
	now := time.Now()
	if err := h.store.CreateIdentity(ctx, &oauthlogin.Identity{ID: "keep", UserID: first.UserID, Issuer: h.idp.URL, Provider: "test", ProviderUID: "user-keep", Created: now, Updated: now}); err != nil {
		t.Fatal(err)
	}
	if err := h.store.DeleteIdentity(ctx, first.UserID, first.ID); err != nil {
		t.Fatal(err)
	}
	if err := h.store.CreateIdentity(ctx, &oauthlogin.Identity{ID: "moved", UserID: "elsewhere", Issuer: h.idp.URL, Provider: "test", ProviderUID: "user-1", Created: now, Updated: now}); err != nil {
		t.Fatal(err)
	}
	evMu.Lock()
	events = nil
	evMu.Unlock()
	b = oauthlogintest.NewBrowser()
	h.mustSucceed(h.login(b))
	v, _ := h.session(b)
	if v["userId"] != "elsewhere" {
		t.Fatalf("after the relink the login signed in as %v, want elsewhere", v["userId"])
	}
	moved := v8RefreshLock(h.idp.URL, "user-1", "moved")
	if got := w.reset(); len(got) == 0 || got[len(got)-1] != moved {
		t.Fatalf("after the relink the login locked %q, want %q last", got, moved)
	}
	evMu.Lock()
	if !slices.Contains(events, oauthlogin.EventLogin) || slices.Contains(events, oauthlogin.EventSignUp) || slices.Contains(events, oauthlogin.EventLink) {
		t.Errorf("events after the relink: %q, want a login", events)
	}
	evMu.Unlock()
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.unheld) != 0 {
		t.Fatalf("identities written without their refresh lock: %q", w.unheld)
	}
}

// TestAttackV8GuessedLoginsRacingRelinks: logins of one account on two
// Managers sharing the store, while the account is unlinked and linked
// again as other records underneath them (as a third instance would), and
// its sessions refresh: every identity write happens under that identity's
// own refresh lock, no login ends in a 500, and each session belongs to
// the user the account's identity named.
func TestAttackV8GuessedLoginsRacingRelinks(t *testing.T) {
	var w *lockWatch
	h := newHarness(t, func(c *oauthlogin.Config) {
		w = newLockWatch(c.Store.(*oauthlogin.MemoryStore))
		c.Store = w
	})
	ctx := context.Background()
	h.mustSucceed(h.login(oauthlogintest.NewBrowser()))
	first, err := h.store.Identity(ctx, h.idp.URL, "user-1")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := h.store.CreateIdentity(ctx, &oauthlogin.Identity{ID: "keep", UserID: first.UserID, Issuer: h.idp.URL, Provider: "test", ProviderUID: "user-keep", Created: now, Updated: now}); err != nil {
		t.Fatal(err)
	}
	var relinker, logins sync.WaitGroup
	stop := make(chan struct{})
	relinker.Add(1)
	go func() { // the relinks
		defer relinker.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			cur, err := h.store.Identity(ctx, h.idp.URL, "user-1")
			if err != nil {
				continue
			}
			h.store.DeleteIdentity(ctx, cur.UserID, cur.ID)
			user := first.UserID
			if i%2 == 1 {
				user = "elsewhere"
			}
			h.store.CreateIdentity(ctx, &oauthlogin.Identity{ID: fmt.Sprintf("relinked-%d", i), UserID: user, Issuer: h.idp.URL, Provider: "test", ProviderUID: "user-1", Created: now, Updated: now})
		}
	}()
	var failMu sync.Mutex
	var fails []string
	statuses, outcomes := map[int]int{}, map[string]int{}
	for range 4 {
		logins.Add(1)
		go func() {
			defer logins.Done()
			for range 10 {
				b := oauthlogintest.NewBrowser()
				page := h.login(b)
				failMu.Lock()
				statuses[page.Status]++
				if page.URL != nil {
					outcomes[page.URL.Path+"?"+page.URL.RawQuery]++
				}
				failMu.Unlock()
				if page.Status >= 500 {
					failMu.Lock()
					fails = append(fails, fmt.Sprintf("login %d: %s", page.Status, page.Body))
					failMu.Unlock()
				}
				if resp := h.do(b, "POST", "/auth/refresh"); resp.StatusCode >= 500 {
					failMu.Lock()
					fails = append(fails, fmt.Sprintf("refresh %d", resp.StatusCode))
					failMu.Unlock()
				}
			}
		}()
	}
	logins.Wait()
	close(stop)
	relinker.Wait()
	t.Logf("login pages by status: %v, by outcome %v; %d refresh lock takes", statuses, outcomes, len(w.reset()))
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.unheld) != 0 {
		t.Errorf("identities written without their refresh lock: %q", w.unheld)
	}
	if len(fails) != 0 {
		t.Errorf("failures: %q", fails)
	}
}

// TestAttackV8LinkNeverTakesTheGuess: a link of an account this Manager
// remembers (it signed in before, as another user) reads the account
// first and refuses it, ErrIdentityConflict, without locking or writing
// its identity; after that identity is unlinked behind the Manager's back,
// the remembered guess is no way in for the link either: it joins the
// linking user as a new identity, reported as a link.
func TestAttackV8LinkNeverTakesTheGuess(t *testing.T) {
	var w *lockWatch
	var evMu sync.Mutex
	var events []oauthlogin.EventType
	h := newHarness(t, func(c *oauthlogin.Config) {
		w = newLockWatch(c.Store.(*oauthlogin.MemoryStore))
		c.Store = w
		c.Hooks.OnEvent = func(_ context.Context, e oauthlogin.Event) {
			evMu.Lock()
			events = append(events, e.Type)
			evMu.Unlock()
		}
	})
	h.register("other", providers.Config{})
	ctx := context.Background()
	h.idp.SetUser(oauthlogintest.User{Subject: "shared"})
	for range 2 { // the second login takes the guess path
		page, err := oauthlogintest.NewBrowser().Visit(ctx, h.beginURL("other"), nil)
		if err != nil {
			t.Fatal(err)
		}
		h.mustSucceed(page)
	}
	shared, err := h.store.Identity(ctx, h.idp.URL, "shared")
	if err != nil {
		t.Fatal(err)
	}
	h.idp.SetUser(oauthlogintest.User{Subject: "user-2"})
	b := oauthlogintest.NewBrowser()
	h.mustSucceed(h.login(b))
	sb, _ := h.session(b)
	h.idp.SetUser(oauthlogintest.User{Subject: "shared"})
	w.reset()
	before := shared.Updated
	h.mustFail(h.link(b, "other"), oauthlogin.ErrIdentityConflict.Code())
	for _, k := range w.reset() {
		if k == v8RefreshLock(h.idp.URL, "shared", shared.ID) {
			t.Errorf("a refused link locked the other user's identity")
		}
	}
	if cur, err := h.store.Identity(ctx, h.idp.URL, "shared"); err != nil || cur.UserID != shared.UserID || !cur.Updated.Equal(before) {
		t.Fatalf("a refused link touched the identity: %+v, %v", cur, err)
	}
	// Unlinked behind the Manager's back: the link adds it to user-2's user.
	now := time.Now()
	if err := h.store.CreateIdentity(ctx, &oauthlogin.Identity{ID: "keep", UserID: shared.UserID, Issuer: h.idp.URL, Provider: "test", ProviderUID: "user-keep", Created: now, Updated: now}); err != nil {
		t.Fatal(err)
	}
	if err := h.store.DeleteIdentity(ctx, shared.UserID, shared.ID); err != nil {
		t.Fatal(err)
	}
	evMu.Lock()
	events = nil
	evMu.Unlock()
	h.mustSucceed(h.link(b, "other"))
	cur, err := h.store.Identity(ctx, h.idp.URL, "shared")
	if err != nil || cur.UserID != sb["userId"] || cur.ID == shared.ID {
		t.Fatalf("after the unlink, the link made %+v, %v; want a new identity of %v", cur, err, sb["userId"])
	}
	evMu.Lock()
	defer evMu.Unlock()
	if !slices.Equal(events, []oauthlogin.EventType{oauthlogin.EventLink}) {
		t.Fatalf("events of the link: %q, want one link", events)
	}
}

// TestAttackV8StaleGuessLockBlocksLogin: a Manager's guess of an account's
// identity outlives the identity (unlinked, and the account linked again
// as another record, on another instance). While anything holds the old
// identity's lock (a refresh of it in flight at the unlink, a lock row a
// crashed instance or a lost attempt left), a returning login waits the
// lock's whole ttl for a lock that is not the account's, then fails with
// 503 and keeps the guess, though the account's identity is free: before
// the guess, the login locked the account's identity and succeeded.
//
// Fixed: a guess's lock is only tried; not free at once, the login reads
// the account and locks its own identity.
func TestAttackV8StaleGuessLockBlocksLogin(t *testing.T) {
	h := newHarness(t)
	oauthlogin.V8ScaleLocks(h.m)
	ctx := context.Background()
	h.mustSucceed(h.login(oauthlogintest.NewBrowser()))
	first, err := h.store.Identity(ctx, h.idp.URL, "user-1")
	if err != nil {
		t.Fatal(err)
	}
	// The old identity's lock, held (by an instance that crashed, say).
	if _, err := h.store.Lock(ctx, v8RefreshLock(h.idp.URL, "user-1", first.ID), time.Hour); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := h.store.CreateIdentity(ctx, &oauthlogin.Identity{ID: "keep", UserID: first.UserID, Issuer: h.idp.URL, Provider: "test", ProviderUID: "user-keep", Created: now, Updated: now}); err != nil {
		t.Fatal(err)
	}
	if err := h.store.DeleteIdentity(ctx, first.UserID, first.ID); err != nil {
		t.Fatal(err)
	}
	if err := h.store.CreateIdentity(ctx, &oauthlogin.Identity{ID: "moved", UserID: "elsewhere", Issuer: h.idp.URL, Provider: "test", ProviderUID: "user-1", Created: now, Updated: now}); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		b := oauthlogintest.NewBrowser()
		page := h.login(b)
		if v, status := h.session(b); status != http.StatusOK || v["userId"] != "elsewhere" {
			t.Fatalf("login %d with a stale guess whose lock is held: page %d %q, session %d %v; want a session of elsewhere",
				i, page.Status, page.URL, status, v)
		}
	}
}

// TestAttackV8LongSubjectNotRemembered: an account whose subject passes
// the bound of what a Manager remembers signs in again as the same
// identity and user, taking its identity's lock, every time.
func TestAttackV8LongSubjectNotRemembered(t *testing.T) {
	var w *lockWatch
	h := newHarness(t, func(c *oauthlogin.Config) {
		w = newLockWatch(c.Store.(*oauthlogin.MemoryStore))
		c.Store = w
	})
	sub := strings.Repeat("s", 600)
	h.idp.SetUser(oauthlogintest.User{Subject: sub})
	var users []any
	for range 3 {
		b := oauthlogintest.NewBrowser()
		h.mustSucceed(h.login(b))
		v, _ := h.session(b)
		users = append(users, v["userId"])
	}
	id, err := h.store.Identity(context.Background(), h.idp.URL, sub)
	if err != nil || users[0] != id.UserID || users[1] != id.UserID || users[2] != id.UserID {
		t.Fatalf("sessions of users %v, identity %+v (%v)", users, id, err)
	}
	if got := w.reset(); len(got) != 2 || got[0] != v8RefreshLock(h.idp.URL, sub, id.ID) || got[1] != got[0] {
		t.Fatalf("returning logins locked %d keys, want the identity's twice", len(got))
	}
}
