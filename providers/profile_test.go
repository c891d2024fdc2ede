package providers_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/providers"
)

func TestStandardClaims(t *testing.T) {
	want := providers.Fields{
		Subject:       "sub",
		Email:         "email",
		EmailVerified: "email_verified",
		Name:          "name",
		Username:      "preferred_username",
		AvatarURL:     "picture",
	}
	if got := providers.StandardClaims(); got != want {
		t.Errorf("StandardClaims() = %+v, want %+v", got, want)
	}
}

func TestFieldsProfileStandard(t *testing.T) {
	raw := []byte(`{"sub":"248289761001","email":"jane@example.com","email_verified":true,` +
		`"name":"Jane Doe","preferred_username":"j.doe","picture":"https://example.com/jane.jpg","locale":"en"}`)
	got, err := providers.StandardClaims().Profile(raw)
	if err != nil {
		t.Fatal(err)
	}
	want := oauthlogin.Profile{
		Subject:       "248289761001",
		Email:         "jane@example.com",
		EmailVerified: true,
		Name:          "Jane Doe",
		Username:      "j.doe",
		AvatarURL:     "https://example.com/jane.jpg",
	}
	if !bytes.Equal(got.Raw, raw) {
		t.Errorf("Raw = %s, want the input document %s", got.Raw, raw)
	}
	got.Raw = nil
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("Profile = %+v, want %+v", *got, want)
	}
}

func TestFieldsProfileSubject(t *testing.T) {
	github := providers.Fields{Subject: "id", Email: "email", Name: "name", Username: "login", AvatarURL: "avatar_url"}
	x := providers.Fields{Subject: "data.id", Name: "data.name", Username: "data.username", AvatarURL: "data.profile_image_url"}
	tests := []struct {
		name   string
		fields providers.Fields
		raw    string
		want   string
	}{
		{"String", providers.StandardClaims(), `{"sub":"abc"}`, "abc"},
		{"GitHubNumber", github, `{"login":"octocat","id":1234567}`, "1234567"},
		{"BeyondFloat64", github, `{"id":9007199254740993}`, "9007199254740993"},
		{"HugeNumber", github, `{"id":123456789012345678901234567890}`, "123456789012345678901234567890"},
		{"NegativeNumber", github, `{"id":-5}`, "-5"},
		{"NumberAsString", github, `{"id":"1234567"}`, "1234567"},
		{"Nested", x, `{"data":{"id":"2244994945","name":"X Dev","username":"XDevelopers"}}`, "2244994945"},
		{"NestedNumber", x, `{"data":{"id":2244994945}}`, "2244994945"},
		{"DeeplyNested", providers.Fields{Subject: "a.b.c.d"}, `{"a":{"b":{"c":{"d":"deep"}}}}`, "deep"},
		{"DottedPathIgnoresFlatKey", x, `{"data.id":"flat","data":{"id":"nested"}}`, "nested"},
		{"DuplicateKeyLastWins", providers.StandardClaims(), `{"sub":"first","sub":"last"}`, "last"},
		{"Whitespace", providers.StandardClaims(), " \n\t{ \"sub\" : \"s\" } \n", "s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := tt.fields.Profile([]byte(tt.raw))
			if err != nil {
				t.Fatalf("Profile(%s): %v", tt.raw, err)
			}
			if p.Subject != tt.want {
				t.Errorf("Subject = %q, want %q", p.Subject, tt.want)
			}
		})
	}
}

