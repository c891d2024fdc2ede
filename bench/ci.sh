#!/usr/bin/env bash
# CI for bench/ (its own module, so the root's go vet ./... does not reach
# it): vet, then every test and every benchmark once (-benchtime=1x) with
# the race detector, to keep them compiling and working, and the tests of
# the commands (cmd/ratios, the goal table run.sh prints). Nothing here
# asserts on time. The Redis and PostgreSQL rows run when
# OAUTHLOGIN_TEST_REDIS / OAUTHLOGIN_TEST_POSTGRES are set (source
# .ci/services.sh first) and skip otherwise.
set -euo pipefail
cd "$(dirname "$0")"
export PATH="/usr/local/go/bin:$PATH"
echo "== bench: gofmt, go vet"
unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
	echo "gofmt would change:"; echo "$unformatted"; exit 1
fi
# -race: vet compiles the dependencies in the variant the tests need, so a
# fresh machine builds the peers' libraries once, not twice.
go vet -race ./...
echo "== bench: tests and each benchmark once"
go test -race -count=1 -run . -bench . -benchtime=1x .
echo "== bench: the commands' tests"
go test -race -count=1 ./cmd/...
