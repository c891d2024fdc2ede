package oauthlogintest_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/oauthlogin/oauthlogin/oauthlogintest"
)

// newApp serves a small redirect chain that needs a cookie set on the way.
func newApp(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /start", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "flow", Value: "abc", Path: "/"})
		http.Redirect(w, r, "/middle", http.StatusFound)
	})
	mux.HandleFunc("GET /middle", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/end", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /end", func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie("flow")
		if err != nil {
			http.Error(w, "no cookie", http.StatusForbidden)
			return
		}
		w.Write([]byte("hello " + c.Value))
	})
	mux.HandleFunc("GET /loop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop", http.StatusFound)
	})
	app := httptest.NewServer(mux)
	t.Cleanup(app.Close)
	return app
}

func TestBrowserFollowsRedirectsWithCookies(t *testing.T) {
	t.Parallel()
	app := newApp(t)
	page, err := oauthlogintest.NewBrowser().Visit(t.Context(), app.URL+"/start", nil)
	if err != nil {
		t.Fatal(err)
	}
	if page.Status != http.StatusOK || string(page.Body) != "hello abc" || page.Location != nil {
		t.Fatalf("page: %d %q location %v", page.Status, page.Body, page.Location)
	}
	var paths []string
	for _, u := range page.Visited {
		paths = append(paths, u.Path)
	}
	if len(paths) != 3 || paths[0] != "/start" || paths[1] != "/middle" || paths[2] != "/end" || page.URL.Path != "/end" {
		t.Errorf("visited %v, ended at %v", paths, page.URL)
	}
}

func TestBrowserStops(t *testing.T) {
	t.Parallel()
	app := newApp(t)
	page, err := oauthlogintest.NewBrowser().Visit(t.Context(), app.URL+"/start", func(u *url.URL) bool {
		return u.Path == "/end"
	})
	if err != nil {
		t.Fatal(err)
	}
	if page.Status != http.StatusSeeOther || page.Location == nil || page.Location.String() != app.URL+"/end" {
		t.Errorf("stopped at %d, location %v", page.Status, page.Location)
	}
	if len(page.Visited) != 2 || page.URL.Path != "/middle" {
		t.Errorf("visited %v", page.Visited)
	}
}

func TestBrowserGivesUpOnLoops(t *testing.T) {
	t.Parallel()
	app := newApp(t)
	if _, err := oauthlogintest.NewBrowser().Visit(t.Context(), app.URL+"/loop", nil); err == nil {
		t.Error("no error for a redirect loop")
	}
}
