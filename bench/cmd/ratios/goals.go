package main

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Result words of a goal row.
const (
	met    = "met"
	missed = "MISSED"
	notRun = "not run"
)

// goalRow is one line of the goal table.
type goalRow struct {
	Goal    string
	Figures string
	Target  string
	Ratio   string // "" when the goal is not a ratio, or is not run
	Result  string // met, MISSED or not run
}

// The rows of the Login and Storm benchmarks, and the peers each goal
// compares oauthlogin with.
var (
	loginRows  = []string{"floor", "oauthlogin", "goth", "zitadel", "cap"}
	stormRows  = []string{"floor", "oauthlogin", "zitadel", "cap", "goth"}
	fastPeers  = []string{"zitadel", "cap"}
	stormPeers = []string{"zitadel", "cap", "goth"}
	beginPeers = []string{"goth", "zitadel", "cap"}
)

// lookup reads medians for one goal row and notes what is missing.
type lookup struct {
	r       results
	missing []string
}

// get returns the median of name's unit, noting the benchmark when it
// has none.
func (l *lookup) get(name, unit string) float64 {
	v, ok := l.r.median(name, unit)
	if !ok && !slices.Contains(l.missing, name) {
		l.missing = append(l.missing, name)
	}
	return v
}

// row finishes a goal row: "not run" (naming the missing benchmarks) when
// a figure is missing, else met or MISSED as ok says.
func (l *lookup) row(goal, target, figures string, ratio float64, ok bool) goalRow {
	if len(l.missing) > 0 {
		return goalRow{Goal: goal, Target: target, Figures: "missing: " + strings.Join(l.missing, ", "), Result: notRun}
	}
	res := missed
	if ok {
		res = met
	}
	return goalRow{Goal: goal, Figures: figures, Target: target, Ratio: fmtRatio(ratio), Result: res}
}

