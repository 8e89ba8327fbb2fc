// Package score turns a miner's challenge statistics into the validator's
// score and the weights it sets on chain.
//
// It implements the Compute Subnet scoring formula as pure functions of
// [Stats] (or already aggregated [Inputs]) and a [Config]: no I/O, no clock,
// no package state, safe for concurrent use.
//
// Components, each in the range 0..100, with the default configuration:
//
//	resolution = 100 * successes / attempts              (last 12 hours, weight 1.0)
//	difficulty = 100 * clamp(avg difficulty, 7, 12) / 12 (last 20, weight 1.0)
//	time       = 100 * (30 s - avg elapsed) / 30 s       (clamped, weight 0.5)
//	penalty    = 100 * failures / 20                     (last 20, weight 0.5)
//	allocation = difficulty                              (weight 0.4)
//
// A miner that is not allocated scores
// resolution*1.0 + difficulty*1.0 + time*0.5 - penalty*0.5; an allocated miner
// scores the maximum challenge score 100*(1.0+1.0+0.5) = 250 plus
// allocation*0.4. The score is zero, before anything else is looked at, when
// the miner failed at least 10 of its last 20 challenges or has no success;
// negative totals become zero. The normalised score divides by the largest
// possible total, 100*(1.0+1.0+0.5) + 100*0.4 = 290, and [Weights]
// L1-normalises the scores of all miners.
package score
