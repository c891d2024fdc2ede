package providers

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// standardDocs are user documents on the edges of what Fields reads.
var standardDocs = []string{
	`{"sub":"a","email":"a@example.com","email_verified":true,"name":"A","preferred_username":"a","picture":"https://example.com/a.png"}`,
	`{"sub":12345678901234567890,"email":"a@example.com","email_verified":"true"}`,
	`{"sub":1.5e3}`,
	`{"sub":"a","email_verified":true}`,
	`{"sub":"a","email":5,"name":null,"picture":{"url":"x"},"preferred_username":["a"]}`,
	`{"sub":"a","sub":"b"}`,
	`{"sub":"a","sub":7}`,
	`{"sub":"a","sub":null}`,
	`{"sub":""}`,
	`{"sub":true}`,
	`{"sub":{"id":"a"}}`,
	`{}`,
	`null`,
	`[]`,
	`"sub"`,
	`{"sub":"a"} {}`,
	`{"sub":"a"`,
	`{"sub":"\u00e9\ud83d\ude00\n","name":"caf\u00e9 \"q\""}`,
	"{\"sub\":\"a\xffb\",\"name\":\"\xc3\"}",
	` {"sub":"a"} `,
	`{"sub":"a","email":"a@example.com","email_verified":1}`,
	`{"sub":"a","email":"a@example.com","email_verified":true,"email_verified":false}`,
}

// TestStandardProfileMatchesMap holds the typed decode of the standard
// claims to what the map walk of Fields reads from the same document:
// the same Profile, or an error for both.
func TestStandardProfileMatchesMap(t *testing.T) {
	for _, doc := range standardDocs {
		checkStandardProfile(t, []byte(doc))
	}
}

// FuzzStandardProfile: any document reads the same through the typed
// decode and the map walk, but for member names that differ from a
// standard one only in case, which only the struct decode folds.
func FuzzStandardProfile(f *testing.F) {
	for _, doc := range standardDocs {
		f.Add([]byte(doc))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		var m map[string]any
		if json.Unmarshal(doc, &m) == nil {
			for k := range m {
				for _, name := range []string{"sub", "email", "email_verified", "name", "preferred_username", "picture"} {
					if k != name && strings.EqualFold(k, name) {
						t.Skip("a member name folds to a standard one")
					}
				}
			}
		}
		checkStandardProfile(t, doc)
	})
}

func checkStandardProfile(t *testing.T, doc []byte) {
	t.Helper()
	got, gerr := standardProfile(doc)
	want, werr := StandardClaims().mapProfile(doc)
	if (gerr == nil) != (werr == nil) {
		t.Fatalf("%q: typed decode error %v, map walk error %v", doc, gerr, werr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%q: typed decode %+v, map walk %+v", doc, got, want)
	}
}

// TestStandardProfileFoldsCase records the one difference from the map
// walk: as go-oidc reads sub, a member named in another case counts.
func TestStandardProfileFoldsCase(t *testing.T) {
	p, err := standardProfile([]byte(`{"Sub":"a","EMAIL":"a@example.com"}`))
	if err != nil || p.Subject != "a" || p.Email != "a@example.com" {
		t.Fatalf("got %+v, %v", p, err)
	}
}
