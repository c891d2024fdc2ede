package cookiestore_test

import (
	"testing"
	"time"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/store/cookiestore"
)

// BenchmarkOpenSession is the cookie store's part of an authenticated
// request: opening the sealed session.
func BenchmarkOpenSession(b *testing.B) {
	s := cookiestore.New(oauthlogin.NewMemoryStore(), oauthlogin.GenerateCookieKey())
	now := time.Now()
	token, err := s.SealSession(&oauthlogin.Session{ID: "bench", UserID: "u", IdentityID: "i", Provider: "test", ProviderUID: "sub",
		ProviderTokens: make([]byte, 200), Created: now, LastSeen: now, Expires: now.Add(time.Hour), IP: "127.0.0.1", UserAgent: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.OpenSession(token); err != nil {
			b.Fatal(err)
		}
	}
}
