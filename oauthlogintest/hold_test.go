package oauthlogintest_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/oauthlogin/oauthlogin/oauthlogintest"
)

// A held endpoint answers only after release, and entered tells when a
// request waits; a client that gives up is let go.
func TestHold(t *testing.T) {
	srv := oauthlogintest.NewServer()
	defer srv.Close()
	hold, entered, release := oauthlogintest.Hold()
	srv.Behave(oauthlogintest.Behavior{Intercept: map[string]func(http.Handler) http.Handler{"jwks": hold}})
	got := make(chan int, 1)
	go func() {
		resp, err := http.Get(srv.URL + "/jwks")
		if err != nil {
			got <- 0
			return
		}
		resp.Body.Close()
		got <- resp.StatusCode
	}()
	<-entered
	select {
	case code := <-got:
		t.Fatalf("answered %d before release", code)
	default:
	}
	release()
	if code := <-got; code != http.StatusOK {
		t.Fatalf("after release: %d, want 200", code)
	}

	hold, entered, _ = oauthlogintest.Hold()
	srv.Behave(oauthlogintest.Behavior{Intercept: map[string]func(http.Handler) http.Handler{"jwks": hold}})
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/jwks", nil)
	errc := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	<-entered
	cancel()
	if err := <-errc; err == nil {
		t.Fatal("a cancelled request to a held endpoint got an answer")
	}
}
