#!/usr/bin/env bash
# The scale figures (README "Scale (issue 18)"): private Redis and
# PostgreSQL (../.ci/services.sh) and, unless OAUTHLOGIN_TEST_REDIS_CLUSTER
# names one, a private 3-master Redis Cluster; then BenchmarkSessionCheck
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
if [ -z "${OAUTHLOGIN_TEST_REDIS_CLUSTER:-}" ]; then
	cdir=$(mktemp -d /tmp/oauthlogin-cluster.XXXXXX)
	ports=()
	for _ in 1 2 3; do
		port=$(_ol_free_port)
		redis-server --bind 127.0.0.1 --port "$port" --cluster-enabled yes \
			--cluster-config-file "$cdir/nodes-$port.conf" --save '' --appendonly no \
			--daemonize yes --dir "$cdir" --pidfile "$cdir/$port.pid" --logfile "$cdir/$port.log"
		ports+=("$port")
	done
	stop_cluster() {
		for p in "${ports[@]}"; do redis-cli -p "$p" shutdown nosave >/dev/null 2>&1 || true; done
		rm -rf "$cdir"
		_ol_stop_services
	}
	trap stop_cluster EXIT
	for p in "${ports[@]}"; do _ol_wait 100 _ol_redis_up "127.0.0.1:$p"; done
	redis-cli --cluster create "${ports[@]/#/127.0.0.1:}" --cluster-replicas 0 --cluster-yes >/dev/null
	OAUTHLOGIN_TEST_REDIS_CLUSTER=$(IFS=,; echo "${ports[*]/#/127.0.0.1:}")
	export OAUTHLOGIN_TEST_REDIS_CLUSTER
	_ol_wait 100 sh -c "redis-cli -p ${ports[0]} cluster info | grep -q cluster_state:ok"
fi
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
