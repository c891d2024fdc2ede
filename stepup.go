package oauthlogin

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// loginParamNames are the per-login authorization request parameters a
// begin request may carry (OpenID Connect Core §3.1.2.1), passed on to
// the provider after checking. They override the provider's own
// AuthParams of the same name; max_age and acr_values may only tighten
// them (tighten).
var loginParamNames = [...]string{"prompt", "login_hint", "max_age", "acr_values", "ui_locales"}

// Bounds on the per-login parameters.
const (
	maxLoginHint = 256
	maxACRValues = 256
	maxUILocales = 128
	// maxMaxAge is the largest max_age accepted: one year, in seconds.
	maxMaxAge = 365 * 24 * 60 * 60
	// authTimeLeeway is the clock skew allowed between the provider and
	// this host when auth_time is checked against max_age.
	authTimeLeeway = 2 * time.Minute
)

// loginParams checks a begin request's per-login parameters and returns
// them as they go to the provider, normalized, or nil when the request has
// none (the common case, which costs five map lookups). max_age and
// acr_values are also sealed in f, for the callback to check. Errors wrap
// errAuthParam.
func (rp *registered) loginParams(q url.Values, f *flow) (url.Values, error) {
	var out url.Values
	for _, name := range loginParamNames {
		vs, ok := q[name]
		if !ok {
			continue
		}
		if len(vs) != 1 {
			return nil, fmt.Errorf("%w: %s is repeated", errAuthParam, name)
		}
		v := vs[0]
		if v == "" {
			continue
		}
		var err error
		switch name {
		case "prompt":
			v, err = checkPrompt(v)
		case "login_hint":
			err = checkVSChars(name, v, maxLoginHint)
		case "max_age":
			var age int64
			if age, err = checkMaxAge(v); err == nil {
				v = strconv.FormatInt(age, 10)
				f.stepUp().MaxAge = &age
			}
		case "acr_values":
			if v, err = checkACRValues(v); err == nil {
				f.stepUp().ACRValues = v
			}
		case "ui_locales":
			v, err = checkUILocales(v)
		}
		if err != nil {
			return nil, err
		}
		if (name == "max_age" || name == "acr_values") && rp.oidc == nil {
			return nil, fmt.Errorf("%w: %s needs an OpenID provider, and %s is not one", errAuthParam, name, rp.name)
		}
		if out == nil {
			out = make(url.Values, len(loginParamNames))
		}
		out[name] = []string{v}
	}
	if err := rp.tighten(f); err != nil {
		return nil, err
	}
	return out, nil
}

// tighten applies the provider's own max_age and acr_values (rp.stepUp)
// to a flow: they go with every login, and a begin, whose URL anyone can
// write, may only ask for more: a max_age no larger, acr_values among the
// provider's. Anything looser is errAuthParam.
func (rp *registered) tighten(f *flow) error {
	d := rp.stepUp
	if d == nil {
		return nil
	}
	if d.MaxAge != nil {
		switch {
		case f.StepUp == nil || f.StepUp.MaxAge == nil:
			f.stepUp().MaxAge = d.MaxAge
		case *f.StepUp.MaxAge > *d.MaxAge:
			return fmt.Errorf("%w: max_age %d is above provider %s's %d", errAuthParam, *f.StepUp.MaxAge, rp.name, *d.MaxAge)
		}
	}
	if d.ACRValues != "" {
		if f.StepUp == nil || f.StepUp.ACRValues == "" {
			f.stepUp().ACRValues = d.ACRValues
			return nil
		}
		allowed := strings.Split(d.ACRValues, " ")
		for v := range strings.SplitSeq(f.StepUp.ACRValues, " ") {
			if !slices.Contains(allowed, v) {
				return fmt.Errorf("%w: acr_values %q is not among provider %s's", errAuthParam, truncate(v, 64), rp.name)
			}
		}
	}
	return nil
}

