package sqlstore

import (
	"strings"
	"testing"
)

// DeleteProviderSessions' statement repeats the sid index's WHERE
// (a non-empty provider_sid): without it neither SQLite nor a generic
// PostgreSQL plan may use the partial index, and the delete scans every
// session (sqlitestore.TestSQLiteProviderSessionsUseIndex shows the plan
// of this statement's shape).
func TestDeleteProviderSessionsMatchesPartialIndex(t *testing.T) {
	for _, d := range []dialect{postgres, sqlite} {
		q := newStore(d, Options{}).sql.deleteProviderSessions
		if !strings.Contains(q, "provider = ") || !strings.Contains(q, "provider_sid = ") || !strings.Contains(q, "provider_sid <> ''") {
			t.Errorf("dialect %d: %s does not match the partial index on (provider, provider_sid) WHERE provider_sid <> ''", d, q)
		}
	}
	for _, m := range migrations {
		for _, st := range m.stmts {
			if strings.Contains(st.sql, "sessions_provider_sid") && !strings.Contains(st.sql, "WHERE provider_sid <> ''") {
				t.Errorf("the sid index is no longer partial as the statement assumes: %s", st.sql)
			}
		}
	}
}
