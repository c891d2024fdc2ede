// Command ratios reads `go test -bench` output of bench/ (a file named as
// its argument, or standard input), takes the median of all samples of
// each benchmark and metric, and prints the goal table of issue 19 as
// Markdown (each goal's figures, target, ratio and whether it is met; "not
// run" when a benchmark it needs is missing), then the Login rows and the
// Storm rows.
//
//	go run ./cmd/ratios results/bench.txt
package main

import (
	"fmt"
	"io"
	"os"
	"strings"
)

func main() {
	if err := run(os.Args[1:], os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "ratios:", err)
		os.Exit(1)
	}
}

func run(args []string, stdin io.Reader, stdout io.Writer) error {
	in := stdin
	switch len(args) {
	case 0:
	case 1:
		f, err := os.Open(args[0])
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	default:
		return fmt.Errorf("usage: ratios [bench.txt]")
	}
	r, err := parse(in)
	if err != nil {
		return err
	}
	if len(r) == 0 {
		return fmt.Errorf("no benchmark results in the input")
	}
	var b strings.Builder
	writeGoals(&b, goals(r))
	b.WriteString("\n")
	writeLogin(&b, r)
	b.WriteString("\n")
	writeStorm(&b, r)
	_, err = io.WriteString(stdout, b.String())
	return err
}

// writeGoals prints the goal table.
func writeGoals(w *strings.Builder, rows []goalRow) {
	w.WriteString("| goal | figures (medians) | target | ratio | result |\n| --- | --- | --- | --- | --- |\n")
	for _, g := range rows {
		ratio := g.Ratio
		if ratio == "" {
			ratio = "—"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", g.Goal, g.Figures, g.Target, ratio, g.Result)
	}
	w.WriteString("\nRatio: oauthlogin's figure over the target's yardstick (for an absolute bound, over the bound).\n")
}

// writeLogin prints the Login rows: medians and what each spends above
// the floor app.
func writeLogin(w *strings.Builder, r results) {
	w.WriteString("| Login | n | client | above floor | CPU | above floor | allocs | above floor | B/op | above floor | Set-Cookie B |\n")
	w.WriteString("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	med := func(name, unit string) (float64, bool) { return r.median("Login/"+name, unit) }
	for _, row := range loginRows {
		if r.samples("Login/"+row) == 0 {
			fmt.Fprintf(w, "| %s | not run | | | | | | | | | |\n", row)
			continue
		}
		fmt.Fprintf(w, "| %s | %d", row, r.samples("Login/"+row))
		for _, m := range []struct {
			unit string
			f    func(float64) string
			d    func(float64) string
		}{
			{"client-ns/op", fmtNs, fmtNsSigned},
			{"cpu-ns/op", fmtNs, fmtNsSigned},
			{"allocs/op", func(v float64) string { return fmt.Sprintf("%.0f", v) }, func(v float64) string { return fmt.Sprintf("%+.0f", v) }},
			{"B/op", func(v float64) string { return fmt.Sprintf("%.0f", v) }, func(v float64) string { return fmt.Sprintf("%+.0f", v) }},
		} {
			v, ok := med(row, m.unit)
			if !ok {
				w.WriteString(" | — | —")
				continue
			}
			above := "—"
			if f, ok := med("floor", m.unit); ok && row != "floor" {
				above = m.d(v - f)
			}
			fmt.Fprintf(w, " | %s | %s", m.f(v), above)
		}
		if v, ok := med(row, "setcookie-B/op"); ok {
			fmt.Fprintf(w, " | %.0f |\n", v)
		} else {
			w.WriteString(" | — |\n")
		}
	}
}

// writeStorm prints the Storm rows, or that the storm was not run.
func writeStorm(w *strings.Builder, r results) {
	w.WriteString("| Storm | n | logins/s | p50 | p99 | CPU per login |\n| --- | --- | --- | --- | --- | --- |\n")
	for _, row := range stormRows {
		name := "Storm/" + row
		if r.samples(name) == 0 {
			fmt.Fprintf(w, "| %s | not run | | | | |\n", row)
			continue
		}
		fmt.Fprintf(w, "| %s | %d", row, r.samples(name))
		for _, m := range []struct {
			unit string
			f    func(float64) string
		}{
			{"logins/s", func(v float64) string { return fmt.Sprintf("%.0f", v) }},
			{"p50-ns/login", fmtNs},
			{"p99-ns/login", fmtNs},
			{"cpu-ns/op", fmtNs},
		} {
			if v, ok := r.median(name, m.unit); ok {
				fmt.Fprintf(w, " | %s", m.f(v))
			} else {
				w.WriteString(" | —")
			}
		}
		w.WriteString(" |\n")
	}
}
