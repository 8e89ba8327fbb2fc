#!/usr/bin/env bash
# Builds a signed release of compute (docs/releases.md):
#
#   COMPUTE_RELEASE_KEY=~/compute-release.key scripts/release.sh VERSION [OUT_DIR]
#
# For each architecture (linux amd64 and arm64) it builds the GPU-capable binary
# (CGO_ENABLED=0: the GPU code loads the driver with dlopen through purego's fakecgo,
# so the binary is dynamically linked) and the fully static nogpu one (-tags nogpu),
# each with the release version and the public key of COMPUTE_RELEASE_KEY built in,
# runs `version` on those this machine can run, writes release.json (the feed
# auto-update reads) and SHA256SUMS, signs both with the key, verifies the signatures
# and only then moves the release into OUT_DIR (default dist/VERSION). Without a key
# nothing is built: a release is never published unsigned.
#
# Environment:
#   COMPUTE_RELEASE_KEY           the minisign secret key (compute release keygen); required
#   COMPUTE_RELEASE_KEY_PASSWORD  its password, when it is encrypted (else a prompt)
#   COMPUTE_RELEASE_FEED          the feed URL built in as --update.feed's default (none if unset)
#   COMPUTE_RELEASE_ARCHS         the architectures (default "amd64 arm64")
set -euo pipefail
cd "$(dirname "$0")/.."

version=${1:-}
if [ -z "$version" ] || [ $# -gt 2 ]; then
	echo "usage: COMPUTE_RELEASE_KEY=KEY scripts/release.sh VERSION [OUT_DIR]" >&2
	exit 2
fi
semver='^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$'
if ! [[ $version =~ $semver ]]; then
	echo "release: $version is not a semantic version (MAJOR.MINOR.PATCH, e.g. 1.5.0 or 1.6.0-rc.1)" >&2
	exit 2
fi
out=${2:-dist/$version}
key=${COMPUTE_RELEASE_KEY:-}
if [ -z "$key" ]; then
	echo "release: COMPUTE_RELEASE_KEY is not set; a release is never published unsigned (make a key with: compute release keygen)" >&2
	exit 1
fi
if [ ! -r "$key" ]; then
	echo "release: cannot read the secret key $key" >&2
	exit 1
fi
if [ -e "$out" ]; then
	echo "release: $out exists; remove it or name another directory" >&2
	exit 1
fi
archs=${COMPUTE_RELEASE_ARCHS:-amd64 arm64}
feed=${COMPUTE_RELEASE_FEED:-}

# Built beside OUT_DIR, then renamed to it once signed and verified.
mkdir -p "$(dirname "$out")"
work=$(mktemp -d)
stage=$(mktemp -d "$(dirname "$out")/.$(basename "$out").staging-XXXXXX")
trap 'rm -rf "$work" "$stage"' EXIT

# The signing tool: this source tree built for this machine.
tool="$work/compute"
CGO_ENABLED=0 go build -trimpath -tags nogpu -o "$tool" ./cmd/compute
# An encrypted key's password is asked once here, not at each step.
if [ -z "${COMPUTE_RELEASE_KEY_PASSWORD:-}" ] && ! "$tool" release pubkey --secret-key "$key" </dev/null >/dev/null 2>&1; then
	if [ ! -t 0 ]; then
		echo "release: the secret key does not open without a password: set COMPUTE_RELEASE_KEY_PASSWORD" >&2
		exit 1
	fi
	read -r -s -p "Password of the release key $key: " COMPUTE_RELEASE_KEY_PASSWORD
	echo >&2
	export COMPUTE_RELEASE_KEY_PASSWORD
fi
pubkey=$("$tool" release pubkey --secret-key "$key" </dev/null)

ldflags="-s -w -X github.com/sn27/compute/internal/version.release=$version"
ldflags+=" -X github.com/sn27/compute/internal/update.builtinPublicKey=$pubkey"
if [ -n "$feed" ]; then
	ldflags+=" -X github.com/sn27/compute/internal/update.builtinFeed=$feed"
fi

host_arch=$(go env GOHOSTARCH)
pairs=()
for arch in $archs; do
	for flavor in gpu nogpu; do
		platform="linux-$arch"
		tags=()
		if [ "$flavor" = nogpu ]; then
			platform+="-nogpu"
			tags=(-tags nogpu)
		fi
		name="compute-$version-$platform"
		echo "release: building $name"
		CGO_ENABLED=0 GOOS=linux GOARCH="$arch" go build -trimpath "${tags[@]}" -ldflags "$ldflags" -o "$stage/$name" ./cmd/compute
		want="release $version (platform $platform)"
		if got=$("$stage/$name" version 2>&1); then
			if ! grep -qxF "$want" <<<"$got"; then
				echo "release: $name version says:" >&2
				echo "$got" >&2
				echo "release: want the line: $want" >&2
				exit 1
			fi
			echo "release: $name runs: $want"
		elif [ "$arch" = "$host_arch" ]; then
			echo "release: $name does not run on this $host_arch machine:" >&2
			echo "$got" >&2
			exit 1
		else
			echo "release: $name not run (linux/$arch binaries do not run on this $host_arch machine)"
		fi
		pairs+=("$platform=$name")
	done
done

"$tool" release manifest --dir "$stage" --version "$version" "${pairs[@]}"
"$tool" release sign --secret-key "$key" "$stage/release.json" "$stage/SHA256SUMS"
"$tool" release verify --public-key "$pubkey" "$stage/release.json" "$stage/SHA256SUMS"
(cd "$stage" && sha256sum --quiet -c SHA256SUMS)

chmod 755 "$stage"
mv -T "$stage" "$out"
echo "release: $version written to $out, signed by key $pubkey"
