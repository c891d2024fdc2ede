package providers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
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
// with dots ("data.id") walks into nested objects, and a number in it
// indexes an array ("images.0.url"). An empty name leaves that
// Profile field empty. Subject may be a JSON string or number; any other
// type, or none, is an error. EmailVerified is true only for JSON true, and
// only with an address.
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
	if f == StandardClaims() {
		return standardProfile(raw)
	}
	return f.mapProfile(raw)
}

// mapProfile is Profile by a decode of the whole document into a map.
func (f Fields) mapProfile(raw []byte) (*oauthlogin.Profile, error) {
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
	p.EmailVerified = p.Email != "" && lookup(doc, f.EmailVerified) == true
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
		switch node := v.(type) {
		case map[string]any:
			v = node[part]
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(node) {
				return nil
			}
			v = node[i]
		default:
			return nil
		}
	}
	return v
}

// Claim returns a member of a Profile's Raw document by a dotted path, as
// Fields reads them: a string, bool, json.Number, map[string]any or []any,
// or nil when it is absent or Raw is not a JSON object. Use it for what the
// Profile's fields leave out, such as Google's "hd" (GoogleHostedDomain
// reads that one).
func Claim(p *oauthlogin.Profile, path string) any {
	if p == nil || len(p.Raw) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(p.Raw))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil
	}
	return lookup(doc, path)
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// fieldsThen maps a document with f and then lets fix complete the
// profile from the decoded document: for the one field a provider spells
// in its own way (an avatar built from a hash, a name in two parts).
func fieldsThen(f Fields, fix func(doc map[string]any, p *oauthlogin.Profile)) ProfileFunc {
	return func(raw []byte) (*oauthlogin.Profile, error) {
		p, err := f.Profile(raw)
		if err != nil {
			return nil, err
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var doc map[string]any
		if err := dec.Decode(&doc); err != nil {
			return nil, err
		}
		fix(doc, p)
		return p, nil
	}
}

// joinName joins the non-empty parts of a name with spaces.
func joinName(parts ...string) string {
	var out []string
	for _, s := range parts {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return strings.Join(out, " ")
}
