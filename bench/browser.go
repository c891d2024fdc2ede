package bench

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Browser is the driver: it makes a login's three requests (begin, the
// provider's authorization endpoint, the callback) the way a browser does,
// carrying every cookie the app set, and follows no redirect by itself.
// Each login starts with an empty cookie jar: a new visitor.
type Browser struct {
	client *http.Client
	jar    []*http.Cookie
	// SetCookieBytes counts the Set-Cookie header bytes received.
	SetCookieBytes int
}

// NewBrowserClient returns the HTTP client browsers share: keep-alive to
// loopback, no redirects followed.
func NewBrowserClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: 256, IdleConnTimeout: time.Minute},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
		Timeout: 30 * time.Second,
	}
}

// NewBrowser returns a browser with an empty jar.
func NewBrowser(c *http.Client) *Browser { return &Browser{client: c} }

// Reset empties the jar and the counters.
func (b *Browser) Reset() {
	clear(b.jar)
	b.jar = b.jar[:0]
	b.SetCookieBytes = 0
}

// Cookie returns the value of a cookie in the jar.
func (b *Browser) Cookie(name string) (string, bool) {
	for _, c := range b.jar {
		if c.Name == name {
			return c.Value, true
		}
	}
	return "", false
}

// Cookies returns the jar.
func (b *Browser) Cookies() []*http.Cookie { return b.jar }

// Get requests u with the jar's cookies and returns the status and the
// Location header. Cookies the response sets are stored.
func (b *Browser) Get(u string) (int, string, error) {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return 0, "", err
	}
	if c := b.cookieHeader(req.URL); c != "" {
		req.Header.Set("Cookie", c)
	}
	req.Header.Set("User-Agent", "bench-browser/1.0")
	resp, err := b.client.Do(req)
	if err != nil {
		return 0, "", err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	for _, line := range resp.Header["Set-Cookie"] {
		b.SetCookieBytes += len(line)
		c, err := http.ParseSetCookie(line)
		if err != nil {
			return 0, "", fmt.Errorf("bench: bad Set-Cookie %q: %w", line, err)
		}
		b.store(c)
	}
	return resp.StatusCode, resp.Header.Get("Location"), nil
}

// cookieHeader joins the cookies whose path covers u's. The apps run on
// loopback ports of one host, and a browser scopes cookies by host, not
// port: each login uses one app, so the jar needs no domain.
func (b *Browser) cookieHeader(u *url.URL) string {
	var sb strings.Builder
	for _, c := range b.jar {
		p := c.Path
		if p == "" {
			p = "/"
		}
		if !strings.HasPrefix(u.Path, p) {
			continue
		}
		if sb.Len() > 0 {
			sb.WriteString("; ")
		}
		sb.WriteString(c.Name)
		sb.WriteByte('=')
		sb.WriteString(c.Value)
	}
	return sb.String()
}

func (b *Browser) store(c *http.Cookie) {
	gone := c.MaxAge < 0 || (!c.Expires.IsZero() && c.Expires.Before(time.Now()))
	for i, old := range b.jar {
		if old.Name == c.Name && old.Path == c.Path {
			if gone {
				b.jar = append(b.jar[:i], b.jar[i+1:]...)
			} else {
				b.jar[i] = c
			}
			return
		}
	}
	if !gone {
		b.jar = append(b.jar, c)
	}
}

// Begin makes the begin request and returns the authorization URL it
// redirects to.
func (b *Browser) Begin(app *App) (string, error) {
	status, loc, err := b.Get(app.BeginURL)
	if err != nil {
		return "", err
	}
	if status < 300 || status > 399 || !strings.HasPrefix(loc, app.fakeURL) {
		return "", fmt.Errorf("bench: %s begin: status %d, Location %q", app.Name, status, loc)
	}
	return loc, nil
}

// Finish makes the provider hop and the callback, and reports whether the
// app sent the browser to its success URL.
func (b *Browser) Finish(app *App, authorizeURL string) (bool, error) {
	status, cb, err := b.Get(authorizeURL)
	if err != nil {
		return false, err
	}
	if status != http.StatusFound || !strings.HasPrefix(cb, app.URL) {
		return false, fmt.Errorf("bench: %s authorize: status %d, Location %q", app.Name, status, cb)
	}
	status, loc, err := b.Get(cb)
	if err != nil {
		return false, err
	}
	if (status == http.StatusFound || status == http.StatusSeeOther) && loc == app.SuccessURL {
		if _, ok := b.Cookie(app.SessionCookie); !ok {
			return false, fmt.Errorf("bench: %s: success without a %s cookie", app.Name, app.SessionCookie)
		}
		return true, nil
	}
	return false, nil
}

// ErrRefused is a login the app did not complete.
var ErrRefused = errors.New("bench: login refused")

// Login makes a whole login, presigning the provider's tokens between
// begin and the provider hop (as the benchmarks do, outside the timer).
func (b *Browser) Login(app *App, f *Fake) error {
	auth, err := b.Begin(app)
	if err != nil {
		return err
	}
	if err := f.PresignFor(auth); err != nil {
		return err
	}
	ok, err := b.Finish(app, auth)
	if err != nil {
		return err
	}
	if !ok {
		return ErrRefused
	}
	return nil
}
