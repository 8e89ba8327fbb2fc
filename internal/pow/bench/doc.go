// Package bench is the proof-of-work benchmark behind `compute benchmark`:
// it solves freshly made challenges of chosen difficulties with a solver and
// reports runs, successes, mean and median time and hash rate per
// difficulty; it also holds the seed README's interactive question flow and
// the raw throughput measurement.
package bench
