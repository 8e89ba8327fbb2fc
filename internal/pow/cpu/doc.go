// Package cpu is the native proof-of-work solver: it searches a mask's
// keyspace for the BLAKE2b-512(password+salt) preimage on every core.
//
// Messages of at most 128 bytes (every real challenge) take the specialised
// path: the compression runs on one block with a fixed salt, the message
// words and the first-round G applications that do not change per candidate
// are computed once per batch, only the first digest word is compared (a hit
// is then confirmed in full), and candidates are hashed 16 (AVX-512, two
// interleaved 8-lane groups) or 8 (AVX2, two interleaved 4-lane groups) at
// a time by kernels generated with avo (see asm/, go generate). The kernel
// is chosen at run time; other architectures and the purego build tag
// use a portable Go kernel. Longer messages fall back to x/crypto/blake2b.
//
// A Solver is safe for concurrent use; each Solve splits the keyspace over
// its workers (GOMAXPROCS by default) and stops within about a millisecond of
// cancellation.
package cpu

//go:generate sh -c "cd asm && go run . -pkg cpu -out ../kernel_amd64.s -stubs ../stub_amd64.go"
