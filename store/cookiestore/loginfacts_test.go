package cookiestore_test

import (
	"testing"
	"time"

	"github.com/gorilla/securecookie"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/store/cookiestore"
)

// The sealed session keeps the login facts (the ID token's sid, auth_time
// and acr); empty ones are left out of the token, so a session without
// them costs the cookie nothing; and a token sealed before they existed
// opens with them empty.
func TestSealedLoginFacts(t *testing.T) {
	key := oauthlogin.GenerateCookieKey()
	store := cookiestore.New(oauthlogin.NewMemoryStore(), key)
	raw := securecookie.New(key.Hash, key.Block)
	raw.SetSerializer(securecookie.JSONEncoder{})
	raw.MaxLength(1 << 16)

	v := session(time.Now().Add(time.Hour))
	v.ProviderSID, v.AuthTime, v.ACR = "sid-1", time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), "urn:mfa"
	token, err := store.SealSession(v)
	if err != nil {
		t.Fatal(err)
	}
	got, err := store.OpenSession(token)
	if err != nil || got.ProviderSID != "sid-1" || !got.AuthTime.Equal(v.AuthTime) || got.ACR != "urn:mfa" || got.UserID != v.UserID {
		t.Fatalf("OpenSession = %+v, %v; want the login facts back", got, err)
	}

	v.ProviderSID, v.AuthTime, v.ACR = "", time.Time{}, ""
	token, err = store.SealSession(v)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	if err := raw.Decode("oauthlogin-session", token, &fields); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"ProviderSID", "AuthTime", "ACR", "Pending"} {
		if _, ok := fields[f]; ok {
			t.Errorf("a session without %s seals it anyway: %v", f, fields[f])
		}
	}
	if got, err := store.OpenSession(token); err != nil || got.ProviderSID != "" || !got.AuthTime.IsZero() || got.ACR != "" {
		t.Fatalf("OpenSession without facts = %+v, %v", got, err)
	}

	// A token of the version before: the Session without the three fields.
	type before struct {
		ID, UserID, IdentityID, Provider, ProviderUID string
		ProviderAccessTokenExpiry                     time.Time
		ProviderTokens                                []byte
		Created, LastSeen, Expires                    time.Time
		IP, UserAgent                                 string
	}
	old, err := raw.Encode("oauthlogin-session", before{ID: "id", UserID: "u", Provider: "p", ProviderUID: "s",
		ProviderTokens: []byte("sealed"), Created: v.Created, Expires: v.Expires})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := store.OpenSession(old); err != nil || got.UserID != "u" || string(got.ProviderTokens) != "sealed" ||
		got.ProviderSID != "" || !got.AuthTime.IsZero() || got.ACR != "" {
		t.Fatalf("a token sealed before the login facts = %+v, %v", got, err)
	}
}

// With sessions in the client nothing on the server can end them by the
// provider's sid: the cookie store is no ProviderSessionDeleter, even
// over an inner store that is one (whose sessions it never uses), so the
// Manager answers a back-channel logout that it cannot honour (the cookie
// store's logout limit) instead of deleting nothing and answering 200.
func TestNoProviderSessionDeleter(t *testing.T) {
	inner := oauthlogin.NewMemoryStore()
	if _, ok := any(inner).(oauthlogin.ProviderSessionDeleter); !ok {
		t.Fatal("the memory store is no ProviderSessionDeleter: the check below proves nothing")
	}
	if _, ok := any(cookiestore.New(inner, oauthlogin.GenerateCookieKey())).(oauthlogin.ProviderSessionDeleter); ok {
		t.Fatal("cookiestore.Store claims to delete sessions by sid, which live in the clients")
	}
}
