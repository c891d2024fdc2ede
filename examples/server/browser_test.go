package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath is where Debian's chromium package puts the browser.
const chromiumPath = "/usr/bin/chromium"

// stepTimeout bounds every step of a browser test; browserTimeout the
// whole test.
const (
	stepTimeout    = 20 * time.Second
	browserTimeout = 2 * time.Minute
)

// newChromium starts headless Chromium with a fresh profile and returns a
// context for a tab in it. Without Chromium the test is skipped, except
// in CI (env CI set), where that is a failure.
func newChromium(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		msg := "headless Chromium not found at " + chromiumPath + ": apt-get install -y chromium"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	t.Cleanup(cancel)
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromiumPath),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
	)
	t.Cleanup(cancelAlloc)
	tab, cancelTab := chromedp.NewContext(alloc)
	t.Cleanup(cancelTab)
	// Start the browser with the tab's own context, without a step timeout:
	// it lives as long as that context.
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	return tab
}

// step runs actions in the tab, bounded by stepTimeout, and fails the test
// with what was being done.
func step(t *testing.T, tab context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v%s", what, err, where(tab))
	}
}

// value runs one action that returns a value, bounded by stepTimeout.
func value[T any](t *testing.T, tab context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v%s", what, err, where(tab))
	}
	return v
}

// where describes the page the tab is on, for failure messages.
func where(tab context.Context) string {
	ctx, cancel := context.WithTimeout(tab, 5*time.Second)
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return ""
	}
	text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	return "\nat " + loc + ":\n" + text
}

// poll waits until the JavaScript expression is truthy.
func poll(expression string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](expression, chromedp.WithPollingTimeout(stepTimeout))
}

// demoLogin fills in the demo provider's login page and approves.
func demoLogin(t *testing.T, tab context.Context, name, email string, verified bool) {
	t.Helper()
	actions := []chromedp.Action[chromedp.Void]{
		chromedp.WaitVisible(chromedp.ID("demo-banner")),
		chromedp.SendKeys(chromedp.ID("name"), name),
		chromedp.SendKeys(chromedp.ID("email"), email),
	}
	if verified {
		actions = append(actions, chromedp.Click(chromedp.ID("email-verified")))
	}
	actions = append(actions, chromedp.Click(chromedp.ID("approve")))
	step(t, tab, "approving on the demo login page", actions...)
}

