package version

import "runtime"

// release is the binary's release version, written at link time by
// scripts/release.sh and by nothing else:
//
//	-ldflags "-X github.com/sn27/compute/internal/version.release=1.5.0"
//
// Any other build leaves it empty.
var release string

// Dev is what Release returns for a build that names no release version:
// `go build`, `go test` and `go run`.
const Dev = "dev"

// Release is the binary's own release version: a semantic version
// ("1.5.0", "1.6.0-rc.1") that orders the releases auto-update installs,
// distinct from String, the protocol version the subnet's version_key and
// axon version are made of. It is Dev for a build that set none, or set one
// that is not a semantic version.
func Release() string {
	if _, err := ParseSemver(release); err != nil {
		return Dev
	}
	return release
}

// IsRelease reports whether the binary was built as a release (Release is
// not Dev).
func IsRelease() bool { return Release() != Dev }

// Platform names what this binary runs on and which build it is, as the
// release feed names its assets: GOOS-GOARCH, with "-nogpu" for the static
// build without GPU support ("linux-amd64", "linux-arm64-nogpu").
func Platform() string {
	p := runtime.GOOS + "-" + runtime.GOARCH
	if !GPU {
		p += "-nogpu"
	}
	return p
}

// ReleaseLine is the line `compute version` prints about the release
// ("release 1.5.0 (platform linux-amd64)"); the updater reads it from a
// downloaded binary to check that the binary runs here and is the release
// the feed named.
func ReleaseLine(release, platform string) string {
	return "release " + release + " (platform " + platform + ")"
}
