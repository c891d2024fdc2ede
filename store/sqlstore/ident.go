package sqlstore

import "strings"

// quoteIdent quotes a (schema-qualified) name for either dialect: each
// part in double quotes, a double quote doubled, NUL dropped (neither
// database allows it in a name), the parts joined with dots.
func quoteIdent(parts ...string) string {
	quoted := make([]string, len(parts))
	for i, p := range parts {
		p = strings.ReplaceAll(p, "\x00", "")
		quoted[i] = `"` + strings.ReplaceAll(p, `"`, `""`) + `"`
	}
	return strings.Join(quoted, ".")
}

// collectStrings reads a one-column result of strings and closes it.
func collectStrings(r rows) ([]string, error) {
	defer r.Close()
	var out []string
	for r.Next() {
		var v string
		if err := r.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, r.Err()
}
