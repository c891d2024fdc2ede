package providers

import (
	"testing"

	"golang.org/x/oauth2"
)

func TestAuthStyle(t *testing.T) {
	tests := []struct {
		methods []string
		want    oauth2.AuthStyle
	}{
		// OpenID Connect Discovery §3: the default is client_secret_basic.
		{nil, oauth2.AuthStyleInHeader},
		{[]string{}, oauth2.AuthStyleInHeader},
		{[]string{"client_secret_basic"}, oauth2.AuthStyleInHeader},
		{[]string{"client_secret_basic", "client_secret_post"}, oauth2.AuthStyleInHeader},
		{[]string{"client_secret_post", "client_secret_basic"}, oauth2.AuthStyleInHeader},
		{[]string{"client_secret_post"}, oauth2.AuthStyleInParams},
		{[]string{"private_key_jwt", "client_secret_post"}, oauth2.AuthStyleInParams},
		{[]string{"private_key_jwt"}, oauth2.AuthStyleInHeader},
		{[]string{"none"}, oauth2.AuthStyleInHeader},
	}
	for _, tt := range tests {
		if got := authStyle(tt.methods); got != tt.want {
			t.Errorf("authStyle(%q) = %v, want %v", tt.methods, got, tt.want)
		}
	}
}
