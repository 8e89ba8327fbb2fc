// Package version holds the versions of compute: the protocol version
// (1.4.2, whose integer forms are the weights version_key and the axon
// version) and the binary's own release version (a semantic version set at
// link time by scripts/release.sh, "dev" otherwise), with the semantic
// version parsing and ordering auto-update relies on.
package version
