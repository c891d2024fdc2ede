package providers

import (
	"encoding/json"
	"errors"

	"golang.org/x/oauth2"
)

// Yammer returns Yammer (Viva Engage). Its token endpoint answers with
// the token nested in an object ("access_token": {"token": "..."}), which
// the provider flattens before x/oauth2 reads it. The profile is
// /api/v1/users/current.json; its address is not asserted verified.
//
// This is Yammer's legacy OAuth 2 flow
// (https://learn.microsoft.com/en-us/rest/api/yammer/oauth-2). Microsoft
// says that since July 1, 2025 legacy Yammer app registrations are
// restricted in every Viva Engage network and approved only for specific
// cases through a support case; it recommends Entra ID applications and
// tokens instead
// (https://learn.microsoft.com/en-us/rest/api/yammer/getting-started).
// Only apps whose legacy registration still works can use this provider;
// for anyone else, Microsoft (Entra ID) is the sign-in to use.
func Yammer(cfg Config) (*OAuth2Provider, error) {
	p, err := OAuth2("yammer", Spec{
		Endpoint: oauth2.Endpoint{
			AuthURL:   "https://www.yammer.com/oauth2/authorize",
			TokenURL:  "https://www.yammer.com/oauth2/access_token",
			AuthStyle: oauth2.AuthStyleInParams,
		},
		UserInfoURL: "https://www.yammer.com/api/v1/users/current.json",
		Profile:     Fields{Subject: "id", Email: "email", Name: "full_name", Username: "name", AvatarURL: "mugshot_url"},
	}, cfg)
	if err != nil {
		return nil, err
	}
	p.fixToken = flattenNestedToken
	return p, nil
}

// flattenNestedToken turns {"access_token": {"token": "t", ...}, ...}
// into {"access_token": "t", "token_type": "Bearer", ...}. A response whose
// access_token is already a string is kept as it is.
func flattenNestedToken(body []byte) ([]byte, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, err
	}
	var nested struct {
		Token string `json:"token"`
	}
	raw, ok := doc["access_token"]
	if !ok || len(raw) == 0 || raw[0] != '{' {
		return body, nil
	}
	if err := json.Unmarshal(raw, &nested); err != nil {
		return nil, err
	}
	if nested.Token == "" {
		return nil, errors.New("providers: the token response's access_token object has no token")
	}
	doc["access_token"], _ = json.Marshal(nested.Token)
	if _, ok := doc["token_type"]; !ok {
		doc["token_type"] = json.RawMessage(`"Bearer"`)
	}
	return json.Marshal(doc)
}
