#!/usr/bin/env bash
# The full comparison: starts a private Redis and PostgreSQL (../.ci/services.sh)
# for the store rows, runs every benchmark -count times (default 6) in one
# go test run, and summarizes with benchstat. Results go to $OUT (default
# results/), with CPU profiles of oauthlogin's Login and Begin.
set -euo pipefail
cd "$(dirname "$0")"
export PATH="/usr/local/go/bin:$HOME/go/bin:$PATH"
count=${COUNT:-6}
benchtime=${BENCHTIME:-1s}
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
} | tee "$out/machine.txt"
go test -c -o "$out/bench.test" .
"$out/bench.test" -test.run '^$' -test.bench . -test.benchtime="$benchtime" -test.count="$count" | tee "$out/bench.txt"
uptime | tee -a "$out/machine.txt"
benchstat "$out/bench.txt" | tee "$out/benchstat.txt"
# Profiles: where oauthlogin's time goes (the fake's presigning excluded).
"$out/bench.test" -test.run '^$' -test.bench 'Login/oauthlogin$' -test.benchtime=3000x -test.cpuprofile "$out/login.prof" >/dev/null
"$out/bench.test" -test.run '^$' -test.bench 'Begin/oauthlogin$' -test.benchtime=300000x -test.cpuprofile "$out/begin.prof" >/dev/null
go tool pprof -top -cum -nodecount=40 -focus 'oauthlogin\.\(\*Manager\)\.(Callback|Begin)' "$out/bench.test" "$out/login.prof" >"$out/login-top.txt" 2>/dev/null
go tool pprof -top -cum -nodecount=40 -focus 'oauthlogin\.\(\*Manager\)\.Begin' "$out/bench.test" "$out/begin.prof" >"$out/begin-top.txt" 2>/dev/null
echo "profiles: $out/login-top.txt $out/begin-top.txt"
