package main

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserSignOutOfProvider: in Chromium, "sign out of the demo
// provider too" goes through the provider's end_session_endpoint
// (RP-Initiated Logout 1.0) and lands back on the app, signed out.
func TestBrowserSignOutOfProvider(t *testing.T) {
	app, _ := startDemoApp(t)
	tab := newChromium(t)

	step(t, tab, "signing in",
		chromedp.Navigate(app.URL+"/"),
		chromedp.WaitVisible(chromedp.ID("signin-demo")),
		chromedp.Click(chromedp.ID("signin-demo")),
	)
	demoLogin(t, tab, "Ada Lovelace", "ada@example.com", true)
	step(t, tab, "signing out of the provider too",
		chromedp.WaitVisible(chromedp.ID("signout-provider")),
		chromedp.Click(chromedp.ID("signout-provider")),
		chromedp.WaitVisible(chromedp.CSS(`#notice[data-done="provider-signed-out"]`)),
		chromedp.WaitVisible(chromedp.ID("signin-demo")),
		// The page drops ?done= from the address once it has shown it.
		poll(`location.search === ""`),
	)
	if loc := value(t, tab, "reading the location", chromedp.Location()); loc != app.URL+"/" {
		t.Errorf("back from the provider at %s, want the home page", loc)
	}
	step(t, tab, "opening the profile signed out",
		chromedp.Navigate(app.URL+"/profile"),
		chromedp.WaitVisible(chromedp.ID("signin-demo")),
	)
	if loc := value(t, tab, "reading the location", chromedp.Location()); loc != app.URL+"/" {
		t.Errorf("signed out, /profile ended at %s", loc)
	}
}

// TestBrowserStepUp: in Chromium, the step-up buttons go through the demo
// provider's login page again, and the profile shows the new login's
// auth_time (max_age=0) and acr (acr_values, with the second factor).
func TestBrowserStepUp(t *testing.T) {
	app, _ := startDemoApp(t)
	tab := newChromium(t)

	step(t, tab, "signing in",
		chromedp.Navigate(app.URL+"/"),
		chromedp.WaitVisible(chromedp.ID("signin-demo")),
		chromedp.Click(chromedp.ID("signin-demo")),
	)
	demoLogin(t, tab, "Ada Lovelace", "ada@example.com", true)
	step(t, tab, "landing on the profile", chromedp.WaitVisible(chromedp.ID("stepup-fresh")))
	first := authTime(t, tab)

	// auth_time has a resolution of a second: the new one is no earlier
	// than the second the step-up began in.
	began := time.Now().Truncate(time.Second)
	step(t, tab, "stepping up with max_age=0",
		chromedp.Click(chromedp.ID("stepup-fresh")),
		chromedp.WaitVisible(chromedp.ID("fresh-login")),
	)
	demoLogin(t, tab, "Ada Lovelace", "ada@example.com", true)
	step(t, tab, "back on the profile", chromedp.WaitVisible(chromedp.CSS(`#notice[data-done="stepped-up"]`)))
	fresh := authTime(t, tab)
	if fresh.IsZero() || fresh.Before(began) || fresh.Before(first) {
		t.Errorf("auth time after the max_age=0 step-up = %v; began at %v, first login %v", fresh, began, first)
	}

	step(t, tab, "stepping up with acr_values",
		chromedp.Click(chromedp.ID("stepup-acr")),
		chromedp.WaitVisible(chromedp.ID("acr-request")),
		chromedp.SendKeys(chromedp.ID("name"), "Ada Lovelace"),
		chromedp.SendKeys(chromedp.ID("email"), "ada@example.com"),
		chromedp.Click(chromedp.ID("second-factor")),
		chromedp.Click(chromedp.ID("approve")),
		chromedp.WaitVisible(chromedp.CSS(`#notice[data-done="stepped-up"]`)),
	)
	if acr := value(t, tab, "reading the acr", chromedp.Text(chromedp.ID("acr"))); acr != demoACRMultiFactor {
		t.Errorf("acr after the step-up = %q, want %q", acr, demoACRMultiFactor)
	}
}

// authTime reads the profile's auth time, zero when the provider did not
// say.
func authTime(t *testing.T, tab context.Context) time.Time {
	t.Helper()
	ms := value(t, tab, "reading the auth time", chromedp.Evaluate[string](`document.getElementById("auth-time").dataset.unixMs || ""`))
	if ms == "" {
		return time.Time{}
	}
	n, err := strconv.ParseInt(ms, 10, 64)
	if err != nil {
		t.Fatalf("auth time %q: %v", ms, err)
	}
	return time.UnixMilli(n)
}

// TestBrowserBackChannelURLs: the home page lists each provider's
// back-channel logout URL, the one to register at the provider.
func TestBrowserBackChannelURLs(t *testing.T) {
	app, _ := startDemoApp(t)
	tab := newChromium(t)
	step(t, tab, "opening the home page",
		chromedp.Navigate(app.URL+"/"),
		chromedp.WaitVisible(chromedp.ID("provider-urls")),
	)
	for _, name := range []string{"demo", "demo2"} {
		got := value(t, tab, "reading the back-channel URL of "+name, chromedp.Text(chromedp.ID("backchannel-"+name)))
		if want := app.URL + "/auth/" + name + "/backchannel-logout"; got != want {
			t.Errorf("back-channel logout URL of %s = %q, want %q", name, got, want)
		}
	}
	if got := value(t, tab, "reading the post-logout URI", chromedp.Text(chromedp.ID("post-logout-uri"))); got != app.URL+"/auth/logout/callback" {
		t.Errorf("post-logout redirect URI = %q", got)
	}
}

// TestBrowserSignOutOfProviderLocalOnly: in Chromium, "sign out of the
// provider too" with a provider that has no end_session_endpoint signs
// out of the app and says that the provider's session stays.
func TestBrowserSignOutOfProviderLocalOnly(t *testing.T) {
	app, _ := start(t, options{getenv: oidcEnv(noEndSession(t))})
	tab := newChromium(t)
	step(t, tab, "signing in",
		chromedp.Navigate(app.URL+"/"),
		chromedp.WaitVisible(chromedp.ID("signin-oidc")),
		chromedp.Click(chromedp.ID("signin-oidc")),
		chromedp.WaitVisible(chromedp.ID("no-end-session")),
	)
	step(t, tab, "signing out of the provider too",
		chromedp.Click(chromedp.ID("signout-provider")),
		chromedp.WaitVisible(chromedp.CSS(`#notice[data-done="signed-out-local"]`)),
		chromedp.WaitVisible(chromedp.ID("signin-oidc")),
		chromedp.Navigate(app.URL+"/profile"),
		chromedp.WaitVisible(chromedp.ID("signin-oidc")),
	)
	if loc := value(t, tab, "reading the location", chromedp.Location()); loc != app.URL+"/" {
		t.Errorf("signed out, /profile ended at %s", loc)
	}
}
