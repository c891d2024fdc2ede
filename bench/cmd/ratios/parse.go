package main

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// results holds every sample of a `go test -bench` output: benchmark name
// (without its GOMAXPROCS suffix) → unit → the values, one per result line.
type results map[string]map[string][]float64

// parse reads `go test -bench` output. Lines other than results (headers,
// PASS, ok, log output) are skipped; a result line is the name, the
// iteration count, then value-unit pairs. The same benchmark may appear
// any number of times (-count, or several runs appended to one file).
func parse(r io.Reader) (results, error) {
	res := results{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	line := 0
	for sc.Scan() {
		line++
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || len(f)%2 != 0 {
			continue
		}
		if _, err := strconv.ParseInt(f[1], 10, 64); err != nil {
			continue // not a result line ("BenchmarkX ... skipped", log output)
		}
		name := trimProcs(strings.TrimPrefix(f[0], "Benchmark"))
		units := res[name]
		if units == nil {
			units = map[string][]float64{}
			res[name] = units
		}
		for i := 2; i < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, fmt.Errorf("line %d: %s: value %q: %w", line, f[0], f[i], err)
			}
			units[f[i+1]] = append(units[f[i+1]], v)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading the benchmark output: %w", err)
	}
	return res, nil
}

// trimProcs drops the "-N" that go test appends to a benchmark's name when
// GOMAXPROCS is not 1. (None of bench's names ends in a dash and digits of
// its own.)
func trimProcs(name string) string {
	i := strings.LastIndexByte(name, '-')
	if i < 0 || i == len(name)-1 {
		return name
	}
	for _, c := range name[i+1:] {
		if c < '0' || c > '9' {
			return name
		}
	}
	return name[:i]
}

// median returns the median of the samples of one benchmark and unit, and
// whether there are any.
func (r results) median(name, unit string) (float64, bool) {
	v := r[name][unit]
	if len(v) == 0 {
		return 0, false
	}
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2], true
	}
	return (s[n/2-1] + s[n/2]) / 2, true
}

// samples returns how many samples of name there are (of ns/op, which
// every result line has).
func (r results) samples(name string) int { return len(r[name]["ns/op"]) }
