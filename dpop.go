package oauthlogin

import "net/http"

// roundTripDPoP sends req through base, with a DPoP proof when its
// context carries a DPoP key.
func (rp *registered) roundTripDPoP(base http.RoundTripper, req *http.Request) (*http.Response, error) {
	return base.RoundTrip(req)
}
