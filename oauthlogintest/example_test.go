package oauthlogintest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/oauth2"

	"github.com/oauthlogin/oauthlogin/oauthlogintest"
)

// Start a provider and read its discovery document, as an OIDC client would.
func Example() {
	idp := oauthlogintest.NewServer()
	defer idp.Close()

	resp, err := http.Get(idp.URL + "/.well-known/openid-configuration")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	var doc struct {
		Issuer        string   `json:"issuer"`
		TokenEndpoint string   `json:"token_endpoint"`
		PKCE          []string `json:"code_challenge_methods_supported"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("issuer is the server URL:", doc.Issuer == idp.URL)
	fmt.Println("token endpoint:", strings.TrimPrefix(doc.TokenEndpoint, idp.URL))
	fmt.Println("PKCE methods:", doc.PKCE)
	fmt.Println("discovery hits:", idp.Hits("discovery"))
	// Output:
	// issuer is the server URL: true
	// token endpoint: /token
	// PKCE methods: [S256]
	// discovery hits: 1
}

// Log in with the authorization code flow and PKCE, using a Browser to
// follow the provider's redirect up to the client's callback.
func Example_login() {
	idp := oauthlogintest.NewServer()
	defer idp.Close()
	ctx := context.Background()

	cfg := &oauth2.Config{
		ClientID:     idp.ClientID,
		ClientSecret: idp.ClientSecret,
		Endpoint:     oauth2.Endpoint{AuthURL: idp.URL + "/authorize", TokenURL: idp.URL + "/token"},
		RedirectURL:  "http://app.example/callback",
		Scopes:       []string{"openid", "email"},
	}
	verifier := oauth2.GenerateVerifier()
	authURL := cfg.AuthCodeURL("some-state", oauth2.S256ChallengeOption(verifier))

	atCallback := func(u *url.URL) bool { return u.Host == "app.example" }
	page, err := oauthlogintest.NewBrowser().Visit(ctx, authURL, atCallback)
	if err != nil {
		fmt.Println(err)
		return
	}
	callback := page.Location.Query()
	fmt.Println("state:", callback.Get("state"))

	tok, err := cfg.Exchange(ctx, callback.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("token type:", tok.TokenType)
	fmt.Println("has id_token:", tok.Extra("id_token") != nil)
	// Output:
	// state: some-state
	// token type: Bearer
	// has id_token: true
}

// Script the provider to fail, here with an unavailable token endpoint.
func ExampleServer_Behave() {
	idp := oauthlogintest.NewServer()
	defer idp.Close()
	idp.Behave(oauthlogintest.Behavior{TokenStatus: http.StatusServiceUnavailable})

	cfg := &oauth2.Config{
		ClientID:     idp.ClientID,
		ClientSecret: idp.ClientSecret,
		Endpoint:     oauth2.Endpoint{TokenURL: idp.URL + "/token"},
	}
	_, err := cfg.Exchange(context.Background(), "any-code")
	if rerr, ok := err.(*oauth2.RetrieveError); ok {
		fmt.Println(rerr.Response.StatusCode, rerr.ErrorCode)
	}
	// Output:
	// 503 temporarily_unavailable
}

// Ask the user: the authorization endpoint hands each request to a login
// page, and the page's form handler approves it for the user it names.
func ExampleServer_SetLoginPage() {
	idp := oauthlogintest.NewServer()
	defer idp.Close()
	idp.SetLoginPage(func(w http.ResponseWriter, r *http.Request, req oauthlogintest.LoginRequest) {
		// A real page renders a form with html/template; this one is a link.
		fmt.Fprintf(w, "%s/approve?id=%s", idp.URL, url.QueryEscape(req.ID))
	})
	idp.Handle("GET /approve", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		idp.Approve(w, r, r.FormValue("id"), oauthlogintest.User{Subject: "grace", Name: "Grace Hopper"})
	}))

	cfg := &oauth2.Config{
		ClientID: idp.ClientID,
		Endpoint: oauth2.Endpoint{AuthURL: idp.URL + "/authorize"},
		Scopes:   []string{"openid", "profile"},
		// Nothing listens here: the browser stops before following.
		RedirectURL: "http://app.example/callback",
	}
	b := oauthlogintest.NewBrowser()
	ctx := context.Background()
	page, err := b.Visit(ctx, cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("login page:", page.Status, page.Header.Get("Cache-Control"))

	atCallback := func(u *url.URL) bool { return u.Host == "app.example" }
	back, err := b.Visit(ctx, string(page.Body), atCallback)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("state:", back.Location.Query().Get("state"))
	fmt.Println("has code:", back.Location.Query().Get("code") != "")
	// Output:
	// login page: 200 no-store
	// state: st
	// has code: true
}
