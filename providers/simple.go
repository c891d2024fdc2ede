package providers

import (
	"net/http"
	"net/url"

	"golang.org/x/oauth2"

	"github.com/oauthlogin/oauthlogin"
)

// This file declares the plain OAuth 2.0 providers that are data only:
// endpoints, default scopes, client authentication and a profile mapping,
// each taken from the provider's own documentation. None of them asserts
// a verified e-mail address unless its mapping names the member that says
// so.

// Amazon returns Login with Amazon. Default scope: profile. The profile
// (user_id, name, email) comes from https://api.amazon.com/user/profile;
// Amazon does not say whether the address is verified.
func Amazon(cfg Config) (*OAuth2Provider, error) {
	return OAuth2("amazon", Spec{
		Endpoint: oauth2.Endpoint{
			AuthURL:   "https://www.amazon.com/ap/oa",
			TokenURL:  "https://api.amazon.com/auth/o2/token",
			AuthStyle: oauth2.AuthStyleInParams,
		},
		UserInfoURL: "https://api.amazon.com/user/profile",
		Scopes:      []string{"profile"},
		Profile:     Fields{Subject: "user_id", Email: "email", Name: "name"},
	}, cfg)
}

// Bitbucket returns Bitbucket Cloud. Default scopes: account, email. The
// subject is the account's uuid; the address and whether it is confirmed
// come from /2.0/user/emails.
func Bitbucket(cfg Config) (*OAuth2Provider, error) {
	return OAuth2("bitbucket", Spec{
		Endpoint: oauth2.Endpoint{
			AuthURL:  "https://bitbucket.org/site/oauth2/authorize",
			TokenURL: "https://bitbucket.org/site/oauth2/access_token",
		},
		UserInfoURL: "https://api.bitbucket.org/2.0/user",
		Scopes:      []string{"account", "email"},
		Profile:     Fields{Subject: "uuid", Name: "display_name", Username: "nickname", AvatarURL: "links.avatar.href"},
		Emails: &EmailList{
			URL:  "https://api.bitbucket.org/2.0/user/emails",
			List: "values", Email: "email", Primary: "is_primary", Verified: "is_confirmed",
		},
	}, cfg)
}

// Bitly returns Bitly. It has no scopes; the subject is the login, and the
// addresses, with is_verified, are in the /v4/user document.
func Bitly(cfg Config) (*OAuth2Provider, error) {
	p, err := OAuth2("bitly", Spec{
		Endpoint: oauth2.Endpoint{
			AuthURL:   "https://bitly.com/oauth/authorize",
			TokenURL:  "https://api-ssl.bitly.com/oauth/access_token",
			AuthStyle: oauth2.AuthStyleInParams,
		},
		UserInfoURL: "https://api-ssl.bitly.com/v4/user",
		Profile:     Fields{Subject: "login", Name: "name", Username: "login"},
		Emails:      &EmailList{List: "emails", Email: "email", Primary: "is_primary", Verified: "is_verified"},
	}, cfg)
	if err != nil {
		return nil, err
	}
	p.untypedToken = true // its token response documents no token_type
	return p, nil
}

// Box returns Box. Scopes are set on the app in the console, so there are
// no default scopes. The address is the account's login, not asserted
// verified.
func Box(cfg Config) (*OAuth2Provider, error) {
	return OAuth2("box", Spec{
		Endpoint: oauth2.Endpoint{
			AuthURL:   "https://account.box.com/api/oauth2/authorize",
			TokenURL:  "https://api.box.com/oauth2/token",
			AuthStyle: oauth2.AuthStyleInParams,
		},
		UserInfoURL:   "https://api.box.com/2.0/users/me",
		RevocationURL: "https://api.box.com/oauth2/revoke",
		Profile:       Fields{Subject: "id", Email: "login", Name: "name", AvatarURL: "avatar_url"},
	}, cfg)
}

// Dailymotion returns Dailymotion. Default scopes: userinfo, email. Its
// user field "verified" marks verified partners, not addresses, so the
// address is never reported verified. The authorization endpoint is on
// api.dailymotion.com, as Dailymotion's API reference gives it
// (https://developers.dailymotion.com/reference/build-your-authorization-code);
// older libraries use www.dailymotion.com.
func Dailymotion(cfg Config) (*OAuth2Provider, error) {
	p, err := OAuth2("dailymotion", Spec{
		Endpoint: oauth2.Endpoint{
			AuthURL:   "https://api.dailymotion.com/oauth/authorize",
			TokenURL:  "https://api.dailymotion.com/oauth/token",
			AuthStyle: oauth2.AuthStyleInParams,
		},
		UserInfoURL: "https://api.dailymotion.com/user/me?fields=id,username,screenname,email,avatar_240_url",
		Scopes:      []string{"userinfo", "email"},
		Profile:     Fields{Subject: "id", Email: "email", Name: "screenname", Username: "username", AvatarURL: "avatar_240_url"},
	}, cfg)
	if err != nil {
		return nil, err
	}
	p.untypedToken = true // its token response documents no token_type
	return p, nil
}

