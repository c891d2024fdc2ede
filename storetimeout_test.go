package oauthlogin_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
)

// stallingStore is the harness's store with one method that, while
// stalled, waits for its context to end and answers with its error, as a
// store that cannot reach its server does; it records how long each
// stalled call's context had left.
type stallingStore struct {
	oauthlogin.Store
	mu    sync.Mutex
	stall string          // the method that waits, "" for none
	left  []time.Duration // each stalled call's time left; -1: no deadline (failed at once)
}

func (s *stallingStore) set(method string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stall = method
}

func (s *stallingStore) wait(ctx context.Context, method string) (bool, error) {
	s.mu.Lock()
	if s.stall != method {
		s.mu.Unlock()
		return false, nil
	}
	dl, ok := ctx.Deadline()
	if !ok {
		// Unbounded: this call would wait for ever. Fail it now.
		s.left = append(s.left, -1)
		s.mu.Unlock()
		return true, errors.New("stalled without a deadline")
	}
	s.left = append(s.left, time.Until(dl))
	s.mu.Unlock()
	<-ctx.Done()
	return true, ctx.Err()
}

func (s *stallingStore) Session(ctx context.Context, id string) (*oauthlogin.Session, error) {
	if stalled, err := s.wait(ctx, "Session"); stalled {
		return nil, err
	}
	return s.Store.Session(ctx, id)
}

func (s *stallingStore) Identity(ctx context.Context, issuer, subject string) (*oauthlogin.Identity, error) {
	if stalled, err := s.wait(ctx, "Identity"); stalled {
		return nil, err
	}
	return s.Store.Identity(ctx, issuer, subject)
}

// checkStalled checks that the store saw stalled calls, each under a
// deadline within timeout.
func (s *stallingStore) checkStalled(t *testing.T, timeout time.Duration) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.left) == 0 {
		t.Fatalf("no call reached the stalled %s", s.stall)
	}
	for _, left := range s.left {
		if left <= 0 || left > timeout {
			t.Fatalf("a stalled %s had %v left, want a deadline within StoreTimeout %v", s.stall, left, timeout)
		}
	}
}

func newStallingHarness(t *testing.T, timeout time.Duration) (*harness, *stallingStore) {
	st := &stallingStore{}
	h := newHarness(t, func(c *oauthlogin.Config) {
		st.Store = c.Store
		c.Store, c.StoreTimeout = st, timeout
	})
	return h, st
}

// mustBeUnavailable checks for 503 store_unavailable with Retry-After.
func mustBeUnavailable(t *testing.T, what string, resp *http.Response) {
	t.Helper()
	var v map[string]any
	decode(t, resp, &v)
	if resp.StatusCode != http.StatusServiceUnavailable || v["error"] != oauthlogin.ErrStoreUnavailable.Code() || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("%s with the store stalled = %d %v (Retry-After %q), want 503 store_unavailable with Retry-After",
			what, resp.StatusCode, v, resp.Header.Get("Retry-After"))
	}
}

// A store that does not answer fails the request with 503
// store_unavailable and Retry-After once Config.StoreTimeout passes,
// never a 500, and the store's call ran under that deadline.
func TestStoreTimeoutAnswersUnavailable(t *testing.T) {
	const timeout = 20 * time.Millisecond
	h, st := newStallingHarness(t, timeout)
	b := oauthlogintest.NewBrowser()
	h.mustSucceed(h.login(b))

	st.set("Session")
	mustBeUnavailable(t, "GET /auth/session", h.do(b, "GET", "/auth/session"))
	st.checkStalled(t, timeout)

	st.set("")
	if _, status := h.session(b); status != http.StatusOK {
		t.Fatalf("GET /auth/session once the store answers = %d, want 200", status)
	}
}

// The refresh runs detached from its request (other requests share it),
// yet each of its store calls is bounded too: a store that does not
// answer ends it with 503 store_unavailable, and the lock it took is
// released, so that the next refresh goes through.
func TestStoreTimeoutBoundsDetachedRefresh(t *testing.T) {
	const timeout = 20 * time.Millisecond
	h, st := newStallingHarness(t, timeout)
	b := oauthlogintest.NewBrowser()
	h.mustSucceed(h.login(b))

	st.set("Identity")
	mustBeUnavailable(t, "POST /auth/refresh", h.do(b, "POST", "/auth/refresh"))
	st.checkStalled(t, timeout)

	st.set("")
	if resp := h.do(b, "POST", "/auth/refresh"); resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /auth/refresh once the store answers = %d, want 200", resp.StatusCode)
	}
}

// BenchmarkAuthenticatedTimedStore is BenchmarkAuthenticated over a store
// that is not the memory store, so that its one lookup runs bounded by
// Config.StoreTimeout: the cost of the bound (context.WithTimeout) on
// the hot path of a server store.
func BenchmarkAuthenticatedTimedStore(b *testing.B) {
	h := newHarness(b, func(c *oauthlogin.Config) { c.Store = struct{ oauthlogin.Store }{c.Store} })
	handler := h.m.RequireSession(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	benchSignedIn(b, handler, signedInRequest(b, h, "GET", "/private"))
}
