// Package oauthlogintest provides an in-process fake OpenID Connect and
// OAuth 2.0 provider for tests, in the spirit of net/http/httptest.
//
// A [Server] listens on a loopback address and speaks real HTTP: it serves
// a discovery document, a JWKS, an authorization endpoint that approves the
// current [User] at once (or shows a login page, see below), a token
// endpoint that signs real RS256 ID tokens, a userinfo endpoint and an
// RFC 7009 revocation endpoint. A [Behavior] makes it misbehave in one
// precise way at a time (wrong issuer, bad signature, slow or failing token
// endpoint, ...), so that tests can check that a client refuses what it
// must refuse.
//
// The endpoints, relative to [Server.URL], are:
//
//	GET      /.well-known/openid-configuration
//	GET      /jwks
//	GET      /authorize
//	POST     /token
//	GET|POST /userinfo
//	POST     /revoke
//	POST     /par       pushed authorization requests (RFC 9126)
//
// The authorization endpoint honours prompt (none is answered
// login_required while nobody is signed in at the provider, see
// [Server.SetAuthTime]; login authenticates the user again), max_age
// (auth_time in every ID token) and acr_values (the acr claim).
//
// A typical test:
//
//	idp := oauthlogintest.NewServer()
//	defer idp.Close()
//	idp.SetUser(oauthlogintest.User{Subject: "42", Email: "grace@example.com", EmailVerified: true})
//
//	cfg := &oauth2.Config{
//		ClientID:     idp.ClientID,
//		ClientSecret: idp.ClientSecret,
//		Endpoint: oauth2.Endpoint{
//			AuthURL:  idp.URL + "/authorize",
//			TokenURL: idp.URL + "/token",
//		},
//		RedirectURL: app.URL + "/auth/fake/callback",
//		Scopes:      []string{"openid", "email", "profile"},
//	}
//
//	// Drive the login like a browser would, stopping at the app's callback
//	// or following it into the app.
//	page, err := oauthlogintest.NewBrowser().Visit(ctx, app.URL+"/auth/fake", nil)
//
// To test the failure paths, script the provider before the login:
//
//	idp.Behave(oauthlogintest.Behavior{BadSignature: true})
//
// What the other fields do not script, [Behavior.Raw] does: any endpoint
// can answer with raw bytes (HTML, truncated JSON, null, 100 MB, a body
// that drips one byte at a time, or nothing at all), and
// [Behavior.Intercept] puts the test's own middleware in front of an
// endpoint, to observe its requests:
//
//	idp.Behave(oauthlogintest.Behavior{Raw: map[string]oauthlogintest.RawResponse{
//		"userinfo": {ContentType: "application/json", Body: []byte(`{"sub":`)},
//	}})
//
// For a demo, or a test that drives a real browser, the server can ask the
// user instead of approving at once. [Server.SetLoginPage] sets a handler
// that receives each valid authorization request as a [LoginRequest];
// routes mounted with [Server.Handle] (served from the provider's own
// origin) finish it with [Server.Approve] for a [User] the page chose, or
// [Server.Deny]:
//
//	idp.SetLoginPage(func(w http.ResponseWriter, r *http.Request, req oauthlogintest.LoginRequest) {
//		loginForm.Execute(w, req) // a form that posts req.ID to /login
//	})
//	idp.Handle("POST /login", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
//		idp.Approve(w, r, r.PostFormValue("id"), oauthlogintest.User{Subject: r.PostFormValue("email")})
//	}))
//
// DPoP (RFC 9449): the token and userinfo endpoints verify a DPoP proof
// whenever a request carries one (typ, ES256, signature by the embedded
// jwk, htm, htu, iat, single-use jti, ath at userinfo), answer
// token_type DPoP and bind the tokens to the key: a bound refresh token
// needs a proof by the same key, a bound access token must come as
// "Authorization: DPoP". [Behavior.DPoPNonce] requires rotating server
// nonces, [Behavior.IgnoreDPoP] answers Bearer despite a proof, and
// [Server.DPoPProofs] counts the proofs verified.
package oauthlogintest
