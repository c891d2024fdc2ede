package sqlitestore

import (
	"errors"
	"testing"
)

// TestLockedErrors: the words SQLite drivers report SQLITE_BUSY with are
// read as a locked database, other errors not.
func TestLockedErrors(t *testing.T) {
	for msg, want := range map[string]bool{
		"database is locked (5) (SQLITE_BUSY)": true, // modernc.org/sqlite
		"database is locked":                   true, // mattn/go-sqlite3
		"no such table: oauthlogin_sessions":   false,
		"disk I/O error":                       false,
	} {
		if got := locked(errors.New(msg)); got != want {
			t.Errorf("locked(%q) = %v, want %v", msg, got, want)
		}
	}
}
