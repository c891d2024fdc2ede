package testapp

import (
	"encoding/json"
	"io"
	"net/http"

	"github.com/oauthlogin/oauthlogin/oauthlogintest"
)

// Answer is a response read to the end.
type Answer struct {
	Status int
	Body   map[string]any // the JSON body; nil when it is not a JSON object
	Err    error          // the request could not be made
}

// WithSession sends method url through client as the app's own pages
// would (Sec-Fetch-Site: same-origin), with the session cookie
// cookieName=token unless token is empty, and reads the answer to the end.
// It reports failures in the Answer, so that goroutines other than the
// test's can use it.
func WithSession(client *http.Client, method, url, cookieName, token string) Answer {
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		return Answer{Err: err}
	}
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if token != "" {
		req.AddCookie(&http.Cookie{Name: cookieName, Value: token})
	}
	resp, err := client.Do(req)
	if err != nil {
		return Answer{Err: err}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var v map[string]any
	if json.Unmarshal(raw, &v) != nil {
		v = nil
	}
	return Answer{Status: resp.StatusCode, Body: v}
}

// Send is WithSession off the caller's goroutine: the answer comes on the
// channel.
func Send(client *http.Client, method, url, cookieName, token string) <-chan Answer {
	out := make(chan Answer, 1)
	go func() { out <- WithSession(client, method, url, cookieName, token) }()
	return out
}

// HoldToken makes idp's token endpoint wait until release is called (or
// the client gives up); entered receives once a request waits.
func HoldToken(idp *oauthlogintest.Server) (entered <-chan struct{}, release func()) {
	hold, entered, release := oauthlogintest.Hold()
	idp.Behave(oauthlogintest.Behavior{Intercept: map[string]func(http.Handler) http.Handler{"token": hold}})
	return entered, release
}
