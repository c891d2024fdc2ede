package oauthlogin

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// checkTimeout bounds Check within the caller's context.
const checkTimeout = 5 * time.Second

// checkKey is an issuer and subject no identity has.
const checkKey = "oauthlogin.check"

// Check reaches the Manager's store once, with a cheap read, and returns
// an error that names the store (its Go type) and wraps the store's own
// error, or ErrStoreUnavailable when the store did not answer within 5
// seconds (or ctx's deadline, if sooner). New does no I/O, so call Check
// when the app starts, to find a store that cannot be reached then rather
// than at the first login.
func (m *Manager) Check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, m.checkTimeout)
	defer cancel()
	done := make(chan error, 1) // a store that ignores ctx must not hold Check past its timeout
	go func() {
		_, err := m.store.Identity(ctx, checkKey, checkKey)
		if errors.Is(err, ErrNotFound) {
			err = nil
		}
		done <- err
	}()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if ctxErr := ctx.Err(); err != nil && ctxErr != nil && errors.Is(err, ctxErr) {
		return fmt.Errorf("oauthlogin: check: store %T did not answer in time: %w: %w", m.store, ErrStoreUnavailable, ctxErr)
	}
	if err != nil {
		return fmt.Errorf("oauthlogin: check: store %T: %w", m.store, err)
	}
	return nil
}
