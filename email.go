package oauthlogin

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// NormalizeEmail returns the form of an email address that linking by
// email compares: NFKC-normalized, exactly one "@" between a non-empty
// local part and domain, no control or space characters, and the domain in
// lower case (the local part keeps its case, which RFC 5321 lets matter).
// ok is false for an address that cannot be used.
func NormalizeEmail(email string) (normalized string, ok bool) {
	e := norm.NFKC.String(email)
	if len(e) > 320 || strings.IndexFunc(e, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) || r == unicode.ReplacementChar }) >= 0 {
		return "", false
	}
	local, domain, found := strings.Cut(e, "@")
	if !found || local == "" || domain == "" || strings.Contains(domain, "@") {
		return "", false
	}
	return local + "@" + strings.ToLower(domain), true
}