// setStepUp reads max_age and acr_values among the provider's own
// authorization parameters (providers.Config.AuthParams): every login
// sends them, so every callback checks them as it checks a begin's, which
// may only tighten them (tighten); a device login checks them too.
// Malformed ones, or either on a plain OAuth 2.0 provider, are ErrConfig.
func (rp *registered) setStepUp(params url.Values) error {
	var su stepUp
	for _, name := range [...]string{"max_age", "acr_values"} {
		vs, ok := params[name]
		if !ok {
			continue
		}
		if len(vs) != 1 {
			return fmt.Errorf("%w: provider %s sets auth parameter %s more than once", ErrConfig, rp.name, name)
		}
		if rp.oidc == nil {
			return fmt.Errorf("%w: provider %s sets auth parameter %s, which needs an OpenID provider", ErrConfig, rp.name, name)
		}
		if name == "max_age" {
			age, err := checkMaxAge(vs[0])
			if err != nil {
				return fmt.Errorf("%w: provider %s: %w", ErrConfig, rp.name, err)
			}
			su.MaxAge = &age
			continue
		}
		v, err := checkACRValues(vs[0])
		if err != nil {
			return fmt.Errorf("%w: provider %s: %w", ErrConfig, rp.name, err)
		}
		su.ACRValues = v
	}
	if su.MaxAge != nil || su.ACRValues != "" {
		rp.stepUp = &su
	}
	return nil
}

// checkPrompt checks a prompt parameter: space-separated values among
// login, consent, select_account and none, none alone (OpenID Connect Core
// §3.1.2.1), each once.
func checkPrompt(v string) (string, error) {
	if len(v) > 64 {
		return "", fmt.Errorf("%w: prompt is too long", errAuthParam)
	}
	values := strings.Split(v, " ")
	for i, p := range values {
		switch p {
		case "login", "consent", "select_account":
		case "none":
			if len(values) > 1 {
				return "", fmt.Errorf("%w: prompt=none must be alone", errAuthParam)
			}
		default:
			return "", fmt.Errorf("%w: prompt value %q is not login, consent, select_account or none", errAuthParam, truncate(p, 32))
		}
		if slices.Contains(values[:i], p) {
			return "", fmt.Errorf("%w: prompt value %s is repeated", errAuthParam, p)
		}
	}
	return v, nil
}

// checkVSChars refuses a value over limit bytes or with a byte outside
// VSCHAR (%x20-7E, RFC 6749 Appendix A).
func checkVSChars(name, v string, limit int) error {
	if len(v) > limit {
		return fmt.Errorf("%w: %s is over %d bytes", errAuthParam, name, limit)
	}
	if !vschars(v) {
		return fmt.Errorf("%w: %s has a byte outside %%x20-7E", errAuthParam, name)
	}
	return nil
}

// checkMaxAge reads max_age: a decimal number of seconds, digits only,
// from 0 to one year.
func checkMaxAge(v string) (int64, error) {
	if len(v) > 9 || strings.TrimLeft(v, "0123456789") != "" {
		return 0, fmt.Errorf("%w: max_age is not a number of seconds", errAuthParam)
	}
	age, err := strconv.ParseInt(v, 10, 64)
	if err != nil || age > maxMaxAge {
		return 0, fmt.Errorf("%w: max_age is over one year", errAuthParam)
	}
	return age, nil
}

// checkACRValues checks acr_values: tokens of NQCHAR (%x21 / %x23-5B /
// %x5D-7E; acr values are often URIs) separated by single spaces, at most
// maxACRValues bytes in all, each once.
func checkACRValues(v string) (string, error) {
	if len(v) > maxACRValues {
		return "", fmt.Errorf("%w: acr_values is over %d bytes", errAuthParam, maxACRValues)
	}
	values := strings.Split(v, " ")
	for i, a := range values {
		if a == "" {
			return "", fmt.Errorf("%w: acr_values has an empty value", errAuthParam)
		}
		if !nqchars(a) {
			return "", fmt.Errorf("%w: acr_values has a byte outside NQCHAR", errAuthParam)
		}
		if slices.Contains(values[:i], a) {
			return "", fmt.Errorf("%w: acr_values has a value twice", errAuthParam)
		}
	}
	return v, nil
}

