package oauthlogin_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/oauthlogin/oauthlogin"
)

// blockingStore holds the first Identity read until release, and records
// whether its context was already done when released.
// The first read is found by a flag, not by whether the test is waiting on
// entered (buffered): the read may come before the test waits.
type blockingStore struct {
	*oauthlogin.MemoryStore
	entered, release chan struct{}
	seen             chan error
	held             atomic.Bool
}

func (s *blockingStore) Identity(ctx context.Context, issuer, subject string) (*oauthlogin.Identity, error) {
	if s.held.CompareAndSwap(false, true) {
		s.entered <- struct{}{}
		<-s.release
		s.seen <- ctx.Err()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	return s.MemoryStore.Identity(ctx, issuer, subject)
}

// Check's shared probe runs on a context of its own: the first caller
// giving up (its request cancelled) neither ends the probe for the others
// nor makes it answer them "canceled".
func TestAttackV2CheckFirstCallerCancelDoesNotCancelProbe(t *testing.T) {
	st := &blockingStore{MemoryStore: oauthlogin.NewMemoryStore(), entered: make(chan struct{}, 1), release: make(chan struct{}), seen: make(chan error, 1)}
	m, err := oauthlogin.New(oauthlogin.Config{BaseURL: "https://app.example", Keys: oauthlogin.Keys{Cookie: []oauthlogin.CookieKey{oauthlogin.GenerateCookieKey()}}, Store: st})
	if err != nil {
		t.Fatal(err)
	}
	ctx1, cancel1 := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() { first <- m.Check(ctx1) }()
	<-st.entered
	second := make(chan error, 1)
	go func() { second <- m.Check(context.Background()) }()
	cancel1()
	if err := <-first; !errors.Is(err, context.Canceled) {
		t.Fatalf("the cancelled caller's Check = %v, want context.Canceled", err)
	}
	close(st.release)
	if err := <-st.seen; err != nil {
		t.Fatalf("the shared probe's context ended with its first caller: %v", err)
	}
	if err := <-second; err != nil {
		t.Fatalf("the other caller's Check = %v", err)
	}
	// A later Check probes afresh and succeeds (no stale shared result).
	if err := m.Check(context.Background()); err != nil {
		t.Fatalf("a later Check = %v", err)
	}
}
