package oauthlogin

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"
)

// checkTimeout bounds Check within the caller's context.
const checkTimeout = 5 * time.Second

// Check reaches each of the Manager's stores once, with a cheap read, and
// returns the first failure: an error that names the store (its Go type)
// and wraps the store's own error, or ErrStoreUnavailable when the store
// did not answer within 5 seconds (or ctx's deadline, if sooner). New does
// no I/O, so call Check when the app starts, to find a store that cannot
// be reached then rather than at the first login.
func (m *Manager) Check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, m.checkTimeout)
	defer cancel()
	for _, p := range m.storeProbes() {
		done := make(chan error, 1) // a store that ignores ctx must not hold Check past its timeout
		go func() { done <- p.probe(ctx) }()
		var err error
		select {
		case err = <-done:
		case <-ctx.Done():
			err = ctx.Err()
		}
		if ctxErr := ctx.Err(); err != nil && ctxErr != nil && errors.Is(err, ctxErr) {
			return fmt.Errorf("oauthlogin: check: %s store %T did not answer in time: %w: %w", p.role, p.store, ErrStoreUnavailable, ctxErr)
		}
		if err != nil {
			return fmt.Errorf("oauthlogin: check: %s store %T: %w", p.role, p.store, err)
		}
	}
	return nil
}

// storeProbe is one store Check reaches, in one of its roles, and the cheap
// operation that reaches it: a read of a record that cannot exist (or,
// for a one-time store, a mark of a key no login uses).
type storeProbe struct {
	role  string
	store any
	probe func(context.Context) error
}

// checkKey is an id no session, identity or single-use key takes: theirs
// are base64url, without '.'.
const checkKey = "oauthlogin.check"

// storeProbes lists the stores Check reaches: each distinct value once, in
// its first role.
func (m *Manager) storeProbes() []storeProbe {
	all := []storeProbe{
		{"session", m.sessions, func(ctx context.Context) error {
			_, err := m.sessions.Session(ctx, checkKey)
			return notFoundIsFine(err)
		}},
		{"identity", m.identities, func(ctx context.Context) error {
			_, err := m.identities.Identity(ctx, checkKey, checkKey)
			return notFoundIsFine(err)
		}},
		{"one-time", m.once, func(ctx context.Context) error {
			err := m.once.Consume(ctx, checkKey+"."+randomToken(12), m.now().Add(time.Minute))
			if errors.Is(err, ErrAlreadyUsed) {
				return nil
			}
			return err
		}},
	}
	var probes []storeProbe
	for _, p := range all {
		if !containsStore(probes, p.store) {
			probes = append(probes, p)
		}
	}
	return probes
}

func notFoundIsFine(err error) error {
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// containsStore reports whether probes already reach store (the same
// value in another role).
func containsStore(probes []storeProbe, store any) bool {
	if !reflect.TypeOf(store).Comparable() {
		return false
	}
	for _, p := range probes {
		if reflect.TypeOf(p.store) == reflect.TypeOf(store) && p.store == store {
			return true
		}
	}
	return false
}
