package redisstore

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/oauthlogin/oauthlogin"
)

// The codec lists fields by hand: a field added to Session or Identity
// must be added to it, or it would be silently lost. This test notices.
func TestCodecCoversEveryField(t *testing.T) {
	if n := reflect.TypeFor[oauthlogin.Session]().NumField(); n != 15 {
		t.Errorf("oauthlogin.Session has %d fields, the codec knows 15 (the record, LastSeen, the tokens' fields and the login facts): update encodeSession and decodeSession, or encodeFacts", n)
	}
	if n := reflect.TypeFor[oauthlogin.Identity]().NumField(); n != 11 {
		t.Errorf("oauthlogin.Identity has %d fields, the codec knows 11: update the identity codec", n)
	}
}

func TestCodecRoundTrip(t *testing.T) {
	now := time.Now()
	s := &oauthlogin.Session{ID: "id", UserID: "u", IdentityID: "i", Provider: "p", ProviderUID: "sub",
		ProviderAccessTokenExpiry: now.Add(time.Hour), ProviderTokens: []byte{1, 2, 3}, Created: now,
		Expires: now.Add(2 * time.Hour), IP: "::1", UserAgent: "ua"}
	got, err := decodeSession("id", string(encodeSession(s)), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	s.LastSeen = time.Time{}
	if !got.Created.Equal(s.Created) || !got.Expires.Equal(s.Expires) || !got.ProviderAccessTokenExpiry.Equal(s.ProviderAccessTokenExpiry) {
		t.Fatalf("times: %+v", got)
	}
	got.Created, got.Expires, got.ProviderAccessTokenExpiry = s.Created, s.Expires, s.ProviderAccessTokenExpiry
	if !reflect.DeepEqual(got, s) {
		t.Fatalf("round trip: %+v, want %+v", got, s)
	}
	if !got.LastSeen.IsZero() {
		t.Fatal("zero time did not survive")
	}
	for i := range len(encodeSession(s)) {
		if _, err := decodeSession("id", string(encodeSession(s)[:i]), time.Time{}); err == nil {
			t.Fatalf("a record cut at %d bytes decoded", i)
		}
	}
	id := &oauthlogin.Identity{ID: "x", UserID: "u", Issuer: "iss", Provider: "p", ProviderUID: "sub", ProviderEmail: "a@b",
		VerifiedEmail: "a@b", ProviderAccessTokenExpiry: now.UTC(), ProviderTokens: []byte{9}, Created: now.UTC(), Updated: now.UTC()}
	gotID, err := decodeIdentity("x", string(encodeIdentityFixed(id)), string(encodeIdentityMutable(id)))
	if err != nil || !reflect.DeepEqual(gotID, id) {
		t.Fatalf("identity round trip: %+v, %v", gotID, err)
	}
}

// The login facts are a field of their own: they round-trip exactly (a
// zero AuthTime stays zero), a login without any writes no field, and a
// cut or foreign value does not decode.
func TestCodecLoginFacts(t *testing.T) {
	if b := encodeFacts(&oauthlogin.Session{UserID: "u", Provider: "p"}); b != nil {
		t.Fatalf("a login without facts encodes %q, want no field", b)
	}
	for _, want := range []oauthlogin.Session{
		{ProviderSID: "sid", AuthTime: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), ACR: "urn:mfa"},
		{ProviderSID: "sid"},
		{AuthTime: time.Unix(1, 0).UTC()},
		{ACR: "0"},
	} {
		b := encodeFacts(&want)
		var got oauthlogin.Session
		if err := decodeFacts(string(b), &got); err != nil || got.ProviderSID != want.ProviderSID || !got.AuthTime.Equal(want.AuthTime) ||
			got.AuthTime.IsZero() != want.AuthTime.IsZero() || got.ACR != want.ACR {
			t.Fatalf("facts round trip: %+v, %v; want %+v", got, err, want)
		}
		for i := range len(b) {
			if err := decodeFacts(string(b[:i]), &got); err == nil {
				t.Fatalf("facts cut at %d bytes decoded", i)
			}
		}
	}
}

// A pending token-mode record written before v1 carries the pending flag;
// it decodes as errOldPending, never as a session.
func TestCodecOldPendingRecord(t *testing.T) {
	now := time.Now()
	s := &oauthlogin.Session{ID: "id", UserID: "u", Provider: "p", ProviderUID: "sub", Created: now, Expires: now.Add(time.Hour)}
	if got, err := decodeSession("id", string(encodeRecord(s, true)), now); !errors.Is(err, errOldPending) {
		t.Fatalf("an old pending record decoded as %+v, %v; want errOldPending", got, err)
	}
	if _, err := decodeSession("id", string(encodeSession(s)), now); err != nil {
		t.Fatalf("a session: %v", err)
	}
}
