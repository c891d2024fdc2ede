#!/usr/bin/env bash
# The scale figures (README "Scale (issue 18)"): a private Redis,
# 3-master Redis Cluster and PostgreSQL (../.ci/services.sh); then BenchmarkSessionCheck
# -count times (default 5) and TestScaleGrowth at SIZES (default
# 10000,100000,1000000) with IDENTITIES identities (default 100000).
# Outputs go to $OUT (default results-scale/).
set -euo pipefail
cd "$(dirname "$0")"
export PATH="/usr/local/go/bin:$HOME/go/bin:$PATH"
count=${COUNT:-5}
out=${OUT:-results-scale}
mkdir -p "$out"
# shellcheck source=/dev/null
source ../.ci/services.sh
{
	date -u
	echo "nproc: $(nproc)"
	grep -m1 'model name' /proc/cpuinfo
	go version
	redis-server --version
	uptime
} | tee "$out/machine.txt"
go test -c -o "$out/bench.test" .
"$out/bench.test" -test.run '^$' -test.bench 'SessionCheck' -test.benchtime=20000x -test.count="$count" | tee "$out/sessioncheck.txt"
OAUTHLOGIN_BENCH_SCALE=${SIZES:-10000,100000,1000000} OAUTHLOGIN_BENCH_IDENTITIES=${IDENTITIES:-100000} \
	"$out/bench.test" -test.run 'TestScaleGrowth' -test.v -test.timeout 60m | tee "$out/growth.txt"
uptime | tee -a "$out/machine.txt"
rm -f "$out/bench.test"
