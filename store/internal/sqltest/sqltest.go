// Package sqltest holds the tests that store/pgstore and store/sqlitestore
// run alike on the SQL core (store/sqlstore), each on its own database.
package sqltest

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/store/sqlstore"
)

// Tables are the store's tables that hold sessions, identities and
// one-time keys, unqualified.
var Tables = []string{"oauthlogin_sessions", "oauthlogin_identities", "oauthlogin_one_time"}

// MigrateConcurrently runs Migrate on four stores from newStore at once
// and fails t if any of them fails.
func MigrateConcurrently(t *testing.T, newStore func() *sqlstore.Store) {
	t.Helper()
	ctx := context.Background()
	errs := make(chan error, 4)
	for range 4 {
		s := newStore()
		go func() { errs <- s.Migrate(ctx) }()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatalf("concurrent migrations: %v", err)
		}
	}
}

// Purge checks that Purge removes the expired session and one-time key,
// and only those, of a migrated, empty store.
func Purge(t *testing.T, s *sqlstore.Store) {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	for i, exp := range []time.Time{now.Add(-time.Minute), now.Add(time.Hour)} {
		v := &oauthlogin.Session{ID: fmt.Sprint("s", i), UserID: "u", Created: now, LastSeen: now, Expires: exp}
		if err := s.SaveSession(ctx, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Consume(ctx, "old", now.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.Consume(ctx, "new", now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Purge(ctx); err != nil || n != 2 {
		t.Fatalf("Purge = %d, %v; want 2 rows", n, err)
	}
	if _, err := s.Session(ctx, "s1"); err != nil {
		t.Fatalf("a live session was purged: %v", err)
	}
	if err := s.Consume(ctx, "new", now.Add(time.Minute)); err != oauthlogin.ErrAlreadyUsed {
		t.Fatalf("a live one-time key was purged: %v", err)
	}
	if n, err := s.Purge(ctx); err != nil || n != 0 {
		t.Fatalf("second Purge = %d, %v; want 0", n, err)
	}
}

// DumpRows reads every row of every table through query, values as text
// or raw bytes.
func DumpRows(t *testing.T, query func(q string) ([][]any, error), tables []string) []byte {
	t.Helper()
	var buf bytes.Buffer
	for _, tbl := range tables {
		rows, err := query(`SELECT * FROM ` + tbl)
		if err != nil {
			t.Fatal(err)
		}
		for _, row := range rows {
			for _, v := range row {
				if b, ok := v.([]byte); ok {
					buf.Write(b)
				} else {
					fmt.Fprint(&buf, v)
				}
				buf.WriteByte('|')
			}
			buf.WriteByte('\n')
		}
	}
	return buf.Bytes()
}

func benchSession(now time.Time) *oauthlogin.Session {
	return &oauthlogin.Session{ID: "bench", UserID: "u", IdentityID: "i", Provider: "test", ProviderUID: "sub",
		ProviderTokens: make([]byte, 200), Created: now, LastSeen: now, Expires: now.Add(time.Hour), IP: "127.0.0.1", UserAgent: "bench"}
}

// BenchSession measures reading one session.
func BenchSession(b *testing.B, s *sqlstore.Store) {
	ctx := context.Background()
	if err := s.SaveSession(ctx, benchSession(time.Now())); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Session(ctx, "bench"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchSaveSession measures writing a new session.
func BenchSaveSession(b *testing.B, s *sqlstore.Store) {
	ctx := context.Background()
	v := benchSession(time.Now())
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		v.ID = fmt.Sprint("bench", i)
		i++
		if err := s.SaveSession(ctx, v); err != nil {
			b.Fatal(err)
		}
	}
}
