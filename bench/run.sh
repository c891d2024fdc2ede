#!/usr/bin/env bash
# The full comparison: starts a private Redis and PostgreSQL (../.ci/services.sh)
# for the store rows and runs every benchmark COUNT times (default 6),
# interleaved: each of the COUNT rounds is one run of the test binary over
# every benchmark, so a burst of machine noise falls on all libraries
# alike. (go test's own -count repeats each sub-benchmark back to back:
# Login/floor six times, then Login/oauthlogin six times, and so on.)
# BenchmarkStorm runs in each round too, in a run of its own with
# STORM_BENCHTIME (default 1280x: logins per row), since -benchtime is one
# value per run. Then benchstat, the goal table of issue 19 (cmd/ratios),
# and profiles of oauthlogin's login with the garbage collector off (CPU,
# and allocations: space and objects), of the same login with the
# collector on, and of its begin. Results go to $OUT
# (default results/).
set -euo pipefail
cd "$(dirname "$0")"
export PATH="/usr/local/go/bin:$HOME/go/bin:$PATH"
count=${COUNT:-6}
benchtime=${BENCHTIME:-1s}
storm_benchtime=${STORM_BENCHTIME:-1280x}
out=${OUT:-results}
mkdir -p "$out"
# shellcheck source=/dev/null
source ../.ci/services.sh
command -v benchstat >/dev/null || go install golang.org/x/perf/cmd/benchstat@latest
{
	echo "nproc: $(nproc)"
	grep -m1 'model name' /proc/cpuinfo
	go version
	uptime
	echo "COUNT=$count BENCHTIME=$benchtime STORM_BENCHTIME=$storm_benchtime"
} | tee "$out/machine.txt"
go test -c -o "$out/bench.test" .
# Every benchmark but Storm, by name, so that a new one is not left out.
main=$("$out/bench.test" -test.list '^Benchmark' | grep -v '^BenchmarkStorm$' | paste -sd '|' -)
storm=$("$out/bench.test" -test.list '^BenchmarkStorm$')
: >"$out/bench.txt"
for round in $(seq 1 "$count"); do
	echo "== round $round of $count" >&2
	"$out/bench.test" -test.run '^$' -test.bench "^($main)\$" -test.benchtime="$benchtime" -test.count=1 | tee -a "$out/bench.txt"
	if [ -n "$storm" ]; then
		"$out/bench.test" -test.run '^$' -test.bench '^BenchmarkStorm$' -test.benchtime="$storm_benchtime" -test.count=1 | tee -a "$out/bench.txt"
	fi
done
[ -n "$storm" ] || echo "BenchmarkStorm is not in this build: its rows are not run" >&2
uptime | tee -a "$out/machine.txt"
benchstat "$out/bench.txt" | tee "$out/benchstat.txt"
# Profiles: where oauthlogin's time and allocations go (the fake's
# presigning excluded by the focus on the Manager's handlers). GOGC=off
# keeps the collector out of the CPU profile and leaves every allocation
# to the memory profile (-memprofilerate=1: each one recorded). Without a
# collector every allocation takes fresh memory, which shows as
# runtime.(*mcentral).grow in that CPU profile; login-gc-top.txt is the
# same login with the collector on, as it runs in the benchmark.
login=(-test.run '^$' -test.bench '^BenchmarkLogin$/^oauthlogin$' -test.benchtime=3000x)
focus='oauthlogin\.\(\*Manager\)\.(callback|begin)'
GOGC=off "$out/bench.test" "${login[@]}" -test.cpuprofile "$out/login.prof" >/dev/null
"$out/bench.test" "${login[@]}" -test.cpuprofile "$out/login-gc.prof" >/dev/null
GOGC=off "$out/bench.test" "${login[@]}" -test.memprofile "$out/login-mem.prof" -test.memprofilerate=1 >/dev/null
"$out/bench.test" -test.run '^$' -test.bench '^BenchmarkBegin$/^oauthlogin$' -test.benchtime=300000x -test.cpuprofile "$out/begin.prof" >/dev/null
go tool pprof -top -cum -nodecount=40 -focus "$focus" "$out/bench.test" "$out/login.prof" >"$out/login-top.txt" 2>/dev/null
go tool pprof -top -cum -nodecount=40 -focus "$focus" "$out/bench.test" "$out/login-gc.prof" >"$out/login-gc-top.txt" 2>/dev/null
{
	echo "== alloc_space (3000 logins, and the benchmark's warm-up)"
	go tool pprof -sample_index=alloc_space -top -nodecount=30 -focus "$focus" "$out/bench.test" "$out/login-mem.prof" 2>/dev/null
	echo
	echo "== alloc_objects (3000 logins, and the benchmark's warm-up)"
	go tool pprof -sample_index=alloc_objects -top -nodecount=30 -focus "$focus" "$out/bench.test" "$out/login-mem.prof" 2>/dev/null
} >"$out/login-alloc-top.txt"
go tool pprof -top -cum -nodecount=40 -focus 'oauthlogin\.\(\*Manager\)\.begin' "$out/bench.test" "$out/begin.prof" >"$out/begin-top.txt" 2>/dev/null
echo "profiles: $out/login-top.txt $out/login-gc-top.txt $out/login-alloc-top.txt $out/begin-top.txt"
go run ./cmd/ratios "$out/bench.txt" | tee "$out/ratios.md"
