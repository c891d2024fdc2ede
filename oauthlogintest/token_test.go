package oauthlogintest_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/oauthlogin/oauthlogin/internal/testapp"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
)

func TestTokenStatus(t *testing.T) {
	t.Parallel()
	idp := testapp.NewIdP(t)
	idp.Behave(oauthlogintest.Behavior{TokenStatus: http.StatusInternalServerError})
	cfg := clientConfig(idp)
	cfg.Endpoint.AuthStyle = oauth2.AuthStyleInHeader
	_, err := cfg.Exchange(t.Context(), authorize(t, cfg.AuthCodeURL("s")).Get("code"))
	var rerr *oauth2.RetrieveError
	if !errors.As(err, &rerr) || rerr.Response.StatusCode != http.StatusInternalServerError || rerr.ErrorCode != "server_error" {
		t.Errorf("err = %v", err)
	}

	// Back to honest: the code was never spent.
	idp.Behave(oauthlogintest.Behavior{})
	login(t, cfg)
}

func TestTokenError(t *testing.T) {
	t.Parallel()
	idp := testapp.NewIdP(t)
	idp.Behave(oauthlogintest.Behavior{TokenError: "slow_down"})
	cfg := clientConfig(idp)
	cfg.Endpoint.AuthStyle = oauth2.AuthStyleInHeader
	_, err := cfg.Exchange(t.Context(), authorize(t, cfg.AuthCodeURL("s")).Get("code"))
	var rerr *oauth2.RetrieveError
	if !errors.As(err, &rerr) || rerr.Response.StatusCode != http.StatusBadRequest || rerr.ErrorCode != "slow_down" {
		t.Errorf("err = %v", err)
	}
}

func TestTokenDelayAnswersLate(t *testing.T) {
	t.Parallel()
	idp := testapp.NewIdP(t)
	idp.Behave(oauthlogintest.Behavior{TokenDelay: 20 * time.Millisecond})
	start := time.Now()
	login(t, clientConfig(idp))
	if d := time.Since(start); d < 20*time.Millisecond {
		t.Errorf("login took %v, less than the delay", d)
	}
}

func TestTokenDelayHonorsClientCancellation(t *testing.T) {
	t.Parallel()
	idp := oauthlogintest.NewServer()
	idp.Behave(oauthlogintest.Behavior{TokenDelay: time.Hour})
	cfg := clientConfig(idp)
	cfg.Endpoint.AuthStyle = oauth2.AuthStyleInHeader
	code := authorize(t, cfg.AuthCodeURL("s")).Get("code")

	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err := cfg.Exchange(ctx, code)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the deadline", err)
	}
	if idp.Hits("token") != 1 {
		t.Errorf("token hits = %d, want 1", idp.Hits("token"))
	}
	// Close waits for running handlers: it returns at once only if the
	// delayed handler gave up when the client went away.
	closed := make(chan struct{})
	go func() {
		idp.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("the token handler kept waiting after the client gave up")
	}
}
