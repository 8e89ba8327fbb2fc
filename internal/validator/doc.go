// Package validator is the Compute Subnet validator role: it challenges
// miners with proofs of work, keeps their history, scores them and sets
// weights on chain.
//
// The pure parts take figures and return decisions without I/O: the
// per-miner difficulty controller ([NextDifficulty]), the queryable filter
// ([SelectQueryable]: served axon, stake below 1024, blacklists, one uid per
// IP, version quorum), the verdict on an answer, and [ComputeWeights].
// [ChallengeRound] and [SpecsRound] query miners through a wire.Dendrite in
// concurrent batches under a deadline that no miner can extend.
//
// [Validator.Run] is the block-driven loop. One goroutine owns its state;
// a challenge round and a specs query run in their own goroutines and
// report back on channels, so weights and status checks are never held up
// by a slow round. Every chain call has a deadline and every round is
// stored in one transaction ([store.Validator.RecordRound]): killing the
// process loses at most the round in flight. [Validator.State] is safe to
// call from any goroutine. Metrics are registered on the caller's
// Prometheus registry ([Deps].Registry).
package validator
