package oauthlogin_test

import (
	"errors"
	"testing"

	"github.com/oauthlogin/oauthlogin"
)

func TestNewRefusesBadConfig(t *testing.T) {
	key := oauthlogin.GenerateCookieKey()
	for name, cfg := range map[string]oauthlogin.Config{
		"NoBaseURL":        {Keys: oauthlogin.Keys{Cookie: []oauthlogin.CookieKey{key}}},
		"RelativeBaseURL":  {BaseURL: "/app", Keys: oauthlogin.Keys{Cookie: []oauthlogin.CookieKey{key}}},
		"NoKeys":           {BaseURL: "https://app.example.com"},
		"ShortHashKey":     {BaseURL: "https://app.example.com", Keys: oauthlogin.Keys{Cookie: []oauthlogin.CookieKey{{Hash: make([]byte, 16), Block: make([]byte, 32)}}}},
		"BadBlockKey":      {BaseURL: "https://app.example.com", Keys: oauthlogin.Keys{Cookie: []oauthlogin.CookieKey{{Hash: make([]byte, 32), Block: make([]byte, 20)}}}},
		"ShortTokenKey":    {BaseURL: "https://app.example.com", Keys: oauthlogin.Keys{Cookie: []oauthlogin.CookieKey{key}, Token: [][]byte{make([]byte, 16)}}},
		"PrefixNoSlash":    {BaseURL: "https://app.example.com", Keys: oauthlogin.Keys{Cookie: []oauthlogin.CookieKey{key}}, Prefix: "auth"},
		"RedirectWithPath": {BaseURL: "https://app.example.com", Keys: oauthlogin.Keys{Cookie: []oauthlogin.CookieKey{key}}, RedirectOrigins: []string{"https://app.example.com/done"}},
		"RedirectNoScheme": {BaseURL: "https://app.example.com", Keys: oauthlogin.Keys{Cookie: []oauthlogin.CookieKey{key}}, RedirectOrigins: []string{"app.example.com"}},
	} {
		if _, err := oauthlogin.New(cfg); !errors.Is(err, oauthlogin.ErrConfig) {
			t.Errorf("%s: New = %v, want ErrConfig", name, err)
		}
	}
}
