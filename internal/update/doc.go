// Package update keeps a running miner or validator at the current release:
// it reads the signed release feed (internal/release), downloads the asset
// for this platform into a file beside the running binary, checks its size,
// SHA-256 and that it runs and names the release, swaps it in atomically
// (the previous binary kept as <name>.old) and asks the process to restart,
// once no operation holds the Gate (a challenge, an allocation, a challenge
// round, a weights submission). A bad signature, a downgrade or the same
// version, and a short or wrong download are refused and logged, and the
// running binary is left as it was. See docs/releases.md.
//
// Ownership: an Updater's Run is one goroutine; Check and Install may be
// called on their own (compute update) but not beside Run. A Gate is safe for
// concurrent use.
package update
