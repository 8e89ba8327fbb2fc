#!/usr/bin/env bash
# The project's test command: provisions the real components the tests use
# (dockerd, the SSH image, hashcat) and runs vet, gofmt and the race-enabled suite.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" = 0 ]; then
	scripts/provision.sh
else
	echo "test: not root; skipping provisioning (tests needing Docker or hashcat will skip)" >&2
fi
export COMPUTE_REQUIRE_REAL=${COMPUTE_REQUIRE_REAL:-1}
echo "== go mod download"
for try in 1 2 3; do
	go mod download && break
	[ "$try" = 3 ] && { echo "go mod download failed three times" >&2; exit 1; }
	sleep 5
done
echo "== go vet"
go vet ./...
echo "== gofmt"
bad=$(gofmt -l $(git ls-files '*.go'))
[ -z "$bad" ] || { echo "not gofmt-formatted:"; echo "$bad"; exit 1; }
echo "== build (default, and fully static with -tags nogpu)"
go build -o /dev/null ./cmd/compute
CGO_ENABLED=0 go build -tags nogpu -o /tmp/compute-static-check ./cmd/compute
if ldd /tmp/compute-static-check >/dev/null 2>&1; then
	echo "the nogpu build is not statically linked:"; ldd /tmp/compute-static-check; exit 1
fi
rm -f /tmp/compute-static-check
echo "== go test -race"
go test -race -count=1 -timeout 40m ./... 2>&1 | tee /tmp/compute-test.log
