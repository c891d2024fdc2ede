package oauthlogintest

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"
)

// TestLoginExpires holds a request that is born expired, rather than
// waiting ten minutes: expired is answered like unknown, and dropped.
func TestLoginExpires(t *testing.T) {
	s := NewServer()
	t.Cleanup(s.Close)
	s.mu.Lock()
	s.loginTTL = -time.Second
	s.mu.Unlock()
	back, _ := url.Parse("http://app.example/callback")
	q := url.Values{"client_id": {s.ClientID}, "redirect_uri": {back.String()}, "state": {"st"}}
	expired := s.holdLogin(q, back, "")
	if _, ok := s.PendingLogin(expired.ID); ok {
		t.Error("PendingLogin found an expired request")
	}
	w := httptest.NewRecorder()
	s.Approve(w, httptest.NewRequest(http.MethodPost, "/consent", nil), expired.ID, User{Subject: "s"})
	if w.Code != http.StatusBadRequest || w.Header().Get("Location") != "" {
		t.Errorf("Approve of an expired request: %d, Location %q; want 400", w.Code, w.Header().Get("Location"))
	}

	// Holding another request sweeps expired ones out.
	s.holdLogin(q, back, "")
	s.mu.Lock()
	s.loginTTL = loginLifetime
	s.mu.Unlock()
	live := s.holdLogin(q, back, "")
	s.mu.Lock()
	n := len(s.logins)
	s.mu.Unlock()
	if n != 1 {
		t.Errorf("%d login requests held, want only the live one", n)
	}
	w = httptest.NewRecorder()
	s.Deny(w, httptest.NewRequest(http.MethodPost, "/consent", nil), live.ID)
	if w.Code != http.StatusSeeOther {
		t.Errorf("Deny of a live request: %d, want 303", w.Code)
	}
}
