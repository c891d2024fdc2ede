package providers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/oauthlogin/oauthlogin"
)

// ProfileMapper turns a provider's user document into a Profile.
type ProfileMapper interface {
	Profile(raw []byte) (*oauthlogin.Profile, error)
}

// ProfileFunc adapts a function to ProfileMapper, for providers whose user
// document needs code to read.
type ProfileFunc func(raw []byte) (*oauthlogin.Profile, error)

// Profile implements ProfileMapper.
func (f ProfileFunc) Profile(raw []byte) (*oauthlogin.Profile, error) { return f(raw) }

// Fields maps a JSON user document to a Profile by member names: a name
// with dots ("data.id") walks into nested objects. An empty name leaves that
// Profile field empty. Subject may be a JSON string or number; any other
// type, or none, is an error. EmailVerified is true only for JSON true.
type Fields struct {
	Subject       string
	Email         string
	EmailVerified string
	Name          string
	Username      string
	AvatarURL     string
}

// StandardClaims maps OpenID Connect's standard claims (sub, email,
// email_verified, name, preferred_username, picture).
func StandardClaims() Fields {
	return Fields{
		Subject:       "sub",
		Email:         "email",
		EmailVerified: "email_verified",
		Name:          "name",
		Username:      "preferred_username",
		AvatarURL:     "picture",
	}
}

// Profile implements ProfileMapper.
func (f Fields) Profile(raw []byte) (*oauthlogin.Profile, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("providers: user document is not a JSON object: %w", err)
	}
	// Raw is handed on as JSON: nothing may follow the object.
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("providers: user document has data after its JSON object")
	}
	p := &oauthlogin.Profile{Raw: json.RawMessage(raw)}
	switch sub := lookup(doc, f.Subject).(type) {
	case string:
		p.Subject = sub
	case json.Number:
		p.Subject = sub.String()
	default:
		return nil, fmt.Errorf("providers: user document has no usable %q (a string or number)", f.Subject)
	}
	if p.Subject == "" {
		return nil, fmt.Errorf("providers: user document has an empty %q", f.Subject)
	}
	p.Email = str(lookup(doc, f.Email))
	p.EmailVerified = lookup(doc, f.EmailVerified) == true
	p.Name = str(lookup(doc, f.Name))
	p.Username = str(lookup(doc, f.Username))
	p.AvatarURL = str(lookup(doc, f.AvatarURL))
	return p, nil
}

// lookup walks a dotted path into decoded JSON; nil when absent.
func lookup(doc map[string]any, path string) any {
	if path == "" {
		return nil
	}
	var v any = doc
	for part := range strings.SplitSeq(path, ".") {
		obj, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = obj[part]
	}
	return v
}

func str(v any) string {
	s, _ := v.(string)
	return s
}
