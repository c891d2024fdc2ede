// Package recall is a bounded map of guesses: what a process saw last of
// a record (which identity an account signed in with, which claim a store
// read), for a later call to try first and check against the store, never
// to trust. Losing any of it costs a slower call, nothing else.
package recall

import "sync"

// Bounds: at most Entries keys, and no key whose key and value together
// exceed EntryBytes (a provider's subject may run to kilobytes), so a Map
// holds at most 8 MiB; typical entries are 150 to 200 bytes.
const (
	Entries    = 16384
	EntryBytes = 512
)

// Map is a bounded string map safe for concurrent use. The zero value is
// empty and ready.
type Map struct {
	mu sync.Mutex
	m  map[string]string
}

// Get returns what was put for key, if it is still held.
func (r *Map) Get(key string) (string, bool) {
	r.mu.Lock()
	v, ok := r.m[key]
	r.mu.Unlock()
	return v, ok
}

// Put holds v for key, unless together they exceed EntryBytes. A full Map
// forgets every key first.
func (r *Map) Put(key, v string) {
	if len(key)+len(v) > EntryBytes {
		return
	}
	r.mu.Lock()
	if r.m == nil || len(r.m) >= Entries {
		r.m = make(map[string]string)
	}
	r.m[key] = v
	r.mu.Unlock()
}

// Forget drops key.
func (r *Map) Forget(key string) {
	r.mu.Lock()
	delete(r.m, key)
	r.mu.Unlock()
}

// Held reports how many keys the Map holds and their bytes with their
// values, for tests of the bounds.
func (r *Map) Held() (keys, bytes int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, v := range r.m {
		bytes += len(k) + len(v)
	}
	return len(r.m), bytes
}
