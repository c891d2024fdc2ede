package oauthlogin

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"
)

// GET {prefix}sessions lists only sessions that are still usable on the
// Manager's clock: one past its absolute lifetime (Expires) or unused for
// Config.Sessions.IdleTimeout has ended (OWASP Session Management: idle and
// absolute timeouts are enforced on the server), even while the store,
// on its own clock or without any idle rule, still returns it (issue 15
// item 13).
func TestSessionsListHidesEndedSessions(t *testing.T) {
	store := NewMemoryStore() // on the real clock
	m, err := New(Config{BaseURL: "http://localhost", Keys: Keys{Cookie: []CookieKey{GenerateCookieKey()}},
		Store: store, Sessions: SessionOptions{IdleTimeout: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	real := time.Now()
	clock := real.Add(10 * time.Hour) // the Manager's clock runs ahead of the store's
	m.now = func() time.Time { return clock }
	token := randomToken(32)
	month := real.Add(30 * 24 * time.Hour)
	for _, s := range []*Session{
		{ID: hashID(token), LastSeen: clock, Expires: month},                              // the current one
		{ID: "recent", LastSeen: clock.Add(-30 * time.Minute), Expires: month},            // used half an hour ago
		{ID: "idle", LastSeen: clock.Add(-time.Hour), Expires: month},                     // unused for IdleTimeout
		{ID: "expired", LastSeen: clock, Expires: clock.Add(-time.Minute)},                // past Expires on the Manager's clock
		{ID: pendingPrefix + "pending", LastSeen: clock, Expires: clock.Add(time.Minute)}, // no session
	} {
		s.UserID, s.Created = "u", real
		if err := store.SaveSession(context.Background(), s); err != nil {
			t.Fatal(err)
		}
	}
	if list, _ := store.UserSessions(context.Background(), "u"); len(list) != 5 {
		t.Fatalf("the store returns %d sessions, want all 5 (the test needs them returned)", len(list))
	}
	w := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/auth/sessions", nil)
	r.AddCookie(&http.Cookie{Name: m.sessionCookie, Value: token})
	m.Handler().ServeHTTP(w, r)
	var out struct {
		Total    int
		Sessions []struct{ ID string }
	}
	if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &out) != nil {
		t.Fatalf("GET /auth/sessions = %d %s", w.Code, w.Body)
	}
	var ids []string
	for _, s := range out.Sessions {
		ids = append(ids, s.ID)
	}
	slices.Sort(ids)
	want := []string{hashID(token), "recent"}
	slices.Sort(want)
	if out.Total != 2 || !slices.Equal(ids, want) {
		t.Fatalf("sessions listed = %d %v, want 2 %v (no idle, expired or pending one)", out.Total, ids, want)
	}
}
