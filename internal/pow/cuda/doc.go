// Package cuda is the GPU proof-of-work solver: a BLAKE2b-512(password.salt)
// mask kernel (hashcat mode 610) written in CUDA C, embedded in the binary,
// compiled at run time with NVRTC for each device's compute capability (twice:
// for messages of at most 32 bytes, every validator challenge, and for any
// one-block message) and launched through the CUDA driver API. Both libraries
// are loaded with dlopen (purego), so the binary builds without cgo or a CUDA
// toolkit and runs on machines without GPUs, where New returns an error
// wrapping pow.ErrUnavailable.
//
// Every GPU gets one worker goroutine locked to its OS thread, holding the
// device's primary context, the loaded module and its buffers for the life of
// the solver. A challenge's keyspace is shared out between the workers in
// slices of a few milliseconds, so cancellation lands within milliseconds.
// Solve and Throughput are serialised: one challenge runs at a time, on all
// GPUs.
package cuda
