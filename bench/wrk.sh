#!/usr/bin/env bash
# Session-check throughput: 64 concurrent keep-alive clients (wrk) against
# cmd/sessionserver, whose MemoryStore holds 100,000 sessions: GET /private
# (RequireSession, cookie -> session in context) and, for reference, GET
# /empty (the same empty handler without the middleware). Needs wrk
# (apt-get install -y wrk). DURATION defaults to 10s.
set -euo pipefail
cd "$(dirname "$0")"
export PATH="/usr/local/go/bin:$PATH"
duration=${DURATION:-10s}
command -v wrk >/dev/null || { echo "wrk.sh: wrk is missing: apt-get install -y wrk"; exit 1; }
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/sessionserver" ./cmd/sessionserver
"$bin/sessionserver" >"$bin/out" 2>"$bin/err" &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$bin"' EXIT
for _ in $(seq 1 100); do
	[ -s "$bin/out" ] && break
	sleep 0.1
done
read -r url cookie <"$bin/out"
echo "server: $url, GOMAXPROCS=$(nproc), 100000 sessions; wrk -t2 -c64 -d$duration"
curl -fsS -o /dev/null -H "Cookie: $cookie" "$url/private"
for path in /private /empty; do
	echo "== GET $path"
	wrk -t2 -c64 -d"$duration" --latency -H "Cookie: $cookie" "$url$path"
done
