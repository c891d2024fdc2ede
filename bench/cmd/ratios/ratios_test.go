package main

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

// load parses testdata/run.txt: three runs of every row appended to one
// file, as run.sh writes them, with -2 suffixes, a skipped benchmark and
// a row whose median is its middle run's.
func load(t *testing.T) results {
	t.Helper()
	f, err := os.Open("testdata/run.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := parse(f)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// goalByName returns the goal row whose Goal is name.
func goalByName(t *testing.T, rows []goalRow, name string) goalRow {
	t.Helper()
	for _, g := range rows {
		if g.Goal == name {
			return g
		}
	}
	t.Fatalf("no goal row %q in %+v", name, rows)
	return goalRow{}
}

func TestParseMedians(t *testing.T) {
	r := load(t)
	for _, c := range []struct {
		name, unit string
		want       float64
		n          int
	}{
		{"Login/oauthlogin", "client-ns/op", 450000, 3}, // samples 460000, 450000, 440000
		{"Login/floor", "cpu-ns/op", 600000, 3},
		{"Login/cap", "allocs/op", 500, 3},
		{"Storm/oauthlogin", "logins/s", 1600, 3}, // 1590, 1600, 1610
		{"Floor/redis-session-read", "ns/op", 42000, 3},
	} {
		got, ok := r.median(c.name, c.unit)
		if !ok || got != c.want {
			t.Errorf("median(%s, %s) = %v, %v; want %v", c.name, c.unit, got, ok, c.want)
		}
		if n := len(r[c.name][c.unit]); n != c.n {
			t.Errorf("%s %s: %d samples, want %d", c.name, c.unit, n, c.n)
		}
	}
	if _, ok := r["Login/oauthlogin-2"]; ok {
		t.Error("the -2 GOMAXPROCS suffix was kept in a name")
	}
	if _, ok := r["SessionCheck/redis-cluster"]; ok {
		t.Error("a skipped benchmark's line was read as a result")
	}
}

func TestMedianOfEvenCount(t *testing.T) {
	r := results{"X": {"ns/op": {4, 1, 3, 2}}}
	if got, _ := r.median("X", "ns/op"); got != 2.5 {
		t.Errorf("median of 1..4 = %v, want 2.5", got)
	}
	if got := r["X"]["ns/op"]; got[0] != 4 {
		t.Errorf("median reordered the samples: %v", got)
	}
	if _, ok := r.median("Y", "ns/op"); ok {
		t.Error("a missing benchmark has a median")
	}
}

func TestTrimProcs(t *testing.T) {
	for in, want := range map[string]string{
		"Login/oauthlogin-2":               "Login/oauthlogin",
		"Login/oauthlogin-16":              "Login/oauthlogin",
		"Login/oauthlogin":                 "Login/oauthlogin", // GOMAXPROCS 1: no suffix
		"Floor/rand-32B":                   "Floor/rand-32B",
		"Floor/redis-GET-2":                "Floor/redis-GET",
		"Authenticated/oauthlogin-memory":  "Authenticated/oauthlogin-memory",
		"Authenticated/oauthlogin-redis-8": "Authenticated/oauthlogin-redis",
		"Trailing-":                        "Trailing-",
	} {
		if got := trimProcs(in); got != want {
			t.Errorf("trimProcs(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseRejectsBadValue(t *testing.T) {
	_, err := parse(strings.NewReader("BenchmarkLogin/floor-2 \t 100 \t 12x4 ns/op\n"))
	if err == nil {
		t.Fatal("a result line with a value that is no number was accepted")
	}
}

func TestGoalsFromFixedRun(t *testing.T) {
	rows := goals(load(t))
	for _, c := range []struct{ goal, ratio, result, figures string }{
		// (450 − 400) / min(510 − 400, 520 − 400) µs
		{"1. login above floor, client time", "0.45×", met, "oauthlogin +50.0 µs, zitadel +110 µs, cap +120 µs (floor 400 µs)"},
		// (640 − 600) / min(700 − 600, 690 − 600): cap is the faster here
		{"1. login above floor, CPU time", "0.44×", met, "oauthlogin +40.0 µs, zitadel +100 µs, cap +90.0 µs (floor 600 µs)"},
		{"2. login above floor, allocations", "0.45×", met, "oauthlogin +100, zitadel +220 (floor 200)"},
		{"2. login above floor, bytes", "0.42×", met, "oauthlogin +10000 B, zitadel +24000 B (floor 20000 B)"},
		{"3. storm logins/s", "1.60×", met, "oauthlogin 1600/s (p99 80.0 ms), zitadel 1000/s (p99 120.0 ms), cap 900/s (p99 130.0 ms), goth 400/s (p99 300.0 ms)"},
		{"4. begin", "0.86×", met, "oauthlogin 3.0 µs, goth 5.0 µs, zitadel 4.0 µs, cap 3.5 µs"},
		{"4. authenticated, memory store, time", "0.45×", met, "oauthlogin-memory +890 ns (none 10 ns)"},
		{"4. authenticated, memory store, allocations", "0.60×", met, "oauthlogin-memory +6 (none 0)"},
		{"4. authenticated, Redis store", "1.19×", met, "session check 50.0 µs, raw HMGET 42.0 µs (raw GET 41.0 µs)"},
		{"4. authenticated, PostgreSQL store", "1.42×", missed, "session check 64.0 µs, raw SELECT 45.0 µs"},
		{"4. discovery and JWKS fetches per login", "", met, "oauthlogin at most 0 in 3 samples"},
		{"4. Set-Cookie bytes per login", "0.40×", met, "oauthlogin 280 B, goth 1200 B, zitadel 700 B, cap 900 B"},
	} {
		g := goalByName(t, rows, c.goal)
		if g.Ratio != c.ratio || g.Result != c.result || g.Figures != c.figures {
			t.Errorf("%s:\n got  %q %q %q\n want %q %q %q", c.goal, g.Ratio, g.Result, g.Figures, c.ratio, c.result, c.figures)
		}
	}
	if len(rows) != 12 {
		t.Errorf("%d goal rows, want 12", len(rows))
	}
}

// TestGoalsMissedWhenOneFigureChanges moves one median across each bound.
func TestGoalsMissedWhenOneFigureChanges(t *testing.T) {
	for _, c := range []struct {
		goal, name, unit string
		samples          []float64
		ratio            string
	}{
		// 70 µs above the floor, over half of zitadel's 110.
		{"1. login above floor, client time", "Login/oauthlogin", "client-ns/op", []float64{470000}, "0.64×"},
		// cap's CPU 650 µs: the faster peer is 50 µs above, oauthlogin 40.
		{"1. login above floor, CPU time", "Login/cap", "cpu-ns/op", []float64{650000}, "0.80×"},
		{"2. login above floor, allocations", "Login/zitadel", "allocs/op", []float64{390}, "0.53×"},
		{"3. storm logins/s", "Storm/goth", "logins/s", []float64{1100}, "1.45×"},
		{"4. begin", "Begin/cap", "ns/op", []float64{3000}, "1.00×"}, // a tie is not faster
		{"4. authenticated, memory store, time", "Authenticated/oauthlogin-memory", "ns/op", []float64{2011}, "1.00×"},
		{"4. authenticated, memory store, allocations", "Authenticated/oauthlogin-memory", "allocs/op", []float64{11}, "1.10×"},
		{"4. authenticated, Redis store", "Floor/redis-session-read", "ns/op", []float64{38000}, "1.32×"},
		{"4. Set-Cookie bytes per login", "Login/zitadel", "setcookie-B/op", []float64{279}, "1.00×"},
	} {
		r := load(t)
		if g := goalByName(t, goals(r), c.goal); g.Result != met {
			t.Fatalf("%s is %s before the change", c.goal, g.Result)
		}
		r[c.name][c.unit] = c.samples
		g := goalByName(t, goals(r), c.goal)
		if g.Result != missed || g.Ratio != c.ratio {
			t.Errorf("%s with %s %s = %v: %q %q, want %q %q", c.goal, c.name, c.unit, c.samples, g.Ratio, g.Result, c.ratio, missed)
		}
	}
}

func TestGoalMissedOnOneDiscoveryFetch(t *testing.T) {
	r := load(t)
	r["Login/oauthlogin"]["disco-jwks/op"] = []float64{0, 0.0005, 0} // the median is still 0
	g := goalByName(t, goals(r), "4. discovery and JWKS fetches per login")
	if g.Result != missed || g.Figures != "oauthlogin at most 0.0005 in 3 samples" {
		t.Errorf("got %q %q, want MISSED", g.Result, g.Figures)
	}
}

func TestGoalsNotRunWithoutRows(t *testing.T) {
	r := load(t)
	for name := range r {
		if strings.HasPrefix(name, "Storm/") || name == "Floor/postgres-session-read" {
			delete(r, name)
		}
	}
	delete(r["Login/cap"], "cpu-ns/op")
	rows := goals(r)
	for _, c := range []struct{ goal, figures string }{
		{"3. storm logins/s", "missing: Storm/oauthlogin, Storm/zitadel, Storm/cap, Storm/goth"},
		{"4. authenticated, PostgreSQL store", "missing: Floor/postgres-session-read"},
		{"1. login above floor, CPU time", "missing: Login/cap"},
	} {
		g := goalByName(t, rows, c.goal)
		if g.Result != notRun || g.Ratio != "" || g.Figures != c.figures {
			t.Errorf("%s: %q %q %q, want not run, %q", c.goal, g.Ratio, g.Result, g.Figures, c.figures)
		}
	}
	if g := goalByName(t, rows, "1. login above floor, client time"); g.Result != met {
		t.Errorf("client time is %s with the CPU figure of cap missing", g.Result)
	}
}

// TestRunPrintsTables runs the command on the fixed output and checks the
// lines of each table it prints.
func TestRunPrintsTables(t *testing.T) {
	var out strings.Builder
	if err := run([]string{"testdata/run.txt"}, nil, &out); err != nil {
		t.Fatal(err)
	}
	lines := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(out.String()))
	for sc.Scan() {
		lines[sc.Text()] = true
	}
	for _, want := range []string{
		"| goal | figures (medians) | target | ratio | result |",
		"| 4. authenticated, PostgreSQL store | session check 64.0 µs, raw SELECT 45.0 µs | ≤ 1.3× a raw read of the same key | 1.42× | MISSED |",
		"| oauthlogin | 3 | 450 µs | +50.0 µs | 640 µs | +40.0 µs | 300 | +100 | 30000 | +10000 | 280 |",
		"| floor | 3 | 400 µs | — | 600 µs | — | 200 | — | 20000 | — | 300 |",
		"| oauthlogin | 3 | 1600 | 30.0 ms | 80.0 ms | 1100 µs |",
		"| goth | 3 | 1300 µs | +900 µs | 1500 µs | +900 µs | 800 | +600 | 90000 | +70000 | 1200 |",
		"| 4. discovery and JWKS fetches per login | oauthlogin at most 0 in 3 samples | 0 in every sample | — | met |",
	} {
		if !lines[want] {
			t.Errorf("no line %q in\n%s", want, out.String())
		}
	}
}

func TestRunStormNotRun(t *testing.T) {
	data, err := os.ReadFile("testdata/run.txt")
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for l := range strings.Lines(string(data)) {
		if !strings.HasPrefix(l, "BenchmarkStorm/") {
			kept = append(kept, l)
		}
	}
	var out strings.Builder
	if err := run(nil, strings.NewReader(strings.Join(kept, "")), &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| oauthlogin | not run | | | | |\n", "| 3. storm logins/s | missing: "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %q in\n%s", want, out.String())
		}
	}
}

func TestRunRejectsEmptyInput(t *testing.T) {
	var out strings.Builder
	if err := run(nil, strings.NewReader("PASS\nok\n"), &out); err == nil {
		t.Error("an input without results was accepted")
	}
}
