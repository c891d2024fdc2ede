package oauthlogin

import (
	"fmt"
	"net"
	"net/http"
	"strings"
)

// A login's flow cookie is host-only: set where the begin is served, sent
// back only to that host. The provider returns the browser to BaseURL's
// host (the redirect URI), so a begin served at another name for the same
// server (http://127.0.0.1:8080 for http://localhost:8080) sets a cookie
// the callback never sees. Begin sends such a browser to BaseURL's host
// first; a callback that finds no flow at another host says why.

// loopbackAlias reports whether r arrived at another loopback name for
// BaseURL's host and port: "localhost", 127.0.0.0/8 or [::1] for another
// of them. Only then is Begin's redirect to BaseURL's host safe: a request
// whose Host a reverse proxy rewrote (nginx's default proxy_pass sends its
// upstream's name) arrives at the same name however often it is sent to
// BaseURL, and a redirect would loop; a proxy cannot give a loopback name
// with BaseURL's own port on BaseURL's machine.
func (m *Manager) loopbackAlias(r *http.Request) bool {
	host, port := splitHost(r.Host, m.base.Scheme)
	want, wantPort := splitHost(m.base.Host, m.base.Scheme)
	return port == wantPort && !strings.EqualFold(host, want) && isLoopback(host) && isLoopback(want)
}

// otherHost reports whether r arrived at another host name than BaseURL's.
func (m *Manager) otherHost(r *http.Request) bool {
	host, _ := splitHost(r.Host, m.base.Scheme)
	want, _ := splitHost(m.base.Host, m.base.Scheme)
	return !strings.EqualFold(host, want)
}

// splitHost splits a Host header into name and port, the port defaulting
// to the scheme's.
func splitHost(hostport, scheme string) (host, port string) {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		host, port = strings.TrimSuffix(strings.TrimPrefix(hostport, "["), "]"), ""
	}
	if port == "" {
		port = "80"
		if scheme == "https" {
			port = "443"
		}
	}
	return host, port
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// atBaseHost is r's URL on BaseURL's origin: the same path and query.
func (m *Manager) atBaseHost(r *http.Request) string {
	to := m.base.Scheme + "://" + m.base.Host + r.URL.EscapedPath()
	if r.URL.RawQuery != "" {
		to += "?" + escapeQuery(r.URL.RawQuery)
	}
	return to
}

// hostError is a request that had to arrive at BaseURL's host and did
// not: a link's begin (a POST, which a redirect cannot carry), or a
// callback that found no flow (its cookie is at BaseURL's host, or the
// begin was served at this one). Its JSON message names BaseURL's origin;
// the host the request came to is for the log only.
type hostError struct {
	got, base string
	callback  bool
}

func (e *hostError) Error() string {
	if e.callback {
		return fmt.Sprintf("oauthlogin: state mismatch: the callback arrived at host %q, and finds no sign-in begun there: "+
			"sign-ins begin and end at BaseURL's host, %s", truncate(e.got, 256), e.base)
	}
	return fmt.Sprintf("oauthlogin: a link's begin arrived at host %q: it must be posted to BaseURL's host, %s", truncate(e.got, 256), e.base)
}

// Unwrap gives a callback's error its code, state_mismatch.
func (e *hostError) Unwrap() error {
	if e.callback {
		return ErrStateMismatch
	}
	return nil
}

// message is the JSON answer's message for e.
func (e *hostError) message() string {
	if e.callback {
		return "the callback matches no sign-in started in this browser: sign-in callbacks must arrive at " + e.base +
			", the app's BaseURL, where the sign-in began; open the app there"
	}
	return "a sign-in must start at " + e.base + ", the app's BaseURL; open the app there"
}
