package providers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/oauthlogin/oauthlogin"
)

// standardFields reads OpenID Connect's standard claims as StandardClaims'
// Fields reads them, in one typed decode instead of a map of every member:
// sub a string or number, email_verified true only for JSON true, the
// others strings, anything else empty. Like every struct decode of
// encoding/json (and go-oidc's own of iss, sub, aud and nonce), member
// names match case-insensitively when no member has the exact name; a
// member that repeats counts as its last value.
type standardFields struct {
	Sub               claimSubject `json:"sub"`
	Email             claimString  `json:"email"`
	EmailVerified     claimTrue    `json:"email_verified"`
	Name              claimString  `json:"name"`
	PreferredUsername claimString  `json:"preferred_username"`
	Picture           claimString  `json:"picture"`
}

// profile is Fields.Profile's result for the standard claims, with raw as
// the Profile's Raw document.
func (s *standardFields) profile(raw json.RawMessage) (*oauthlogin.Profile, error) {
	if !s.Sub.ok {
		return nil, fmt.Errorf("providers: user document has no usable %q (a string or number)", "sub")
	}
	if s.Sub.v == "" {
		return nil, fmt.Errorf("providers: user document has an empty %q", "sub")
	}
	p := &oauthlogin.Profile{
		Subject:   s.Sub.v,
		Email:     string(s.Email),
		Name:      string(s.Name),
		Username:  string(s.PreferredUsername),
		AvatarURL: string(s.Picture),
		Raw:       raw,
	}
	p.EmailVerified = p.Email != "" && bool(s.EmailVerified)
	return p, nil
}

// standardProfile is StandardClaims().Profile(raw). A document that is not
// a JSON object fails the decode, as it fails Fields.Profile's.
func standardProfile(raw []byte) (*oauthlogin.Profile, error) {
	var s standardFields
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("providers: user document is not a JSON object: %w", err)
	}
	return s.profile(json.RawMessage(raw))
}

// claimString is a member read as a string: its value when it is a JSON
// string, else empty.
type claimString string

// UnmarshalJSON implements json.Unmarshaler. encoding/json has checked b:
// a string without escapes, in valid UTF-8, is its bytes between the
// quotes; any other is unquoted by encoding/json (which also replaces
// invalid UTF-8, as a decode into a map does).
func (c *claimString) UnmarshalJSON(b []byte) error {
	*c = ""
	if len(b) == 0 || b[0] != '"' {
		return nil
	}
	if bytes.IndexByte(b, '\\') < 0 && utf8.Valid(b) {
		*c = claimString(b[1 : len(b)-1])
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*c = claimString(s)
	return nil
}

// claimSubject is a subject member: a JSON string, or a JSON number as
// written; ok is false for any other type.
type claimSubject struct {
	v  string
	ok bool
}

// UnmarshalJSON implements json.Unmarshaler. encoding/json has checked b.
func (c *claimSubject) UnmarshalJSON(b []byte) error {
	*c = claimSubject{}
	switch {
	case len(b) > 0 && b[0] == '"':
		var s claimString
		if err := s.UnmarshalJSON(b); err != nil {
			return err
		}
		*c = claimSubject{v: string(s), ok: true}
	case isJSONNumber(b):
		*c = claimSubject{v: string(b), ok: true}
	}
	return nil
}

// claimTrue is a member that counts only when it is JSON true.
type claimTrue bool

// UnmarshalJSON implements json.Unmarshaler.
func (c *claimTrue) UnmarshalJSON(b []byte) error {
	*c = string(b) == "true"
	return nil
}

// claimStrictString is a member that must be a JSON string when present
// and not null: bad records another type, for the caller to refuse.
type claimStrictString struct {
	v        string
	set, bad bool
}

// UnmarshalJSON implements json.Unmarshaler.
func (c *claimStrictString) UnmarshalJSON(b []byte) error {
	*c = claimStrictString{}
	switch {
	case string(b) == "null":
	case len(b) > 0 && b[0] == '"':
		var s claimString
		if err := s.UnmarshalJSON(b); err != nil {
			return err
		}
		*c = claimStrictString{v: string(s), set: true}
	default:
		c.bad = true
	}
	return nil
}
