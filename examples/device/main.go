// Command device signs in from a terminal with the device authorization
// grant (RFC 8628), through an app that mounts oauthlogin (such as
// examples/server):
//
//	go run ./examples/device -server http://localhost:8080 -provider demo
//
// It asks the app for a code, shows where to enter it, polls until the
// user approves on another device (honouring the interval and slow_down,
// and polling each time with the handle the previous answer carried),
// then shows the session that the bearer token it got opens.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, time.After); err != nil {
		fmt.Fprintln(os.Stderr, "device:", err)
		os.Exit(1)
	}
}

// run signs in and prints what happens; after is the clock it waits with.
func run(ctx context.Context, args []string, out io.Writer, after func(time.Duration) <-chan time.Time) error {
	fs := flag.NewFlagSet("device", flag.ContinueOnError)
	fs.SetOutput(out)
	server := fs.String("server", "http://localhost:8080", "the app's base URL")
	provider := fs.String("provider", "demo", "provider to sign in with")
	prefix := fs.String("prefix", "/auth/", "where the app mounts oauthlogin")
	if err := fs.Parse(args); err != nil {
		return err
	}
	base := strings.TrimSuffix(*server, "/") + *prefix
	client := &http.Client{Timeout: 30 * time.Second}

	var start struct {
		UserCode                string `json:"user_code"`
		VerificationURI         string `json:"verification_uri"`
		VerificationURIComplete string `json:"verification_uri_complete"`
		ExpiresIn               int    `json:"expires_in"`
		Interval                int    `json:"interval"`
		Handle                  string `json:"handle"`
		Error                   string `json:"error"`
	}
	if status, err := post(ctx, client, base+url.PathEscape(*provider)+"/device", nil, &start); err != nil {
		return err
	} else if status != http.StatusOK {
		return fmt.Errorf("starting: %d %s", status, start.Error)
	}
	fmt.Fprintf(out, "To sign in, open %s and enter the code %s\n", start.VerificationURI, start.UserCode)
	if start.VerificationURIComplete != "" {
		fmt.Fprintf(out, "(or open %s)\n", start.VerificationURIComplete)
	}
	fmt.Fprintf(out, "The code expires in %d seconds. Waiting", start.ExpiresIn)

	interval := time.Duration(start.Interval) * time.Second
	if interval <= 0 {
		interval = 5 * time.Second
	}
	handle := start.Handle
	for {
		select {
		case <-after(interval):
		case <-ctx.Done():
			fmt.Fprintln(out)
			return ctx.Err()
		}
		var poll struct {
			Error       string `json:"error"`
			Interval    int    `json:"interval"`
			Handle      string `json:"handle"`
			Secret      string `json:"secret"`
			UserID      string `json:"userId"`
			Provider    string `json:"provider"`
			ProviderUID string `json:"providerUid"`
		}
		status, err := post(ctx, client, base+"device/token", url.Values{"handle": {handle}}, &poll)
		if err != nil {
			return err
		}
		if poll.Handle != "" {
			// Each handle polls once: the app answers with the next one.
			handle = poll.Handle
		}
		switch {
		case status == http.StatusCreated:
			fmt.Fprintf(out, "\nSigned in: user %s, %s account %s.\n", poll.UserID, poll.Provider, poll.ProviderUID)
			return showSession(ctx, client, base, poll.Secret, out)
		case poll.Error == "authorization_pending":
			fmt.Fprint(out, ".")
		case poll.Error == "slow_down":
			interval += 5 * time.Second // RFC 8628 §3.5, for every later poll
			if poll.Interval > 0 {
				interval = time.Duration(poll.Interval) * time.Second // the app's count
			}
			fmt.Fprint(out, "s")
		case poll.Error == "access_denied":
			fmt.Fprintln(out)
			return errors.New("the sign-in was denied")
		case poll.Error == "expired_token":
			fmt.Fprintln(out)
			return errors.New("the code expired before it was entered")
		case status == http.StatusServiceUnavailable:
			fmt.Fprint(out, "?") // the provider is slow: keep polling
		default:
			fmt.Fprintln(out)
			return fmt.Errorf("polling: %d %s", status, poll.Error)
		}
	}
}

// showSession reads the session back with the bearer token.
func showSession(ctx context.Context, client *http.Client, base, token string, out io.Writer) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"session", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var s struct {
		ID                        string `json:"id"`
		ProviderAccessTokenExpiry string `json:"providerAccessTokenExpiry"`
		Expire                    string `json:"expire"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil || resp.StatusCode != http.StatusOK {
		return fmt.Errorf("reading the session back: %d", resp.StatusCode)
	}
	fmt.Fprintf(out, "Session %s, valid until %s; provider token expires %s.\n", s.ID, s.Expire, s.ProviderAccessTokenExpiry)
	fmt.Fprintln(out, "Use it as: Authorization: Bearer <token> (kept out of this output).")
	return nil
}

// post sends a form and decodes the JSON answer.
func post(ctx context.Context, client *http.Client, u string, form url.Values, v any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(v); err != nil {
		return resp.StatusCode, fmt.Errorf("%s answered %d without JSON", u, resp.StatusCode)
	}
	return resp.StatusCode, nil
}
