package oauthlogintest

import "net/http"

// Hold returns an interceptor for Behavior.Intercept that makes the
// endpoint's requests wait until release is called, or until the client
// gives up: the way to test what happens while a back-channel request is
// in flight (a logout during a slow refresh, say) without sleeping.
// entered receives once a request is waiting; release may be called once.
func Hold() (intercept func(http.Handler) http.Handler, entered <-chan struct{}, release func()) {
	in := make(chan struct{}, 1)
	gate := make(chan struct{})
	intercept = func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case in <- struct{}{}:
			default:
			}
			select {
			case <-gate:
			case <-r.Context().Done():
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	return intercept, in, func() { close(gate) }
}
