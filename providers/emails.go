package providers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"

	"github.com/oauthlogin/oauthlogin"
)

// EmailList describes where a provider lists a user's e-mail addresses
// with their verification state, and how its entries read.
//
// The Profile's e-mail is then chosen so: the primary address when it is
// verified; else the user document's own address, verified only if the
// list says so; else the primary address, unverified. An address is never
// verified by default.
type EmailList struct {
	// URL is the list's endpoint, read like the user info endpoint. Empty
	// means that the list is in the user document itself.
	URL string
	// List is the dotted path to the array in the document; empty means
	// that the document is the array.
	List string
	// Email, Primary and Verified name each entry's members: the
	// address, and the booleans that mark it primary and verified.
	Email    string
	Primary  string
	Verified string
}

// readEmails completes profile from the provider's e-mail list. When the
// list's endpoint refuses (the scope was not granted, say), the profile
// keeps the document's address, unverified.
func (p *OAuth2Provider) readEmails(ctx context.Context, profile *oauthlogin.Profile, userDoc []byte, accessToken string) error {
	doc := userDoc
	if p.emails.URL != "" {
		body, err := p.fetch(ctx, p.method, p.emails.URL, accessToken)
		var se *statusError
		if errors.As(err, &se) {
			profile.EmailVerified = false
			return nil
		}
		if err != nil {
			return err
		}
		doc = body
	}
	entries, err := p.emails.entries(doc)
	if err != nil {
		return err
	}
	pickEmail(profile, entries)
	return nil
}

// emailEntry is one address of an EmailList.
type emailEntry struct {
	email             string
	primary, verified bool
}

func (l *EmailList) entries(doc []byte) ([]emailEntry, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if l.List != "" {
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, errors.New("providers: the e-mail document is not an object")
		}
		v = lookup(obj, l.List)
	}
	if v == nil {
		return nil, nil // no list: nothing is verified
	}
	list, ok := v.([]any)
	if !ok {
		return nil, errors.New("providers: the e-mail list is not an array")
	}
	var out []emailEntry
	for _, item := range list {
		obj, ok := item.(map[string]any)
		if !ok {
			continue
		}
		e := emailEntry{
			email:    str(lookup(obj, l.Email)),
			primary:  lookup(obj, l.Primary) == true,
			verified: lookup(obj, l.Verified) == true,
		}
		if e.email != "" {
			out = append(out, e)
		}
	}
	return out, nil
}

// pickEmail sets the profile's address from the list, as EmailList says.
func pickEmail(profile *oauthlogin.Profile, entries []emailEntry) {
	profile.EmailVerified = false
	for _, e := range entries {
		if e.primary && e.verified {
			profile.Email, profile.EmailVerified = e.email, true
			return
		}
	}
	if profile.Email != "" {
		for _, e := range entries {
			if e.verified && e.email == profile.Email {
				profile.EmailVerified = true
			}
		}
		return
	}
	for _, e := range entries {
		if e.primary {
			profile.Email, profile.EmailVerified = e.email, false
			return
		}
	}
}
