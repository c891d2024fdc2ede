package providers_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/internal/testapp"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
	"github.com/oauthlogin/oauthlogin/providers"
)

var _ oauthlogin.LogoutProvider = (*providers.OIDCProvider)(nil)

// sidOf reads the sid claim of a JWT without verifying it.
func sidOf(t *testing.T, raw string) string {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", raw)
	}
	body, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		SID string `json:"sid"`
	}
	if err := json.Unmarshal(body, &c); err != nil {
		t.Fatal(err)
	}
	return c.SID
}

// Profile.SID is the verified ID token's sid (Back-Channel Logout 1.0
// §2.1: the sid a logout token names); a sid that is not a string is
// refused.
func TestIdentifySID(t *testing.T) {
	idp := testapp.NewIdP(t)
	p := newOIDC(t, idp, providers.Config{})
	prof, err := p.Identify(t.Context(), login(t, p, "n-1"), "n-1")
	if err != nil {
		t.Fatal(err)
	}
	if want := sidOf(t, idp.LastIDToken()); prof.SID == "" || prof.SID != want {
		t.Fatalf("SID = %q, want %q", prof.SID, want)
	}
	idp.Behave(oauthlogintest.Behavior{Claims: map[string]any{"sid": 5}})
	if _, err := p.Identify(t.Context(), login(t, p, "n-2"), "n-2"); !errors.Is(err, oauthlogin.ErrInvalidIDToken) {
		t.Fatalf("a number sid: %v, want ErrInvalidIDToken", err)
	}
}
