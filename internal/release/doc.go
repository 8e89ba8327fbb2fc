// Package release is the format of compute's releases: the release feed
// (release.json: the version and, per platform, the asset's name, size and
// SHA-256), the checksums file (SHA256SUMS, as sha256sum writes it) and their
// Ed25519 signatures in minisign's format (aead.dev/minisign), with the keys
// that make and check them. scripts/release.sh makes a release through
// `compute release`; internal/update reads one. See docs/releases.md.
package release