func TestFieldsProfileMapsNested(t *testing.T) {
	x := providers.Fields{Subject: "data.id", Email: "data.confirmed_email", Name: "data.name", Username: "data.username", AvatarURL: "data.profile_image_url"}
	p, err := x.Profile([]byte(`{"data":{"id":"2244994945","name":"X Dev","username":"XDevelopers",` +
		`"profile_image_url":"https://pbs.example/x.png","confirmed_email":"dev@x.example"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "X Dev" || p.Username != "XDevelopers" || p.AvatarURL != "https://pbs.example/x.png" || p.Email != "dev@x.example" {
		t.Errorf("Profile = %+v", p)
	}
}

func TestFieldsProfileBadSubject(t *testing.T) {
	tests := map[string]struct {
		fields providers.Fields
		raw    string
	}{
		"Missing":            {providers.StandardClaims(), `{"email":"a@example.com"}`},
		"Empty":              {providers.StandardClaims(), `{"sub":""}`},
		"Null":               {providers.StandardClaims(), `{"sub":null}`},
		"True":               {providers.StandardClaims(), `{"sub":true}`},
		"False":              {providers.StandardClaims(), `{"sub":false}`},
		"Object":             {providers.StandardClaims(), `{"sub":{"id":"1"}}`},
		"Array":              {providers.StandardClaims(), `{"sub":["1"]}`},
		"NoSubjectMapping":   {providers.Fields{Email: "email"}, `{"sub":"1","email":"a@example.com"}`},
		"NestedMissing":      {providers.Fields{Subject: "data.id"}, `{"data":{}}`},
		"NestedThroughValue": {providers.Fields{Subject: "data.id"}, `{"data":"1"}`},
		// Fields walks objects only: a list, such as Twitch's
		// {"data":[{"id":...}]}, needs a ProfileFunc.
		"NestedThroughArray": {providers.Fields{Subject: "data.id"}, `{"data":[{"id":"141981764"}]}`},
		"EmptyPathPart":      {providers.Fields{Subject: "data..id"}, `{"data":{"id":"1"}}`},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			p, err := tt.fields.Profile([]byte(tt.raw))
			if err == nil {
				t.Fatalf("Profile(%s) = %+v, want an error", tt.raw, p)
			}
			if p != nil {
				t.Errorf("Profile(%s) returned %+v with its error", tt.raw, p)
			}
		})
	}
}

func TestFieldsProfileEmailVerified(t *testing.T) {
	tests := []struct {
		value string // JSON, or "" for absent
		want  bool
	}{
		{"true", true},
		{"", false},
		{"false", false},
		{`"true"`, false},
		{`"false"`, false},
		{"1", false},
		{"0", false},
		{"null", false},
		{`{}`, false},
		{`[true]`, false},
	}
	for _, tt := range tests {
		raw := `{"sub":"1","email":"a@example.com"}`
		if tt.value != "" {
			raw = `{"sub":"1","email":"a@example.com","email_verified":` + tt.value + `}`
		}
		p, err := providers.StandardClaims().Profile([]byte(raw))
		if err != nil {
			t.Fatalf("Profile(%s): %v", raw, err)
		}
		if p.EmailVerified != tt.want {
			t.Errorf("Profile(%s).EmailVerified = %v, want %v", raw, p.EmailVerified, tt.want)
		}
		if p.Email != "a@example.com" {
			t.Errorf("Profile(%s).Email = %q", raw, p.Email)
		}
	}
}

func TestFieldsProfileNonStringFields(t *testing.T) {
	raw := `{"sub":"1","email":42,"name":true,"preferred_username":{"x":"y"},"picture":["a"]}`
	p, err := providers.StandardClaims().Profile([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	if p.Email != "" || p.Name != "" || p.Username != "" || p.AvatarURL != "" {
		t.Errorf("non-string members should map to empty fields, got %+v", p)
	}
}

func TestFieldsProfileEmptyNames(t *testing.T) {
	raw := `{"sub":"1","email":"a@example.com","email_verified":true,"name":"A","preferred_username":"a","picture":"p","":"root"}`
	p, err := providers.Fields{Subject: "sub"}.Profile([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	if p.Subject != "1" || p.Email != "" || p.EmailVerified || p.Name != "" || p.Username != "" || p.AvatarURL != "" {
		t.Errorf("an empty member name should leave the field empty, got %+v", p)
	}
}

func TestFieldsProfileNotAnObject(t *testing.T) {
	for _, raw := range []string{
		``,
		` `,
		`null`,
		`[]`,
		`[{"sub":"1"}]`,
		`"sub"`,
		`42`,
		`true`,
		`{`,
		`{"sub":"1"`,
		`{"sub":"1",}`,
		`{sub:"1"}`,
		`{"sub":"1"} {"sub":"2"}`,
		`{"sub":"1"}]`,
		`{"sub":"1"}x`,
	} {
		p, err := providers.StandardClaims().Profile([]byte(raw))
		if err == nil {
			t.Errorf("Profile(%q) = %+v, want an error", raw, p)
		}
	}
}

// The mapper's errors are its own; Identify wraps them in ErrProfileUnavailable or
// ErrInvalidIDToken. A bare mapper error must not claim to be one of those.
func TestFieldsProfileErrorIsNotSentinel(t *testing.T) {
	_, err := providers.StandardClaims().Profile([]byte(`{}`))
	if err == nil || errors.Is(err, oauthlogin.ErrProfileUnavailable) || errors.Is(err, oauthlogin.ErrInvalidIDToken) {
		t.Errorf("Profile({}) error = %v", err)
	}
}

func TestProfileFunc(t *testing.T) {
	errBad := errors.New("bad document")
	var got []byte
	f := providers.ProfileFunc(func(raw []byte) (*oauthlogin.Profile, error) {
		got = raw
		if len(raw) == 0 {
			return nil, errBad
		}
		return &oauthlogin.Profile{Subject: "from-func"}, nil
	})
	p, err := f.Profile([]byte(`{"x":1}`))
	if err != nil || p.Subject != "from-func" || string(got) != `{"x":1}` {
		t.Errorf("ProfileFunc.Profile = %+v, %v (saw %s)", p, err, got)
	}
	if _, err := f.Profile(nil); !errors.Is(err, errBad) {
		t.Errorf("ProfileFunc.Profile(nil) error = %v, want %v", err, errBad)
	}
}

func FuzzFieldsProfile(f *testing.F) {
	for _, seed := range []string{
		`{"sub":"1","email":"a@example.com","email_verified":true,"name":"A","preferred_username":"a","picture":"p"}`,
		`{"id":1234567,"login":"octocat"}`,
		`{"id":123456789012345678901234567890}`,
		`{"data":{"id":"2244994945","username":"x"}}`,
		`{"data":[{"id":"1"}]}`,
		`{"sub":""}`,
		`{"sub":true}`,
		`{"sub":1e400}`,
		`{"sub":"1"} trailing`,
		`null`,
		`[]`,
		``,
		"{\"sub\":\"\xff\"}",
	} {
		f.Add([]byte(seed))
	}
	mappers := []providers.Fields{
		providers.StandardClaims(),
		{Subject: "id", Email: "email", Name: "name", Username: "login", AvatarURL: "avatar_url"},
		{Subject: "data.id", Name: "data.name", Username: "data.username"},
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		in := bytes.Clone(raw)
		for _, m := range mappers {
			p, err := m.Profile(raw)
			if !bytes.Equal(raw, in) {
				t.Fatalf("Profile modified its input")
			}
			if err != nil {
				if p != nil {
					t.Fatalf("Profile(%q) returned %+v with error %v", raw, p, err)
				}
				continue
			}
			if p.Subject == "" {
				t.Fatalf("Profile(%q) succeeded with an empty Subject", raw)
			}
			if !bytes.Equal(p.Raw, raw) {
				t.Fatalf("Profile(%q).Raw = %q, want the input", raw, p.Raw)
			}
			// Raw goes to the host app and into JSON: it must be JSON.
			if !json.Valid(p.Raw) {
				t.Fatalf("Profile(%q) succeeded but Raw is not valid JSON", raw)
			}
			if _, err := json.Marshal(p); err != nil {
				t.Fatalf("Profile(%q) succeeded but the Profile does not marshal: %v", raw, err)
			}
		}
	})
}

func TestFieldsArrayIndex(t *testing.T) {
	f := providers.Fields{Subject: "id", AvatarURL: "images.1.url", Name: "names.5"}
	p, err := f.Profile([]byte(`{"id":"s","images":[{"url":"a"},{"url":"b"}],"names":["x"]}`))
	if err != nil {
		t.Fatal(err)
	}
	if p.AvatarURL != "b" || p.Name != "" {
		t.Errorf("AvatarURL %q Name %q, want b and none (out of range)", p.AvatarURL, p.Name)
	}
}

func TestClaim(t *testing.T) {
	p := &oauthlogin.Profile{Raw: []byte(`{"hd":"example.com","n":12345678901234567890,"a":{"b":[true]}}`)}
	if providers.Claim(p, "hd") != "example.com" || providers.Claim(p, "a.b.0") != true {
		t.Error("Claim did not read hd or a.b.0")
	}
	if n, ok := providers.Claim(p, "n").(json.Number); !ok || n.String() != "12345678901234567890" {
		t.Errorf("Claim(n) = %v, want the exact json.Number", providers.Claim(p, "n"))
	}
	if providers.Claim(p, "missing") != nil || providers.Claim(nil, "hd") != nil || providers.Claim(&oauthlogin.Profile{Raw: []byte(`[1]`)}, "0") != nil {
		t.Error("Claim of something absent is not nil")
	}
}
