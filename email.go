package oauthlogin

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// normalizeEmail returns the form of an email address that linking by
// email compares, and ok false for an address that must link nothing.
// Linking merges accounts, so the form never makes two distinct mailboxes
// equal; the price is that some spellings of one mailbox do not link.
//
//   - The address is valid UTF-8, at most 320 bytes, with exactly one "@"
//     between a non-empty local part and domain, and no control, format
//     (zero-width, bidirectional), private-use or space characters.
//   - The local part is put in Unicode Normalization Form C, the form RFC
//     6532 §3.1 asks internationalized addresses to take: the same name
//     typed as a precomposed or as a decomposed é is one mailbox. Nothing
//     else is folded. An address whose local part changes under NFKC
//     (fullwidth ｊ, the ligature ﬁ, a superscript ²) or holds a character
//     that NFC replaces by another (the Kelvin sign K, the Ohm sign Ω) is
//     refused: compatibility folding would make it equal to a different
//     mailbox, and no mail system does that folding for delivery.
//   - The local part keeps its case. RFC 5321 §2.4 lets a server tell
//     John@ from john@; most do not, but comparing case-insensitively
//     would merge two mailboxes on a server that does, and Unicode case
//     rules (the Turkish dotless ı, İ) are not one mapping. A provider
//     that reports another case for the same mailbox costs a missed link,
//     never a wrong one.
//   - The domain must be ASCII (an IDNA A-label such as xn--bcher-kva is
//     ASCII) and is lower-cased: DNS names are case-insensitive (RFC 4343).
//     A domain with other characters is refused: mapping a U-label to its
//     canonical form needs IDNA (UTS #46), whose case and compatibility
//     mappings a plain lower-casing would get wrong (the Kelvin sign
//     lower-cases to k), so such an address links nothing.
func normalizeEmail(email string) (normalized string, ok bool) {
	if len(email) > 320 || !utf8.ValidString(email) || strings.IndexFunc(email, unusable) >= 0 {
		return "", false
	}
	local, domain, found := strings.Cut(email, "@")
	if !found || local == "" || domain == "" || strings.Contains(domain, "@") {
		return "", false
	}
	for i := 0; i < len(domain); i++ {
		if domain[i] >= utf8.RuneSelf {
			return "", false
		}
	}
	for _, r := range local {
		if r >= utf8.RuneSelf && replacedByNFC(r) {
			return "", false
		}
	}
	local = norm.NFC.String(local)
	if !norm.NFKC.IsNormalString(local) {
		return "", false
	}
	return local + "@" + strings.ToLower(domain), true
}

// unusable reports a character that no address to link may hold: control,
// format, private-use, surrogate, space and separator characters, and the
// replacement character.
func unusable(r rune) bool {
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs, unicode.Z) ||
		unicode.IsSpace(r) || r == utf8.RuneError
}

// replacedByNFC reports whether r has a singleton canonical decomposition:
// NFC turns it into another single character that looks the same (the
// Kelvin sign into K), a substitution no keyboard makes and a spoofer would.
func replacedByNFC(r rune) bool {
	var buf [utf8.UTFMax]byte
	s := buf[:utf8.EncodeRune(buf[:], r)]
	d := norm.NFD.Bytes(s)
	return string(d) != string(s) && utf8.RuneCount(d) == 1
}

// sameVerifiedEmail reports whether a stored identity's reported email
// normalizes to verified.
func sameVerifiedEmail(reported, verified string) bool {
	n, ok := normalizeEmail(reported)
	return ok && n == verified
}
