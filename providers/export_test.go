package providers

import "time"

// RefetchWindow is refetchWindow, for the tests of the key cache.
const RefetchWindow = refetchWindow

// SetNow sets the clock of p and of its key cache.
func SetNow(p *OIDCProvider, now func() time.Time) {
	p.now = now
	p.keys.mu.Lock()
	p.keys.now = now
	p.keys.mu.Unlock()
}
