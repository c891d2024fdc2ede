package main

import "github.com/oauthlogin/oauthlogin"

// errorText explains, for people, each error code a failed sign-in, link
// or page action can come back with (the README's error table).
var errorText = map[string]string{
	oauthlogin.CodeUnknownProvider:    "There is no sign-in provider by that name in this app.",
	oauthlogin.CodeRedirectNotAllowed: "The sign-in link asked to return to a page outside this app, so it was refused.",
	oauthlogin.CodeScopeNotAllowed:    "The sign-in link asked the provider for a permission this app does not allow.",
	oauthlogin.CodeImplicitFlow:       "The sign-in link asked for the implicit flow, which is insecure and refused; this app uses the authorization code flow with PKCE.",
	oauthlogin.CodeStateMissing:       "The provider sent you back without the state value that ties the answer to your sign-in, so it could not be trusted.",
	oauthlogin.CodeStateMismatch:      "The provider's answer does not belong to a sign-in started in this browser: perhaps it took too long, or the link was opened elsewhere. Please start again.",
	oauthlogin.CodeStateReplayed:      "That sign-in answer was already used once (a reload or the back button, maybe). Please start again.",
	oauthlogin.CodeFlowExpired:        "The sign-in took too long between leaving this app and coming back, so it expired. Please start again.",
	oauthlogin.CodeProviderMismatch:   "The answer came back for a different provider than the one the sign-in was started with.",
	oauthlogin.CodeIssuerMismatch:     "The answer did not come from the provider it claims to come from (RFC 9207 iss check), so it was refused.",
	oauthlogin.CodeInvalidResponse:    "The provider's answer was malformed (a parameter was repeated), so it was refused.",
	oauthlogin.CodeAccessDenied:       "You, or the provider, declined the sign-in. Nothing was shared with this app.",
	oauthlogin.CodeProviderError:      "The provider reported an error and did not sign you in.",
	oauthlogin.CodeCodeMissing:        "The provider sent you back with neither an authorization code nor an error.",
	oauthlogin.CodeTokenExchange:      "This app could not redeem the authorization code at the provider's token endpoint: it failed, timed out or refused the code.",
	oauthlogin.CodeIDToken:            "The provider's ID token was missing or failed validation (signature, issuer, audience, expiry or nonce), so it was not trusted.",
	oauthlogin.CodeProfile:            "Your profile could not be read from the provider, or it lacked a user id.",
	oauthlogin.CodeIdentityConflict:   "That provider account is already linked to another user of this app. Accounts are never merged silently: sign in with it to use that user, or unlink it there first.",
	oauthlogin.CodeLoginDenied:        "This app does not allow that account to sign in.",
	oauthlogin.CodeLinkSession:        "The link finished in a different session than the one that started it (did you sign out or in meanwhile?). Please start the link again from your profile.",
	oauthlogin.CodeLinkRequiresPost:   "Linking an identity must be started with the link button on your profile page, not with a plain link.",
	oauthlogin.CodeLastIdentity:       "That is your only identity: unlinking it would leave you no way to sign in. Link another provider first.",
	oauthlogin.CodeNotFound:           "That identity does not exist, or is not yours.",
	oauthlogin.CodeNoSession:          "You are not signed in, or your session has ended.",
	oauthlogin.CodeNoRefreshToken:     "This session has no provider refresh token, so the access token cannot be renewed.",
	oauthlogin.CodeUnsupportedMode:    "The sign-in link asked for a mode this app does not know (only session and token).",
	oauthlogin.CodeInvalidSecret:      "The one-time sign-in secret was wrong, already used or expired. Please sign in again.",
	oauthlogin.CodeStoreUnavailable:   "This app's session store could not be reached just now. Please try again in a moment.",
	oauthlogin.CodeRefresh:            "The provider refused to refresh the access token, or its answer could not be trusted.",
	oauthlogin.CodeRefreshUnavailable: "The provider did not answer the refresh in time; your tokens are kept. Try again in a moment.",
	oauthlogin.CodeProviderRevoked:    "The provider no longer honours this app's access to your account. Sign in with it again to renew it.",
	oauthlogin.CodeCrossOrigin:        "A request from another site tried to change your session, and was refused.",
	oauthlogin.CodeServerError:        "Something went wrong on the server. The details are in its log, not here.",
}
