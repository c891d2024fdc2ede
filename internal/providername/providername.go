// Package providername holds the one rule for provider names, which both
// oauthlogin.Manager.Register and the providers constructors enforce: a
// name is a path segment of the Manager's routes and part of the redirect
// URI registered at the provider.
package providername

import (
	"fmt"
	"slices"
)

// Rule states what a provider name must be, for error messages.
const Rule = `1 to 64 characters of a-z, 0-9, "_" and "-", starting with a letter or digit, ` +
	`and none of the Manager's own route names (session, sessions, refresh, identities, token, device, logout)`

// reserved are the names the Manager's own routes use under its prefix.
var reserved = []string{"session", "sessions", "refresh", "identities", "token", "device", "logout"}

// Check returns an error stating Rule when name breaks it.
func Check(name string) error {
	if !valid(name) {
		return fmt.Errorf("provider name %q: a provider name is %s", name, Rule)
	}
	return nil
}

func valid(name string) bool {
	if len(name) == 0 || len(name) > 64 || slices.Contains(reserved, name) {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case (c == '_' || c == '-') && i > 0:
		default:
			return false
		}
	}
	return true
}