// goals computes the goal table of issue 19 (see notes/e19.md) from the
// medians of all samples.
func goals(r results) []goalRow {
	var rows []goalRow
	add := func(g goalRow) { rows = append(rows, g) }

	// 1. Login overhead above the floor app: at most half that of the
	// faster of zitadel and cap.
	for _, m := range []struct{ unit, what string }{{"client-ns/op", "client time"}, {"cpu-ns/op", "CPU time"}} {
		l := &lookup{r: r}
		floor := l.get("Login/floor", m.unit)
		above := map[string]float64{}
		for _, row := range append([]string{"oauthlogin"}, fastPeers...) {
			above[row] = l.get("Login/"+row, m.unit) - floor
		}
		best := min(above["zitadel"], above["cap"])
		add(l.row("1. login above floor, "+m.what, "≤ 0.5× the faster of zitadel, cap",
			fmt.Sprintf("oauthlogin %s, zitadel %s, cap %s (floor %s)",
				fmtNsSigned(above["oauthlogin"]), fmtNsSigned(above["zitadel"]), fmtNsSigned(above["cap"]), fmtNs(floor)),
			div(above["oauthlogin"], best), above["oauthlogin"] <= 0.5*best))
	}

	// 2. Allocations and bytes above the floor app: at most half of
	// zitadel's.
	for _, m := range []struct{ unit, what, suffix string }{{"allocs/op", "allocations", ""}, {"B/op", "bytes", " B"}} {
		l := &lookup{r: r}
		floor := l.get("Login/floor", m.unit)
		o := l.get("Login/oauthlogin", m.unit) - floor
		z := l.get("Login/zitadel", m.unit) - floor
		add(l.row("2. login above floor, "+m.what, "≤ 0.5× zitadel's",
			fmt.Sprintf("oauthlogin %+.0f%s, zitadel %+.0f%s (floor %.0f%s)", o, m.suffix, z, m.suffix, floor, m.suffix),
			div(o, z), o <= 0.5*z))
	}

	// 3. The login storm: logins per second at least 1.5× the best
	// peer's, p99 reported.
	{
		l := &lookup{r: r}
		var figs []string
		best := math.Inf(-1)
		var o float64
		for _, row := range append([]string{"oauthlogin"}, stormPeers...) {
			rate := l.get("Storm/"+row, "logins/s")
			p99 := l.get("Storm/"+row, "p99-ns/login")
			figs = append(figs, fmt.Sprintf("%s %.0f/s (p99 %s)", row, rate, fmtNs(p99)))
			if row == "oauthlogin" {
				o = rate
			} else {
				best = max(best, rate)
			}
		}
		add(l.row("3. storm logins/s", "≥ 1.5× the best of zitadel, cap, goth",
			strings.Join(figs, ", "), div(o, best), o >= 1.5*best))
	}

	// 4. Keep what is met.
	{
		l := &lookup{r: r}
		o := l.get("Begin/oauthlogin", "ns/op")
		figs := []string{"oauthlogin " + fmtNs(o)}
		best := math.Inf(1)
		for _, p := range beginPeers {
			v := l.get("Begin/"+p, "ns/op")
			figs = append(figs, p+" "+fmtNs(v))
			best = min(best, v)
		}
		add(l.row("4. begin", "< every peer's", strings.Join(figs, ", "), div(o, best), o < best))
	}
	{
		l := &lookup{r: r}
		none := l.get("Authenticated/none", "ns/op")
		above := l.get("Authenticated/oauthlogin-memory", "ns/op") - none
		add(l.row("4. authenticated, memory store, time", "≤ 2 µs above an empty handler",
			fmt.Sprintf("oauthlogin-memory %s (none %s)", fmtNsSigned(above), fmtNs(none)),
			above/2000, above <= 2000))
	}
	{
		l := &lookup{r: r}
		none := l.get("Authenticated/none", "allocs/op")
		above := l.get("Authenticated/oauthlogin-memory", "allocs/op") - none
		add(l.row("4. authenticated, memory store, allocations", "≤ 10 above an empty handler",
			fmt.Sprintf("oauthlogin-memory %+.0f (none %.0f)", above, none),
			above/10, above <= 10))
	}
	for _, s := range []struct{ store, row, raw, cmd, extra string }{
		{"Redis", "oauthlogin-redis", "Floor/redis-session-read", "raw HMGET", "Floor/redis-GET"},
		{"PostgreSQL", "oauthlogin-postgres", "Floor/postgres-session-read", "raw SELECT", ""},
	} {
		l := &lookup{r: r}
		check := l.get("Authenticated/"+s.row, "ns/op")
		raw := l.get(s.raw, "ns/op")
		figs := fmt.Sprintf("session check %s, %s %s", fmtNs(check), s.cmd, fmtNs(raw))
		if v, ok := r.median(s.extra, "ns/op"); ok {
			figs += fmt.Sprintf(" (raw GET %s)", fmtNs(v))
		}
		add(l.row("4. authenticated, "+s.store+" store", "≤ 1.3× a raw read of the same key", figs,
			div(check, raw), check <= 1.3*raw))
	}
	{
		// Zero in every sample, not only in the median.
		l := &lookup{r: r}
		l.get("Login/oauthlogin", "disco-jwks/op")
		worst := 0.0
		for _, v := range r["Login/oauthlogin"]["disco-jwks/op"] {
			worst = max(worst, v)
		}
		g := l.row("4. discovery and JWKS fetches per login", "0 in every sample",
			fmt.Sprintf("oauthlogin at most %g in %d samples", worst, len(r["Login/oauthlogin"]["disco-jwks/op"])),
			math.NaN(), worst == 0)
		g.Ratio = ""
		add(g)
	}
	{
		l := &lookup{r: r}
		o := l.get("Login/oauthlogin", "setcookie-B/op")
		figs := []string{fmt.Sprintf("oauthlogin %.0f B", o)}
		best := math.Inf(1)
		for _, p := range beginPeers {
			v := l.get("Login/"+p, "setcookie-B/op")
			figs = append(figs, fmt.Sprintf("%s %.0f B", p, v))
			best = min(best, v)
		}
		add(l.row("4. Set-Cookie bytes per login", "≤ every peer's", strings.Join(figs, ", "), div(o, best), o <= best))
	}
	for i := range rows {
		if rows[i].Result == notRun {
			rows[i].Ratio = ""
		}
	}
	return rows
}

// div is a/b, NaN when b is not above zero (the ratio means nothing then;
// the verdict compares the figures directly).
func div(a, b float64) float64 {
	if b <= 0 || math.IsInf(b, 0) {
		return math.NaN()
	}
	return a / b
}

func fmtRatio(x float64) string {
	if math.IsNaN(x) {
		return "n/a"
	}
	return fmt.Sprintf("%.2f×", x)
}

// fmtNs formats nanoseconds in the unit that suits them.
func fmtNs(ns float64) string {
	a := math.Abs(ns)
	switch {
	case a < 1e3:
		return fmt.Sprintf("%.0f ns", ns)
	case a < 1e5:
		return fmt.Sprintf("%.1f µs", ns/1e3)
	case a < 1e7:
		return fmt.Sprintf("%.0f µs", ns/1e3)
	case a < 1e9:
		return fmt.Sprintf("%.1f ms", ns/1e6)
	default:
		return fmt.Sprintf("%.2f s", ns/1e9)
	}
}

// fmtNsSigned is fmtNs with a sign: a difference.
func fmtNsSigned(ns float64) string {
	if ns < 0 {
		return "−" + fmtNs(-ns)
	}
	return "+" + fmtNs(ns)
}
