package testapp

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/oauthlogintest"
	"github.com/oauthlogin/oauthlogin/providers"
)

// recordingT is a testing.TB that keeps the errors reported to it.
type recordingT struct {
	testing.TB
	errors []string
}

func (r *recordingT) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

// The log check fails the test when a record holds a secret, through
// WithAttrs and WithGroup too, and passes when none does; values under 8
// bytes are not secrets.
func TestLogCheckFindsSecrets(t *testing.T) {
	for name, tc := range map[string]struct {
		log    func(*slog.Logger)
		failed bool
	}{
		"message":     {func(l *slog.Logger) { l.Info("token s3cr3t-value-1") }, true},
		"attr":        {func(l *slog.Logger) { l.With("x", "s3cr3t-value-1").Debug("m") }, true},
		"group":       {func(l *slog.Logger) { l.WithGroup("g").Warn("m", "x", "s3cr3t-value-1") }, true},
		"clean":       {func(l *slog.Logger) { l.Info("nothing here") }, false},
		"short value": {func(l *slog.Logger) { l.Info("short") }, false},
	} {
		t.Run(name, func(t *testing.T) {
			l := NewLog()
			l.Secret("s3cr3t-value-1", "short")
			tc.log(slog.New(l))
			rt := &recordingT{TB: t}
			l.Check(rt)()
			if got := len(rt.errors) > 0; got != tc.failed {
				t.Fatalf("check failed = %v, want %v (%v)\n%s", got, tc.failed, rt.errors, l.String())
			}
			if l.Count() != 1 {
				t.Fatalf("Count = %d, want 1", l.Count())
			}
		})
	}
}

// Watch records the state and code of a request, its cookie values and
// the values of the cookies the response sets.
func TestLogWatchRecordsSecrets(t *testing.T) {
	for _, v := range []string{"state-value-1", "code-value-1", "request-cookie-value", "set-cookie-value"} {
		l := NewLog()
		h := l.Watch(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.SetCookie(w, &http.Cookie{Name: "out", Value: "set-cookie-value"})
		}))
		req := httptest.NewRequest("GET", "/cb?state=state-value-1&code=code-value-1", nil)
		req.AddCookie(&http.Cookie{Name: "in", Value: "request-cookie-value"})
		h.ServeHTTP(httptest.NewRecorder(), req)
		slog.New(l).Info(v)
		rt := &recordingT{TB: t}
		l.Check(rt)()
		if len(rt.errors) == 0 {
			t.Fatalf("%s was not recorded as a secret", v)
		}
	}
}

// A name given in BeginURL's extra replaces the default, and a name given
// twice is sent twice.
func TestBeginURL(t *testing.T) {
	u, err := url.Parse(BeginURL("http://app", "test", "success", "http://app/in", "scopes", "a", "scopes", "b"))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Path != "/auth/test" || q["success"][0] != "http://app/in" || len(q["success"]) != 1 ||
		q.Get("failure") != "http://app/failed" || len(q["scopes"]) != 2 {
		t.Fatalf("BeginURL = %s", u)
	}
}

// The app logs in through the fake provider, serves the session, and its
// client secret is one the log must not hold.
func TestAppLogin(t *testing.T) {
	a := New(t, oauthlogin.NewMemoryStore())
	a.Register(a.NewManager(), a.IdP, "test", providers.Config{})
	a.Start(Mux(a.M))
	b := oauthlogintest.NewBrowser()
	MustSucceed(t, a.Login(b))
	v, status := a.Session(b)
	if status != http.StatusOK || v["providerAccessToken"] == nil {
		t.Fatalf("GET /auth/session = %d %v", status, v)
	}
	a.Log.mu.Lock()
	defer a.Log.mu.Unlock()
	for _, s := range []string{a.IdP.ClientSecret, v["providerAccessToken"].(string)} {
		if !a.Log.secrets[s] {
			t.Fatalf("%.12s… is not recorded as a secret", s)
		}
	}
}
