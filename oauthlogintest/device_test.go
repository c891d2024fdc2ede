package oauthlogintest_test

import (
	"context"
	"errors"
	"testing"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/oauthlogin/oauthlogin/oauthlogintest"
)

func deviceConfig(s *oauthlogintest.Server) *oauth2.Config {
	return &oauth2.Config{
		ClientID: s.ClientID, ClientSecret: s.ClientSecret,
		Endpoint: oauth2.Endpoint{TokenURL: s.URL + "/token", DeviceAuthURL: s.URL + "/device", AuthStyle: oauth2.AuthStyleInHeader},
		Scopes:   []string{"openid", "email"},
	}
}

// poll asks the token endpoint once with x/oauth2's device grant and a
// context that ends after that one request's answer.
func poll(t *testing.T, cfg *oauth2.Config, code string) (*oauth2.Token, string) {
	t.Helper()
	form := map[string][]string{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "device_code": {code}}
	tok, err := cfg.Exchange(context.Background(), "", oauth2.SetAuthURLParam("grant_type", form["grant_type"][0]), oauth2.SetAuthURLParam("device_code", code))
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return nil, re.ErrorCode
	}
	if err != nil {
		t.Fatal(err)
	}
	return tok, ""
}

func TestDeviceGrant(t *testing.T) {
	s := oauthlogintest.NewServer()
	defer s.Close()
	cfg := deviceConfig(s)
	da, err := cfg.DeviceAuth(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(da.UserCode) != 9 || da.VerificationURI != s.URL+"/activate" || da.Interval != 5 {
		t.Fatalf("device authorization %+v", da)
	}
	if _, e := poll(t, cfg, da.DeviceCode); e != "authorization_pending" {
		t.Fatalf("before approval: %q", e)
	}
	s.Behave(oauthlogintest.Behavior{DevicePolls: []string{"slow_down"}})
	if _, e := poll(t, cfg, da.DeviceCode); e != "slow_down" {
		t.Fatalf("scripted: %q", e)
	}
	if err := s.ApproveDevice("nope", oauthlogintest.User{Subject: "x"}); err == nil {
		t.Fatal("approved an unknown user code")
	}
	if err := s.ApproveDevice(da.UserCode, oauthlogintest.User{Subject: "tv-user"}); err != nil {
		t.Fatal(err)
	}
	tok, e := poll(t, cfg, da.DeviceCode)
	if e != "" || tok.AccessToken == "" || tok.RefreshToken == "" || tok.Extra("id_token") == nil {
		t.Fatalf("after approval: %v %q", tok, e)
	}
	if _, e := poll(t, cfg, da.DeviceCode); e != "invalid_grant" {
		t.Fatalf("a device code used twice: %q", e)
	}
	if s.Hits("device") != 1 {
		t.Fatalf("device hits %d", s.Hits("device"))
	}

	// Denied, and expired.
	da2, _ := cfg.DeviceAuth(context.Background())
	if err := s.DenyDevice(da2.UserCode); err != nil {
		t.Fatal(err)
	}
	if _, e := poll(t, cfg, da2.DeviceCode); e != "access_denied" {
		t.Fatalf("denied: %q", e)
	}
	s.Behave(oauthlogintest.Behavior{DeviceExpiresIn: -1})
	da3, _ := cfg.DeviceAuth(context.Background())
	if _, e := poll(t, cfg, da3.DeviceCode); e != "expired_token" {
		t.Fatalf("expired: %q", e)
	}
}

func TestClientCredentialsGrant(t *testing.T) {
	s := oauthlogintest.NewServer()
	defer s.Close()
	cc := clientcredentials.Config{ClientID: s.ClientID, ClientSecret: s.ClientSecret, TokenURL: s.URL + "/token", Scopes: []string{"reports"}}
	tok, err := cc.Token(context.Background())
	if err != nil || tok.AccessToken == "" || tok.RefreshToken != "" {
		t.Fatalf("client credentials: %v, %v", tok, err)
	}
	cc.ClientSecret = "wrong"
	if _, err := cc.Token(context.Background()); err == nil {
		t.Fatal("a wrong secret got a token")
	}
}
