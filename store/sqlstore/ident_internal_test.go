package sqlstore

import (
	"testing"

	"github.com/oauthlogin/oauthlogin/store/internal/sqldriver"
)

// fakeDB is a driver that only names its dialect.
type fakeDB struct {
	sqldriver.DB
	dialect sqldriver.Dialect
}

func (f fakeDB) Dialect() sqldriver.Dialect { return f.dialect }

// Table and index names are quoted by the core for both dialects, with no
// driver's help: each part quoted, quotes doubled, NUL dropped, parts
// joined with dots.
func TestQuoteIdent(t *testing.T) {
	for _, c := range []struct {
		parts []string
		want  string
	}{
		{[]string{"oauthlogin_sessions"}, `"oauthlogin_sessions"`},
		{[]string{"auth", "oauthlogin_sessions"}, `"auth"."oauthlogin_sessions"`},
		{[]string{`we"ird`, "t"}, `"we""ird"."t"`},
		{[]string{"a\x00b"}, `"ab"`},
		{[]string{"a.b"}, `"a.b"`},
	} {
		if got := quoteIdent(c.parts...); got != c.want {
			t.Errorf("quoteIdent(%q) = %s, want %s", c.parts, got, c.want)
		}
	}
}

// A store's table names are schema-qualified on PostgreSQL and bare on
// SQLite, whose constructor drops the schema.
func TestTableNames(t *testing.T) {
	pg := New(fakeDB{dialect: sqldriver.Postgres}, Options{Schema: "auth"})
	if got, want := pg.table("sessions"), `"auth"."oauthlogin_sessions"`; got != want {
		t.Errorf("PostgreSQL table = %s, want %s", got, want)
	}
	if got, want := New(fakeDB{dialect: sqldriver.Postgres}, Options{}).table("sessions"), `"oauthlogin_sessions"`; got != want {
		t.Errorf("PostgreSQL table without schema = %s, want %s", got, want)
	}
	lite := New(fakeDB{dialect: sqldriver.SQLite}, Options{Schema: "auth"})
	if got, want := lite.table("sessions"), `"oauthlogin_sessions"`; got != want {
		t.Errorf("SQLite table = %s, want %s", got, want)
	}
}
