package sqlitestore_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/store/sqlitestore"
	_ "modernc.org/sqlite" // the app picks the driver; this one is pure Go
)

// One line of Config keeps sessions, identities, one-time marks and the
// refresh lock in an SQLite file, shared by every process on the host.
func ExampleNew() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "auth.db")+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(4) // one writer at a time, whatever the number

	st := sqlitestore.New(db)
	if err := st.Migrate(ctx); err != nil { // at start-up
		log.Fatal(err)
	}
	m, err := oauthlogin.New(oauthlogin.Config{
		BaseURL: "https://app.example.com",
		Keys:    oauthlogin.Keys{Cookie: []oauthlogin.CookieKey{oauthlogin.GenerateCookieKey()}}, // load yours with CookieKeysFromEnv
		Store:   st,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(m.Check(ctx)) // mount m.Handler() at /auth/
	// Output: <nil>
}
