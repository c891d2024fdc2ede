package providers

import (
	"encoding/json"
	"testing"
)

// Guard: claimString's verbatim fast path keeps exactly what encoding/json
// would have unquoted, for raw bytes on every edge of UTF-8 validity.
func TestAttackV7ClaimStringFastPathMatchesUnquote(t *testing.T) {
	for _, raw := range []string{
		"plain", "\x7f", "\u2028\u2029", "\ufeff", "\uffff\ufffe", "\U0010ffff",
		"\xf4\x90\x80\x80",         // beyond U+10FFFF
		"\xed\xa0\x80",             // a UTF-16 surrogate encoded in UTF-8
		"\xc0\x80", "\xe0\x80\xaf", // overlong
		"\xc3", "a\xffb", "\xef\xbf\xbd",
	} {
		doc := []byte(`{"sub":"` + raw + `","email":"` + raw + `","acr":"` + raw + `"}`)
		var want struct {
			Sub   string `json:"sub"`
			Email string `json:"email"`
			ACR   string `json:"acr"`
		}
		if err := json.Unmarshal(doc, &want); err != nil {
			t.Fatalf("%q: %v", raw, err)
		}
		var got idClaims
		if err := json.Unmarshal(doc, &got); err != nil {
			t.Fatalf("%q: %v", raw, err)
		}
		if got.Sub.v != want.Sub || string(got.Email) != want.Email || got.ACR.v != want.ACR {
			t.Errorf("%q: typed %q %q %q, encoding/json %q %q %q", raw, got.Sub.v, got.Email, got.ACR.v, want.Sub, want.Email, want.ACR)
		}
	}
}

// Guard: the subject a profile takes from an ID token is always the sub
// go-oidc verified (a struct decode of sub as a string): for duplicate
// members and for names that fold to sub (case, U+017F long s).
func TestAttackV7ProfileSubIsVerifiedSub(t *testing.T) {
	for _, doc := range []string{
		`{"sub":"a","SUB":"b"}`,
		`{"SUB":"b","sub":"a"}`,
		`{"sub":"a","ſub":"b"}`,
		`{"ſub":"b","sub":"a"}`,
		`{"sub":"a","Sub":"b","sUb":"c"}`,
		`{"sub":"a","sub":"b"}`,
		`{"sub":"\u0061","SUB":"\u0062"}`,
	} {
		var oidc struct {
			Subject string `json:"sub"`
		}
		if err := json.Unmarshal([]byte(doc), &oidc); err != nil {
			t.Fatalf("%s: %v", doc, err)
		}
		var c idClaims
		if err := json.Unmarshal([]byte(doc), &c); err != nil {
			t.Fatalf("%s: %v", doc, err)
		}
		p, err := c.profile(nil)
		if err != nil || p.Subject != oidc.Subject {
			t.Errorf("%s: profile subject %+v, %v; go-oidc's sub %q", doc, p, err, oidc.Subject)
		}
	}
}

// Guard: acr and sid must be strings (or absent or null); email_verified
// counts only as JSON true; the last of duplicate members counts.
func TestAttackV7LoginFactTypes(t *testing.T) {
	for _, tc := range []struct {
		doc      string
		bad      bool
		verified bool
	}{
		{`{"sub":"a","acr":1}`, true, false},
		{`{"sub":"a","sid":{}}`, true, false},
		{`{"sub":"a","acr":[]}`, true, false},
		{`{"sub":"a","acr":true}`, true, false},
		{`{"sub":"a","acr":"x","acr":2}`, true, false},
		{`{"sub":"a","acr":null,"sid":null}`, false, false},
		{`{"sub":"a","email":"e@x","email_verified":"true"}`, false, false},
		{`{"sub":"a","email":"e@x","email_verified":1}`, false, false},
		{`{"sub":"a","email":"e@x","email_verified":true}`, false, true},
		{`{"sub":"a","email_verified":true}`, false, false},
	} {
		var c idClaims
		if err := json.Unmarshal([]byte(tc.doc), &c); err != nil {
			t.Fatalf("%s: %v", tc.doc, err)
		}
		p, err := c.profile(nil)
		if err != nil {
			t.Fatalf("%s: %v", tc.doc, err)
		}
		if ferr := c.loginFacts(p); (ferr != nil) != tc.bad {
			t.Errorf("%s: loginFacts error %v, want refused %v", tc.doc, ferr, tc.bad)
		}
		if p.EmailVerified != tc.verified {
			t.Errorf("%s: EmailVerified %v, want %v", tc.doc, p.EmailVerified, tc.verified)
		}
	}
}
