package oauthlogintest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
)

// maxRedirects bounds the redirects one Visit follows, as browsers do.
const maxRedirects = 20

// maxBody bounds the response body a Visit reads.
const maxBody = 10 << 20

// Browser is an HTTP client with a cookie jar that follows redirects the
// way a browser would, until it reaches a response that is not a redirect
// or a redirect target the caller wants to stop at. Use it to drive a login
// through a host app and a [Server] in tests.
type Browser struct {
	// Client sends the requests and keeps the cookies in its Jar. Visit
	// follows redirects itself, whatever Client.CheckRedirect says. A nil
	// Client is a zero http.Client, without cookies.
	Client *http.Client
}

// NewBrowser returns a Browser with an empty cookie jar and a transport of
// its own that keeps no idle connections. It does not use
// http.DefaultTransport because httptest.Server.Close closes that
// transport's idle connections, which can break a request another
// parallel test has just started ("http: CloseIdleConnections called");
// and it keeps no idle connections so that a finished test leaves no
// connection goroutines behind.
func NewBrowser() *Browser {
	jar, err := cookiejar.New(nil)
	if err != nil { // cookiejar.New never fails without options
		panic(fmt.Sprintf("oauthlogintest: creating cookie jar: %v", err))
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DisableKeepAlives = true
	return &Browser{Client: &http.Client{Jar: jar, Transport: tr}}
}

// Page is the response a Visit ended at.
type Page struct {
	URL      *url.URL    // the URL of the final response
	Status   int         // its status code
	Header   http.Header // its header
	Body     []byte      // its body, read and closed
	Visited  []*url.URL  // every URL requested, in order; the last is URL
	Location *url.URL    // the redirect target, when the Visit stopped at a redirect
}

// Visit GETs rawURL and follows redirects, carrying cookies, until a
// response is not a redirect or its target satisfies stop (stop may be
// nil). Redirects to schemes other than http and https, such as a native
// app's custom scheme, are never followed. The stopping target is not
// requested; it is in Page.Location.
func (b *Browser) Visit(ctx context.Context, rawURL string, stop func(*url.URL) bool) (*Page, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("oauthlogintest: visit: %w", err)
	}
	var client http.Client
	if b.Client != nil {
		client = *b.Client
	}
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	var visited []*url.URL
	for range maxRedirects + 1 {
		visited = append(visited, u)
		page, err := get(ctx, &client, u)
		if err != nil {
			return nil, err
		}
		page.Visited = visited
		next := page.Location
		if next == nil || (stop != nil && stop(next)) || (next.Scheme != "http" && next.Scheme != "https") {
			return page, nil
		}
		u = next
	}
	return nil, fmt.Errorf("oauthlogintest: visit %s: more than %d redirects", rawURL, maxRedirects)
}

// get requests u once and reads the whole response.
func get(ctx context.Context, client *http.Client, u *url.URL) (*Page, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("oauthlogintest: visit: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("oauthlogintest: visit: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("oauthlogintest: visit %s: reading body: %w", u, err)
	}
	page := &Page{URL: u, Status: resp.StatusCode, Header: resp.Header, Body: body}
	if isRedirect(resp.StatusCode) {
		if loc, err := resp.Location(); err == nil {
			page.Location = loc
		}
	}
	return page, nil
}

// isRedirect reports whether a status makes browsers follow Location.
func isRedirect(status int) bool {
	switch status {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return true
	}
	return false
}
