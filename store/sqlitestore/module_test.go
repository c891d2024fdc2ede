package sqlitestore_test

import (
	"os"
	"strings"
	"testing"
)

// An SQLite app's build has no pgx in it: this module requires no pgx (its
// go.mod lists every module its packages and tests need, and CI keeps it
// tidy), and the SQL core it binds imports no driver.
func TestModuleLeavesOutPgx(t *testing.T) {
	b, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "github.com/jackc/") {
		t.Errorf("store/sqlitestore's go.mod requires pgx:\n%s", b)
	}
}
