#!/usr/bin/env bash
# Builds the validator image of deploy/Dockerfile from a freshly built static compute binary
# (CGO_ENABLED=0, -tags nogpu) and this machine's CA certificates. No registry is needed: the
# image starts FROM scratch.
#
#   deploy/build-image.sh [TAG]        TAG defaults to compute-validator:latest
#
# COMPUTE_BINARY=/path/to/compute uses that binary instead of building one (it must be static).
set -euo pipefail
cd "$(dirname "$0")/.."
tag=${1:-compute-validator:latest}
certs=${CA_CERTIFICATES:-/etc/ssl/certs/ca-certificates.crt}
[ -r "$certs" ] || { echo "build-image: no CA certificates at $certs (apt-get install ca-certificates, or set CA_CERTIFICATES)" >&2; exit 1; }
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
mkdir -p "$ctx/rootfs/usr/local/bin" "$ctx/rootfs/etc/ssl/certs" "$ctx/rootfs/tmp" "$ctx/data"
chmod 1777 "$ctx/rootfs/tmp"
chmod 0700 "$ctx/data"
if [ -n "${COMPUTE_BINARY:-}" ]; then
	cp "$COMPUTE_BINARY" "$ctx/rootfs/usr/local/bin/compute"
else
	CGO_ENABLED=0 go build -tags nogpu -trimpath -o "$ctx/rootfs/usr/local/bin/compute" ./cmd/compute
fi
chmod 0755 "$ctx/rootfs/usr/local/bin/compute"
cp "$certs" "$ctx/rootfs/etc/ssl/certs/ca-certificates.crt"
chmod 0644 "$ctx/rootfs/etc/ssl/certs/ca-certificates.crt"
docker build --quiet -f deploy/Dockerfile -t "$tag" "$ctx"