// Discord returns Discord. Default scopes: identify, email. "verified"
// says whether the address is verified; the avatar URL is built from the
// avatar hash on Discord's CDN.
//
// The user is read from the versioned /api/v10/users/@me: Discord's API
// reference (https://discord.com/developers/docs/reference#api-versioning)
// routes unversioned paths to its default version, the deprecated v6, and
// tells clients to name a version; many libraries still use /api/users/@me.
// The OAuth2 URLs stay the unversioned ones Discord's OAuth2 page lists.
func Discord(cfg Config) (*OAuth2Provider, error) {
	return OAuth2("discord", Spec{
		Endpoint: oauth2.Endpoint{
			AuthURL:  "https://discord.com/oauth2/authorize",
			TokenURL: "https://discord.com/api/oauth2/token",
		},
		UserInfoURL:   "https://discord.com/api/v10/users/@me",
		RevocationURL: "https://discord.com/api/oauth2/token/revoke",
		Scopes:        []string{"identify", "email"},
		Profile: fieldsThen(Fields{Subject: "id", Email: "email", EmailVerified: "verified", Name: "global_name", Username: "username"},
			func(doc map[string]any, p *oauthlogin.Profile) {
				if p.Name == "" {
					p.Name = p.Username
				}
				if hash := str(doc["avatar"]); hash != "" {
					p.AvatarURL = "https://cdn.discordapp.com/avatars/" + url.PathEscape(p.Subject) + "/" + url.PathEscape(hash) + ".png"
				}
			}),
	}, cfg)
}

// Dropbox returns Dropbox. Default scope: account_info.read. The account
// is read with POST /2/users/get_current_account; with
// Config.OfflineAccess the authorization asks for token_access_type=offline
// to get a refresh token. The token host is api.dropboxapi.com, where
// Dropbox's own SDKs post (api.dropbox.com is an older alias).
func Dropbox(cfg Config) (*OAuth2Provider, error) {
	return OAuth2("dropbox", Spec{
		Endpoint: oauth2.Endpoint{
			AuthURL:  "https://www.dropbox.com/oauth2/authorize",
			TokenURL: "https://api.dropboxapi.com/oauth2/token",
		},
		UserInfoURL:    "https://api.dropboxapi.com/2/users/get_current_account",
		UserInfoMethod: http.MethodPost,
		Scopes:         []string{"account_info.read"},
		OfflineParams:  url.Values{"token_access_type": {"offline"}},
		Profile: Fields{Subject: "account_id", Email: "email", EmailVerified: "email_verified",
			Name: "name.display_name", AvatarURL: "profile_photo_url"},
	}, cfg)
}

// notionVersion is the Notion-Version header sent to Notion's token
// endpoint, which its API reference marks as required.
const notionVersion = "2025-09-03"

// Notion returns Notion (public integrations). Notion has no user info
// endpoint for the person who authorized: the user comes with the token,
// in its "owner" member, and the authorization asks for owner=user.
//
// Notion's token endpoint (code exchange and refresh alike) takes the
// client in HTTP Basic and its parameters as a JSON body, not a form
// (https://developers.notion.com/reference/create-a-token), with a
// Notion-Version header. Only the members Notion documents are sent:
// grant_type, code, redirect_uri and refresh_token. Notion does not
// document PKCE, so the code_verifier is not sent.
func Notion(cfg Config) (*OAuth2Provider, error) {
	if err := refuseClientAuth("notion", cfg, "its token requests are JSON, which carry no client assertion"); err != nil {
		return nil, err
	}
	p, err := OAuth2("notion", Spec{
		Endpoint: oauth2.Endpoint{
			AuthURL:  "https://api.notion.com/v1/oauth/authorize",
			TokenURL: "https://api.notion.com/v1/oauth/token",
		},
		AuthParams:     url.Values{"owner": {"user"}},
		TokenUserField: "owner",
		Profile:        Fields{Subject: "user.id", Email: "user.person.email", Name: "user.name", AvatarURL: "user.avatar_url"},
	}, cfg)
	if err != nil {
		return nil, err
	}
	p.tokenJSON = []string{"grant_type", "code", "redirect_uri", "refresh_token"}
	p.tokenHeader = http.Header{"Notion-Version": {notionVersion}}
	return p, nil
}

