package testapp

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// Log is the Managers' log in tests: a slog.Handler that keeps every
// record, as text, and the secrets seen in the test (state, code, cookie
// values, provider tokens, the client secret); Check fails the test when
// a record holds one of them.
type Log struct {
	text slog.Handler
	*logState
}

type logState struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	records int
	secrets map[string]bool
}

// NewLog returns an empty Log that keeps records of every level.
func NewLog() *Log {
	st := &logState{secrets: make(map[string]bool)}
	return &Log{text: slog.NewTextHandler(lockedWriter{st}, &slog.HandlerOptions{Level: slog.LevelDebug}), logState: st}
}

// lockedWriter writes to the buffer; Handle holds the lock.
type lockedWriter struct{ st *logState }

func (w lockedWriter) Write(p []byte) (int, error) { return w.st.buf.Write(p) }

// Enabled reports true: every record is kept.
func (l *Log) Enabled(context.Context, slog.Level) bool { return true }

// Handle keeps r.
func (l *Log) Handle(ctx context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.records++
	return l.text.Handle(ctx, r)
}

// WithAttrs returns a Log that adds as, over the same records.
func (l *Log) WithAttrs(as []slog.Attr) slog.Handler {
	return &Log{text: l.text.WithAttrs(as), logState: l.logState}
}

// WithGroup returns a Log that groups under name, over the same records.
func (l *Log) WithGroup(name string) slog.Handler {
	return &Log{text: l.text.WithGroup(name), logState: l.logState}
}

// Secret records values that must never be logged. Values under 8 bytes
// would match by chance and are not secrets anyway.
func (l *Log) Secret(vs ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, v := range vs {
		if len(v) >= 8 {
			l.secrets[v] = true
		}
	}
}

// Count returns the number of records logged.
func (l *Log) Count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.records
}

// Contains reports whether a record holds s.
func (l *Log) Contains(s string) bool {
	return strings.Contains(l.String(), s)
}

// String returns every record, as text.
func (l *Log) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// Check returns the end-of-test check: it fails t when a record holds a
// secret.
func (l *Log) Check(t testing.TB) func() {
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		logs := l.buf.String()
		for s := range l.secrets {
			if strings.Contains(logs, s) {
				t.Errorf("a secret reached the log: %.80q in\n%.2000s", s, logs)
			}
		}
	}
}

// Watch wraps an app to record the secrets in its requests (state, code,
// cookie values) and responses (the values of the cookies it sets).
func (l *Log) Watch(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, k := range []string{"state", "code"} {
			l.Secret(r.URL.Query()[k]...)
		}
		for _, c := range r.Cookies() {
			l.Secret(c.Value)
		}
		next.ServeHTTP(w, r)
		for _, sc := range w.Header().Values("Set-Cookie") {
			if c, err := http.ParseSetCookie(sc); err == nil {
				l.Secret(c.Value)
			}
		}
	})
}
