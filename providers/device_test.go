package providers_test

import (
	"testing"

	"github.com/oauthlogin/oauthlogin/providers"
)

// GitHub declares its device authorization endpoint; OpenID providers get
// theirs from discovery.
func TestGitHubDeviceEndpoint(t *testing.T) {
	p, err := providers.GitHub(providers.Config{ClientID: "c", ClientSecret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	if got := p.OAuth2Config().Endpoint.DeviceAuthURL; got != "https://github.com/login/device/code" {
		t.Fatalf("DeviceAuthURL = %q", got)
	}
}
