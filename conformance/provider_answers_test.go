package conformance_test

import (
	"github.com/oauthlogin/oauthlogin/providers"
)

// withProviderConfig sets the provider's Config (its HTTP client stays the
// harness's unless pc has one).
func withProviderConfig(pc providers.Config) option { return func(s *setup) { s.provider = pc } }
