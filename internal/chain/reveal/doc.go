// Package reveal builds and opens timelocked weights commits (commit-reveal
// v4): the SCALE payload the chain decrypts, the block at which the chain
// will reveal a commit made now, the beacon round that block maps to, and the
// timelock encryption to that round.
package reveal