// checkUILocales checks ui_locales: BCP 47 language tags separated by
// single spaces, at most maxUILocales bytes. A tag is checked for its
// shape (RFC 5646 §2.1: subtags of 1 to 8 letters and digits joined by
// hyphens, the first of 2 to 8 letters, or x or i for private use and
// grandfathered tags), not against the registry.
func checkUILocales(v string) (string, error) {
	if len(v) > maxUILocales {
		return "", fmt.Errorf("%w: ui_locales is over %d bytes", errAuthParam, maxUILocales)
	}
	for tag := range strings.SplitSeq(v, " ") {
		if !languageTag(tag) {
			return "", fmt.Errorf("%w: ui_locales has a value that is not a language tag", errAuthParam)
		}
	}
	return v, nil
}

// languageTag reports whether tag has the shape of a BCP 47 language tag.
func languageTag(tag string) bool {
	if tag == "" {
		return false
	}
	for i, sub := range strings.Split(tag, "-") {
		if len(sub) < 1 || len(sub) > 8 {
			return false
		}
		letters := true
		for j := 0; j < len(sub); j++ {
			c := sub[j] | 0x20 // lower case for letters
			switch {
			case c >= 'a' && c <= 'z':
			case sub[j] >= '0' && sub[j] <= '9':
				letters = false
			default:
				return false
			}
		}
		if i == 0 && !(letters && (len(sub) >= 2 || sub == "x" || sub == "X" || sub == "i" || sub == "I")) {
			return false
		}
	}
	return true
}

// checkLoginFacts checks what a flow asked of the authentication against
// the verified profile (OpenID Connect Core §3.1.2.1 and §3.1.3.7 steps
// 11-12): with max_age, auth_time must be present and no older than
// max_age (plus authTimeLeeway for clock skew); with acr_values, which are
// treated as essential, acr must be one of them.
func (m *Manager) checkLoginFacts(f *flow, p *Profile) error {
	if err := m.checkLoginBounds(p); err != nil {
		return err
	}
	su := f.StepUp
	if su == nil {
		return nil
	}
	if su.MaxAge != nil {
		if p.AuthTime.IsZero() {
			return fmt.Errorf("%w: the ID token has no auth_time", errAuthTooOld)
		}
		if age := m.now().Sub(p.AuthTime); age > time.Duration(*su.MaxAge)*time.Second+authTimeLeeway {
			return fmt.Errorf("%w: the user authenticated %s ago, max_age is %ds", errAuthTooOld, age.Truncate(time.Second), *su.MaxAge)
		}
	}
	if su.ACRValues != "" {
		if p.ACR == "" {
			return fmt.Errorf("%w: the ID token has no acr", errACRNotMet)
		}
		if !slices.Contains(strings.Split(su.ACRValues, " "), p.ACR) {
			return fmt.Errorf("%w: acr %q is none of those asked for", errACRNotMet, truncate(p.ACR, 64))
		}
	}
	return nil
}

// checkLoginBounds refuses an auth_time in the future (beyond
// authTimeLeeway), which would pass every max_age, here and in the host's
// own checks of Session.AuthTime, for the session's whole life; and a sid
// or acr over maxLoginFact bytes, which every session record (a cookie,
// an index key) would carry.
func (m *Manager) checkLoginBounds(p *Profile) error {
	if !p.AuthTime.IsZero() && p.AuthTime.After(m.now().Add(authTimeLeeway)) {
		return fmt.Errorf("%w: auth_time is in the future", ErrInvalidIDToken)
	}
	if len(p.SID) > maxLoginFact || len(p.ACR) > maxLoginFact {
		return fmt.Errorf("%w: sid or acr over %d bytes", ErrInvalidIDToken, maxLoginFact)
	}
	return nil
}

// maxLoginFact bounds the sid and acr a session records.
const maxLoginFact = 256

// stepUp returns f's step-up record, made on first use.
func (f *flow) stepUp() *stepUp {
	if f.StepUp == nil {
		f.StepUp = &stepUp{}
	}
	return f.StepUp
}

// promptErrors are the authorization errors OpenID Connect Core §3.1.2.6
// defines for requests that may not interact with the user (prompt=none),
// each answered under its own code.
var promptErrors = map[string]*Error{
	"login_required":             errLoginRequired,
	"interaction_required":       errInteractionRequired,
	"consent_required":           errConsentRequired,
	"account_selection_required": errAccountSelectionRequired,
}
