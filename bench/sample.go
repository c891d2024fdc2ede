package bench

import (
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"time"

	"github.com/oauthlogin/oauthlogin"
)

// SampleSession returns the i-th of a set of sessions shaped like the ones
// a login stores: another user each, Google-sized sealed provider tokens
// (access 180 and refresh 103 characters, sealed: 337 bytes), an IPv4
// address and a browser's user agent. Its token is SampleToken(i).
func SampleSession(i int) *oauthlogin.Session {
	now := time.Now()
	sum := sha256.Sum256([]byte(SampleToken(i)))
	n := strconv.Itoa(i)
	return &oauthlogin.Session{
		ID:                        base64.RawURLEncoding.EncodeToString(sum[:]),
		UserID:                    pad("u", n, 20),
		IdentityID:                pad("i", n, 20),
		Provider:                  "google",
		ProviderUID:               pad("1", n, 21),
		ProviderAccessTokenExpiry: now.Add(time.Hour),
		ProviderTokens:            make([]byte, 4+12+len(`{"a":"","r":"","t":"Bearer"}`)+180+103+16),
		Created:                   now,
		LastSeen:                  now,
		Expires:                   now.Add(30 * 24 * time.Hour),
		IP:                        "203.0.113." + strconv.Itoa(i%256),
		UserAgent:                 "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 #" + n,
	}
}

// SampleToken is the session token (cookie value) of SampleSession(i).
func SampleToken(i int) string {
	return pad("sample-session-token-", strconv.Itoa(i), 43)
}

// pad returns prefix + n filled with zeros to size characters.
func pad(prefix, n string, size int) string {
	b := make([]byte, 0, size)
	b = append(b, prefix...)
	for len(b)+len(n) < size {
		b = append(b, '0')
	}
	return string(append(b, n...))
}

// SampleIdentity returns the identity of SampleSession(i)'s user: a Google
// account with a verified email and sealed provider tokens of the same
// size as the session's.
func SampleIdentity(i int) *oauthlogin.Identity {
	now := time.Now()
	n := strconv.Itoa(i)
	email := "user" + n + "@example.com"
	return &oauthlogin.Identity{
		ID:                        pad("i", n, 20),
		UserID:                    pad("u", n, 20),
		Issuer:                    "https://accounts.google.com",
		Provider:                  "google",
		ProviderUID:               pad("1", n, 21),
		ProviderEmail:             email,
		VerifiedEmail:             email,
		ProviderAccessTokenExpiry: now.Add(time.Hour),
		ProviderTokens:            make([]byte, 4+12+len(`{"a":"","r":"","t":"Bearer"}`)+180+103+16),
		Created:                   now,
		Updated:                   now,
	}
}
