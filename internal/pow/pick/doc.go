// Package pick builds the proof-of-work solver named by the operator
// ("auto", "cpu", "cuda", "hashcat"), applying the per-challenge timeout.
// "auto" prefers the CUDA solver and falls back to the CPU solver, logging
// which one it chose and why.
package pick
