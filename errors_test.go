package oauthlogin_test

import (
	"errors"
	"fmt"

	"github.com/oauthlogin/oauthlogin"
)

// An error the Manager reports wraps a sentinel: errors.Is tests for it,
// and errors.As gives its code (the failure redirect's error parameter)
// and the HTTP status of its JSON answer.
func ExampleError() {
	err := fmt.Errorf("signing in: %w", oauthlogin.ErrNoRefreshToken)
	var e *oauthlogin.Error
	if errors.As(err, &e) {
		fmt.Println(e.Code(), e.HTTPStatus())
	}
	fmt.Println(errors.Is(err, oauthlogin.ErrNoRefreshToken), oauthlogin.Code(err))
	fmt.Println(oauthlogin.Code(errors.New("disk full")))
	// Output:
	// no_refresh_token 400
	// true no_refresh_token
	// server_error
}
