package providers

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestLimitedBodies(t *testing.T) {
	sizes := map[string]int{"/exact": maxBody, "/over": maxBody + 1, "/huge": 100 * maxBody}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := sizes[r.URL.Path]
		chunk := []byte(strings.Repeat("x", 64<<10))
		for n > 0 {
			k := min(n, len(chunk))
			if _, err := w.Write(chunk[:k]); err != nil {
				return // the client hung up
			}
			n -= k
		}
	}))
	t.Cleanup(srv.Close)
	c := limited(srv.Client())
	if limited(c) != c {
		t.Fatal("limited wrapped an already limited client again")
	}
	for path, wantErr := range map[string]bool{"/exact": false, "/over": true, "/huge": true} {
		resp, err := c.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if wantErr != errors.Is(err, errBodyTooLarge) || len(body) > maxBody {
			t.Errorf("%s: read %d bytes, err %v", path, len(body), err)
		}
	}
}

// A discovery document past the bound is refused, not read whole.
func TestOIDCRefusesHugeDiscovery(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"issuer":"`+strings.Repeat("a", 2*maxBody)+`"}`)
	}))
	t.Cleanup(srv.Close)
	_, err := OIDC(context.Background(), "big", srv.URL, Config{ClientID: "c", HTTPClient: srv.Client()})
	if err == nil || !strings.Contains(err.Error(), "larger than 1 MiB") {
		t.Fatalf("OIDC with a 2 MiB discovery document: %v", err)
	}
}
