package redisstore

import "sync"

// maxCachedClaims bounds the claims a Store remembers, and
// maxCachedClaimBytes the size of one (account key and claim): accounts
// with longer names (a provider's sub may run to kilobytes) are not
// remembered. At most 16384 × 512 bytes, 8 MiB; typically ~200 bytes each.
const (
	maxCachedClaims     = 16384
	maxCachedClaimBytes = 512
)

// claimCache remembers the claim value last read for a provider account
// (its accountKey), so that Identity can read the claim, the record and
// the user's set in one round trip instead of two. A remembered claim is
// only a guess of which record to read: the claim is read in the same
// round trip, and unless it is still exactly the value remembered, the
// answer is thrown away and read again the long way. Nothing is trusted
// that the store did not answer in that round trip.
type claimCache struct {
	mu sync.Mutex
	m  map[string]string
}

func (c *claimCache) get(akey string) (string, bool) {
	c.mu.Lock()
	v, ok := c.m[akey]
	c.mu.Unlock()
	return v, ok
}

// put remembers claim for akey; when full, it forgets every claim first
// (the next reads of those accounts take the long way once). An account
// over maxCachedClaimBytes is not remembered.
func (c *claimCache) put(akey, claim string) {
	if len(akey)+len(claim) > maxCachedClaimBytes {
		return
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCachedClaims {
		c.m = make(map[string]string)
	}
	c.m[akey] = claim
	c.mu.Unlock()
}

func (c *claimCache) forget(akey string) {
	c.mu.Lock()
	delete(c.m, akey)
	c.mu.Unlock()
}
