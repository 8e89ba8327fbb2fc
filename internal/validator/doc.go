// Package validator is the Compute Subnet validator role: it challenges
// miners with proofs of work, keeps their history, scores them and sets
// weights on chain.
//
// The pure parts (the per-miner difficulty controller) take figures and
// return decisions without I/O; the loop that owns per-miner state wires the
// chain, the dendrite, the store and the score package around them.
package validator
