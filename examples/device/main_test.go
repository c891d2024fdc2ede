package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// stubApp answers the device routes of an oauthlogin app from a script.
// As the app does, it takes each handle once and answers with the next.
func stubApp(t *testing.T, polls ...string) *httptest.Server {
	var mu sync.Mutex
	handle, interval := 0, 5
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/auth/demo/device":
			io.WriteString(w, `{"user_code":"ABCD-EFGH","verification_uri":"https://idp.example/device","expires_in":600,"interval":5,"handle":"h0"}`)
		case "/auth/device/token":
			r.ParseForm()
			mu.Lock()
			defer mu.Unlock()
			if r.PostForm.Get("handle") != "h"+strconv.Itoa(handle) {
				w.WriteHeader(http.StatusBadRequest)
				io.WriteString(w, `{"error":"invalid_handle"}`)
				return
			}
			handle++
			if len(polls) > 0 {
				e := polls[0]
				polls = polls[1:]
				if e == "slow_down" {
					interval += 5
				}
				w.WriteHeader(http.StatusBadRequest)
				fmt.Fprintf(w, `{"error":%q,"handle":"h%d","interval":%d}`, e, handle, interval)
				return
			}
			w.WriteHeader(http.StatusCreated)
			io.WriteString(w, `{"secret":"tok-3f9a2c","userId":"u1","provider":"demo","providerUid":"ada"}`)
		case "/auth/session":
			if r.Header.Get("Authorization") != "Bearer tok-3f9a2c" {
				w.WriteHeader(http.StatusUnauthorized)
				io.WriteString(w, `{"error":"no_session"}`)
				return
			}
			io.WriteString(w, `{"id":"s1","expire":"2026-12-23T00:00:00Z","providerAccessTokenExpiry":"2026-11-23T13:00:00Z"}`)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// waits records the intervals the CLI waits, ending each at once.
type waits struct {
	mu   sync.Mutex
	list []time.Duration
}

func (w *waits) after(d time.Duration) <-chan time.Time {
	w.mu.Lock()
	w.list = append(w.list, d)
	w.mu.Unlock()
	ch := make(chan time.Time, 1)
	ch <- time.Time{}
	return ch
}

func TestDeviceCLI(t *testing.T) {
	srv := stubApp(t, "authorization_pending", "slow_down", "authorization_pending")
	var out bytes.Buffer
	var w waits
	if err := run(context.Background(), []string{"-server", srv.URL}, &out, w.after); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	for _, want := range []string{"open https://idp.example/device and enter the code ABCD-EFGH", "Signed in: user u1, demo account ada.", "Session s1"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "tok-3f9a2c") {
		t.Error("the bearer token was printed")
	}
	want := []time.Duration{5 * time.Second, 5 * time.Second, 10 * time.Second, 10 * time.Second}
	if len(w.list) != len(want) {
		t.Fatalf("waits %v, want %v", w.list, want)
	}
	for i := range want {
		if w.list[i] != want[i] {
			t.Fatalf("waits %v, want %v", w.list, want)
		}
	}
}

func TestDeviceCLIEnds(t *testing.T) {
	for answer, want := range map[string]string{"access_denied": "denied", "expired_token": "expired"} {
		srv := stubApp(t, "authorization_pending", answer)
		var w waits
		err := run(context.Background(), []string{"-server", srv.URL}, io.Discard, w.after)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: run = %v", answer, err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	block := func(time.Duration) <-chan time.Time { return nil }
	if err := run(ctx, []string{"-server", stubApp(t).URL}, io.Discard, block); err == nil {
		t.Error("run went on with a cancelled context")
	}
}
