package providers

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// TestClientsRefuseRedirects: the providers' clients, the default one and
// the copy made of a host's, follow no redirect (RFC 9700 §4.11): a 307
// fails with errRedirect and its target gets no request.
func TestClientsRefuseRedirects(t *testing.T) {
	var trapped atomic.Int32
	trap := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { trapped.Add(1) }))
	t.Cleanup(trap.Close)
	redirect := httptest.NewServer(http.RedirectHandler(trap.URL, http.StatusTemporaryRedirect))
	t.Cleanup(redirect.Close)
	host := &http.Client{}
	for name, c := range map[string]*http.Client{"Default": defaultClient(), "LimitedDefault": limited(defaultClient()), "LimitedHost": limited(host)} {
		resp, err := c.Get(redirect.URL)
		if err == nil {
			resp.Body.Close()
		}
		if !errors.Is(err, errRedirect) {
			t.Errorf("%s: %v, want errRedirect", name, err)
		}
	}
	if host.CheckRedirect != nil {
		t.Error("the host's client was changed")
	}
	if n := trapped.Load(); n != 0 {
		t.Fatalf("the redirect target got %d requests", n)
	}
}
