package recall

import (
	"strings"
	"testing"
)

// TestMapBounded: a key over EntryBytes with its value is not held, and a
// full Map starts over rather than grow past Entries.
func TestMapBounded(t *testing.T) {
	var r Map
	long := strings.Repeat("s", EntryBytes)
	r.Put(long, "v")
	if _, ok := r.Get(long); ok {
		t.Error("an entry over EntryBytes was held")
	}
	r.Put("k", "v")
	if v, ok := r.Get("k"); !ok || v != "v" {
		t.Fatalf("Get(k) = %q, %v", v, ok)
	}
	r.Forget("k")
	if _, ok := r.Get("k"); ok {
		t.Error("a forgotten key is still held")
	}
	for i := range Entries + 10 {
		r.Put(strings.Repeat("a", i%400)+string(rune(i)), "v")
	}
	if n, b := r.Held(); n > Entries || b > Entries*EntryBytes {
		t.Errorf("%d keys, %d bytes held; bounds %d and %d", n, b, Entries, Entries*EntryBytes)
	}
}
