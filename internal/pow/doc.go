// Package pow implements the subnet's proof of work: BLAKE2b-512($pass.$salt)
// challenges (hashcat mode 610), their generation and verification, the solvers
// behind one interface, the per-device priority queue and the benchmark runner.
package pow