// Podio returns Podio. API requests carry the token as
// "Authorization: OAuth2 <token>", as Podio documents; the profile comes
// from /user/status (user.user_id, user.mail, profile.name).
//
// Podio's current server-side flow redeems codes and refresh tokens at
// https://api.podio.com/oauth/token/v2 with the client in a JSON body
// (https://developers.podio.com/authentication/server_side), not at the
// form-encoded /oauth/token of older guides and libraries. Only the
// documented members are sent; Podio does not document PKCE. /user/status
// documents no list of addresses nor any verification flag, so the
// address is not asserted verified. The avatar, profile.image, is not in
// Podio's list of contact fields; it is read when present.
func Podio(cfg Config) (*OAuth2Provider, error) {
	if err := refuseClientAuth("podio", cfg, "its token requests are JSON, which carry no client assertion"); err != nil {
		return nil, err
	}
	p, err := OAuth2("podio", Spec{
		Endpoint: oauth2.Endpoint{
			AuthURL:   "https://podio.com/oauth/authorize",
			TokenURL:  "https://api.podio.com/oauth/token/v2",
			AuthStyle: oauth2.AuthStyleInParams,
		},
		UserInfoURL: "https://api.podio.com/user/status",
		TokenScheme: "OAuth2",
		Profile:     Fields{Subject: "user.user_id", Email: "user.mail", Name: "profile.name", AvatarURL: "profile.image.thumbnail_link"},
	}, cfg)
	if err != nil {
		return nil, err
	}
	p.tokenJSON = []string{"grant_type", "client_id", "client_secret", "redirect_uri", "code", "refresh_token"}
	return p, nil
}

// Spotify returns Spotify. Default scopes: user-read-email,
// user-read-private. Spotify documents its e-mail address as unverified.
//
// The subject is account_id, which Spotify added to /v1/me in May 2026
// and tells apps to link accounts with, as it never changes; the user id
// ("id", kept as the username) may
// (https://developer.spotify.com/documentation/web-api/references/changes/may-2026).
// Since February 2026 apps in Development Mode get no e-mail address.
func Spotify(cfg Config) (*OAuth2Provider, error) {
	return OAuth2("spotify", Spec{
		Endpoint: oauth2.Endpoint{
			AuthURL:  "https://accounts.spotify.com/authorize",
			TokenURL: "https://accounts.spotify.com/api/token",
		},
		UserInfoURL: "https://api.spotify.com/v1/me",
		Scopes:      []string{"user-read-email", "user-read-private"},
		Profile:     Fields{Subject: "account_id", Email: "email", Name: "display_name", Username: "id", AvatarURL: "images.0.url"},
	}, cfg)
}

// Stripe returns Stripe Connect (OAuth for Standard accounts). Default
// scope: read_only. The client secret is the platform's secret API key.
// The profile is the connected account, GET /v1/account with the access
// token; its e-mail address is not asserted verified. Stripe no longer
// recommends OAuth for new Connect platforms
// (https://docs.stripe.com/connect/oauth-standard-accounts), and since
// June 2021 read_write cannot connect accounts another platform controls
// (https://docs.stripe.com/connect/oauth-reference).
func Stripe(cfg Config) (*OAuth2Provider, error) {
	return OAuth2("stripe", Spec{
		Endpoint: oauth2.Endpoint{
			AuthURL:   "https://connect.stripe.com/oauth/authorize",
			TokenURL:  "https://connect.stripe.com/oauth/token",
			AuthStyle: oauth2.AuthStyleInParams,
		},
		UserInfoURL: "https://api.stripe.com/v1/account",
		Scopes:      []string{"read_only"},
		Profile:     Fields{Subject: "id", Email: "email", Name: "settings.dashboard.display_name"},
	}, cfg)
}

// Tradeshift returns Tradeshift, or its sandbox (api-sandbox.tradeshift.com)
// when sandbox is true. Default scopes: openid, offline. The profile is
// /tradeshift/rest/external/account/info/user, whose Username is the
// address; it is not asserted verified. Tradeshift's reference was not
// readable from here: the endpoints and scopes are those its developer
// pages and a maintained vendor integration agree on.
func Tradeshift(sandbox bool, cfg Config) (*OAuth2Provider, error) {
	host := "https://api.tradeshift.com"
	if sandbox {
		host = "https://api-sandbox.tradeshift.com"
	}
	return OAuth2("tradeshift", Spec{
		Endpoint: oauth2.Endpoint{
			AuthURL:  host + "/tradeshift/auth/login",
			TokenURL: host + "/tradeshift/auth/token",
		},
		UserInfoURL: host + "/tradeshift/rest/external/account/info/user",
		Scopes:      []string{"openid", "offline"},
		Profile: fieldsThen(Fields{Subject: "Id", Email: "Username"}, func(doc map[string]any, p *oauthlogin.Profile) {
			p.Name = joinName(str(doc["FirstName"]), str(doc["LastName"]))
		}),
	}, cfg)
}

