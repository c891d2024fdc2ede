package bench

import (
	"context"
	"runtime"
	"testing"

	"github.com/oauthlogin/oauthlogin"
)

// TestSessionMemory measures the heap that 100,000 sessions take in the
// MemoryStore: each of another user, with Google-sized sealed provider
// tokens and a browser's user agent, as a login stores them.
func TestSessionMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("measures 100,000 sessions")
	}
	const n = 100_000
	ctx := context.Background()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	store := oauthlogin.NewMemoryStore()
	for i := range n {
		if err := store.SaveSession(ctx, SampleSession(i)); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	inuse := int64(after.HeapInuse) - int64(before.HeapInuse)
	alloc := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("%d sessions in the MemoryStore: heap in use +%.1f MiB (%d B/session), live heap +%.1f MiB (%d B/session)",
		n, float64(inuse)/(1<<20), inuse/n, float64(alloc)/(1<<20), alloc/n)
	runtime.KeepAlive(store)
}
