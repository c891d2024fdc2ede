package oauthlogintest

import (
	"net/url"
	"testing"
	"time"
)

// TestPushedExpires: a request_uri past its expiry is refused like an
// unknown one (RFC 9126 §2.2's expires_in), without waiting a minute.
func TestPushedExpires(t *testing.T) {
	s := NewServer()
	t.Cleanup(s.Close)
	uri := requestURIPrefix + "expired"
	s.mu.Lock()
	s.pushed[uri] = &pushedRequest{clientID: s.ClientID, query: url.Values{"state": {"st"}}, expires: time.Now().Add(-time.Second)}
	s.pushed[uri+"-live"] = &pushedRequest{clientID: s.ClientID, query: url.Values{"state": {"st"}}, expires: time.Now().Add(time.Minute)}
	s.mu.Unlock()
	if _, ok := s.takePushed(url.Values{"client_id": {s.ClientID}, "request_uri": {uri}}); ok {
		t.Error("an expired request_uri was taken")
	}
	if q, ok := s.takePushed(url.Values{"client_id": {s.ClientID}, "request_uri": {uri + "-live"}}); !ok || q.Get("state") != "st" {
		t.Error("a live request_uri was not taken")
	}
}