// PayPal returns Log in with PayPal, or the PayPal sandbox when sandbox is
// true. Default scopes: openid, email, profile. The profile is the
// paypalv1.1 userinfo document; an address counts as verified only when
// its entry says confirmed.
//
// The endpoints are those of PayPal's Log in with PayPal guide
// (https://developer.paypal.com/log-in/build-button: /signin/authorize;
// https://developer.paypal.com/log-in/build: /v1/oauth2/token) and of
// GET /v1/identity/oauth2/userinfo?schema=paypalv1.1
// (https://developer.paypal.com/docs/api/identity/v1/). PayPal's newer API
// reference (https://developer.paypal.com/api/identity/v1) lists only
// /v1/identity/openidconnect/userinfo?schema=openid; the paypalv1.1 one is
// kept because it is the one with per-address confirmation and moving
// would change how subjects are read.
func PayPal(sandbox bool, cfg Config) (*OAuth2Provider, error) {
	web, api := "https://www.paypal.com", "https://api-m.paypal.com"
	if sandbox {
		web, api = "https://www.sandbox.paypal.com", "https://api-m.sandbox.paypal.com"
	}
	return OAuth2("paypal", Spec{
		Endpoint: oauth2.Endpoint{
			AuthURL:  web + "/signin/authorize",
			TokenURL: api + "/v1/oauth2/token",
		},
		UserInfoURL: api + "/v1/identity/oauth2/userinfo?schema=paypalv1.1",
		Scopes:      []string{"openid", "email", "profile"},
		Profile:     Fields{Subject: "user_id", Name: "name"},
		Emails:      &EmailList{List: "emails", Email: "value", Primary: "primary", Verified: "confirmed"},
	}, cfg)
}

// WordPress returns WordPress.com. Default scope: auth, which is what
// /rest/v1.1/me needs; its email_verified is used as is.
func WordPress(cfg Config) (*OAuth2Provider, error) {
	return OAuth2("wordpress", Spec{
		Endpoint: oauth2.Endpoint{
			AuthURL:   "https://public-api.wordpress.com/oauth2/authorize",
			TokenURL:  "https://public-api.wordpress.com/oauth2/token",
			AuthStyle: oauth2.AuthStyleInParams,
		},
		UserInfoURL: "https://public-api.wordpress.com/rest/v1.1/me",
		Scopes:      []string{"auth"},
		Profile: Fields{Subject: "ID", Email: "email", EmailVerified: "email_verified",
			Name: "display_name", Username: "username", AvatarURL: "avatar_URL"},
	}, cfg)
}

// Yandex returns Yandex ID. Default scopes: login:info, login:email,
// login:avatar. Its API takes the token as "Authorization: OAuth <token>";
// the avatar URL is built from default_avatar_id. Yandex does not say
// whether default_email is verified.
func Yandex(cfg Config) (*OAuth2Provider, error) {
	return OAuth2("yandex", Spec{
		Endpoint: oauth2.Endpoint{
			AuthURL:  "https://oauth.yandex.com/authorize",
			TokenURL: "https://oauth.yandex.com/token",
		},
		UserInfoURL: "https://login.yandex.ru/info?format=json",
		TokenScheme: "OAuth",
		Scopes:      []string{"login:info", "login:email", "login:avatar"},
		Profile: fieldsThen(Fields{Subject: "id", Email: "default_email", Name: "real_name", Username: "login"},
			func(doc map[string]any, p *oauthlogin.Profile) {
				if p.Name == "" {
					p.Name = str(doc["display_name"])
				}
				if id := str(doc["default_avatar_id"]); id != "" && doc["is_avatar_empty"] != true {
					p.AvatarURL = "https://avatars.yandex.net/get-yapic/" + url.PathEscape(id) + "/islands-200"
				}
			}),
	}, cfg)
}

// Zoom returns Zoom. Scopes are set on the app in the Zoom App
// Marketplace, so there are no default scopes. The name falls back to
// first and last name.
//
// Zoom documents its user's "verified" (1 or 0) as whether the account is
// verified (https://marketplace.zoom.us/docs/api-reference/zoom-api/users/user),
// not the address, so the address is not asserted verified; some
// libraries read it as a verified address.
func Zoom(cfg Config) (*OAuth2Provider, error) {
	return OAuth2("zoom", Spec{
		Endpoint: oauth2.Endpoint{
			AuthURL:  "https://zoom.us/oauth/authorize",
			TokenURL: "https://zoom.us/oauth/token",
		},
		UserInfoURL:   "https://api.zoom.us/v2/users/me",
		RevocationURL: "https://zoom.us/oauth/revoke",
		Profile: fieldsThen(Fields{Subject: "id", Email: "email", Name: "display_name", AvatarURL: "pic_url"},
			func(doc map[string]any, p *oauthlogin.Profile) {
				if p.Name == "" {
					p.Name = joinName(str(doc["first_name"]), str(doc["last_name"]))
				}
			}),
	}, cfg)
}