// TestBrowser drives the example app and its demo providers in headless
// Chromium: sign in, refresh, link, unlink, sign out, and a denied consent.
func TestBrowser(t *testing.T) {
	app, _ := startDemoApp(t)
	tab := newChromium(t) // after the app, so that the browser closes first

	step(t, tab, "opening the home page",
		chromedp.EmulateViewport(1000, 800),
		chromedp.Navigate(app.URL+"/"),
		chromedp.WaitVisible(chromedp.ID("signin-demo")),
		chromedp.WaitVisible(chromedp.ID("signin-demo2")),
		chromedp.Click(chromedp.ID("signin-demo")),
		// The click navigates: wait for the provider's page to be shown
		// before reading it, or the read can race the document's swap.
		chromedp.WaitVisible(chromedp.ID("demo-banner")),
		chromedp.WaitVisible(chromedp.ID("approve")),
	)
	banner := value(t, tab, "reading the demo banner", chromedp.Text(chromedp.ID("demo-banner")))
	if !strings.Contains(banner, "demo provider — not for production") {
		t.Errorf("demo banner = %q", banner)
	}
	loginURL := value(t, tab, "reading the login page URL", chromedp.Location())
	if strings.HasPrefix(loginURL, app.URL) {
		t.Errorf("login page at %s: want the demo provider's own origin", loginURL)
	}
	demoLogin(t, tab, "Ada Lovelace", "ada@example.com", true)

	step(t, tab, "landing on the profile",
		chromedp.WaitVisible(chromedp.ID("profile")),
		poll(`document.getElementById("provider").textContent === "demo"`),
		poll(`document.querySelectorAll(".identity").length === 1`),
		poll(`document.getElementById("has-refresh-token").textContent === "yes"`),
		// The countdown runs.
		poll(`/^\(in \d+m \d+s\)$/.test(document.getElementById("token-countdown").textContent)`),
	)
	identity := value(t, tab, "reading the identity", chromedp.Text(chromedp.CSS(".identity")))
	if !strings.Contains(identity, "ada@example.com (verified)") || !strings.Contains(identity, subjectFor("ada@example.com")) {
		t.Errorf("identity = %q", identity)
	}

	expiry := value(t, tab, "reading the token expiry", chromedp.Evaluate[string](`document.getElementById("token-expiry").dataset.unixMs`))
	step(t, tab, "refreshing the provider token",
		chromedp.Click(chromedp.ID("refresh")),
		chromedp.WaitVisible(chromedp.CSS(`#notice[data-done="refreshed"]`)),
		poll(`document.getElementById("token-expiry").dataset.unixMs !== `+jsString(expiry)),
	)
	after := value(t, tab, "reading the new token expiry", chromedp.Evaluate[string](`document.getElementById("token-expiry").dataset.unixMs`))
	if after <= expiry { // same length: milliseconds since 1970, 13 digits
		t.Errorf("token expiry went from %s to %s, want later", expiry, after)
	}

	step(t, tab, "linking the second demo provider", chromedp.Click(chromedp.ID("link-demo2")))
	demoLogin(t, tab, "Grace Hopper", "grace@example.com", false)
	step(t, tab, "seeing two identities",
		chromedp.WaitVisible(chromedp.CSS(`#notice[data-done="linked"]`)),
		poll(`document.querySelectorAll(".identity").length === 2`),
		poll(`document.getElementById("identity-count").textContent === "2"`),
		poll(`document.querySelector('.identity[data-provider="demo2"]').textContent.includes("grace@example.com (not verified)")`),
	)
	shot := value(t, tab, "taking a screenshot", chromedp.FullScreenshot(100))
	writeScreenshot(t, shot)

	current := value(t, tab, "reading the session's provider", chromedp.Text(chromedp.ID("provider")))
	step(t, tab, "unlinking the other identity",
		chromedp.Click(chromedp.CSS(`.identity:not([data-provider="`+current+`"]) .unlink`)),
		chromedp.WaitVisible(chromedp.CSS(`#notice[data-done="unlinked"]`)),
		poll(`document.querySelectorAll(".identity").length === 1`),
		poll(`document.querySelector(".identity").dataset.provider === `+jsString(current)),
	)

	step(t, tab, "at phone width",
		chromedp.EmulateViewport(390, 844),
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.ID("profile")),
		poll(`document.documentElement.scrollWidth <= document.documentElement.clientWidth`),
		chromedp.EmulateViewport(1000, 800),
	)

	step(t, tab, "signing out",
		chromedp.Click(chromedp.ID("signout")),
		chromedp.WaitVisible(chromedp.CSS(`#notice[data-done="signed-out"]`)),
		chromedp.WaitVisible(chromedp.ID("signin-demo")),
		chromedp.Navigate(app.URL+"/profile"),
		chromedp.WaitVisible(chromedp.ID("signin-demo")),
	)
	if loc := value(t, tab, "reading the location", chromedp.Location()); loc != app.URL+"/" {
		t.Errorf("signed out, /profile ended at %s", loc)
	}

	step(t, tab, "denying consent",
		chromedp.Click(chromedp.ID("signin-demo")),
		chromedp.WaitVisible(chromedp.ID("deny")),
		chromedp.Click(chromedp.ID("deny")),
		chromedp.WaitVisible(chromedp.ID("error-code")),
	)
	if code := value(t, tab, "reading the error code", chromedp.Text(chromedp.ID("error-code"))); code != "access_denied" {
		t.Errorf("error code = %q, want access_denied", code)
	}
	if text := value(t, tab, "reading the explanation", chromedp.Text(chromedp.ID("error-explanation"))); text != errorText["access_denied"] {
		t.Errorf("explanation = %q", text)
	}
}

// writeScreenshot saves the profile page's screenshot in the test's temp
// directory and, with UPDATE_SCREENSHOT=1, as the README's
// docs/screenshot.png.
func writeScreenshot(t *testing.T, png []byte) {
	t.Helper()
	if len(png) == 0 {
		t.Error("empty screenshot")
		return
	}
	files := []string{filepath.Join(t.TempDir(), "profile.png")}
	if os.Getenv("UPDATE_SCREENSHOT") == "1" {
		files = append(files, filepath.Join("..", "..", "docs", "screenshot.png"))
	}
	for _, f := range files {
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", f)
	}
}

// jsString quotes s as a JavaScript string literal (s holds only digits
// and letters here).
func jsString(s string) string {
	if strings.ContainsAny(s, `"\`+"\n") {
		panic(errors.New("jsString: unexpected character"))
	}
	return `"` + s + `"`
}
