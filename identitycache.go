package oauthlogin

import "sync"

// maxKnownIdentities bounds the accounts a Manager remembers, and
// maxKnownIdentityBytes the size of one (issuer, subject and identity ID):
// accounts with longer names (a provider's sub may run to kilobytes) are
// not remembered. At most 16384 × 512 bytes, 8 MiB; typically ~150 bytes.
const (
	maxKnownIdentities    = 16384
	maxKnownIdentityBytes = 512
)

// knownIdentities remembers, per provider account (issuer NUL subject),
// the identity record this Manager last saw it sign in with, so that a
// returning login locks that identity and reads it once, under the lock,
// instead of reading it first to learn which lock to take. It is a guess:
// the read under the lock decides, and a wrong guess (the account
// unlinked, or linked again as another record, by any instance) is
// forgotten and the account read again (signIn, errGuessedWrong).
type knownIdentities struct {
	mu sync.Mutex
	m  map[string]string
}

func (k *knownIdentities) get(account string) (string, bool) {
	k.mu.Lock()
	id, ok := k.m[account]
	k.mu.Unlock()
	return id, ok
}

// put remembers id for account; when full, it forgets every account first.
// An account over maxKnownIdentityBytes is not remembered.
func (k *knownIdentities) put(account, id string) {
	if len(account)+len(id) > maxKnownIdentityBytes {
		return
	}
	k.mu.Lock()
	if k.m == nil || len(k.m) >= maxKnownIdentities {
		k.m = make(map[string]string)
	}
	k.m[account] = id
	k.mu.Unlock()
}

func (k *knownIdentities) forget(account string) {
	k.mu.Lock()
	delete(k.m, account)
	k.mu.Unlock()
}
