package sqlstore_test

import (
	"reflect"
	"testing"

	"github.com/oauthlogin/oauthlogin"
)

// The store's columns list Session's and Identity's fields by hand: a new
// field must get a column (and a migration), or it would be lost.
func TestColumnsCoverEveryField(t *testing.T) {
	if n := reflect.TypeFor[oauthlogin.Session]().NumField(); n != 15 {
		t.Errorf("oauthlogin.Session has %d fields, the sessions table 15 (and the pending column of old records): add a column and a migration", n)
	}
	if n := reflect.TypeFor[oauthlogin.Identity]().NumField(); n != 11 {
		t.Errorf("oauthlogin.Identity has %d fields, the identities table 11: add a column and a migration", n)
	}
}
