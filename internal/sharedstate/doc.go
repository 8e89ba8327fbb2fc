// Package sharedstate is the allocation and penalty state validators share
// through the chain, with no outside service: each validator publishes a
// compact, versioned record as its Commitments entry on the subnet (the uids
// it has leased to renters, the uids it penalises, and the block the state
// was taken at), and every validator reads the records of all permitted
// validators and merges them into one view (see docs/shared-state.md).
//
// The package encodes and decodes records (strictly: a hostile validator's
// record is refused with an error, never trusted in part) and merges them;
// publishing and reading go through chain.Chain.
package sharedstate
