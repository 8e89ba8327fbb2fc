// Package scale is a small SCALE codec (the Substrate wire format): a strict
// decoder that fails loudly on short input, bad compact modes, oversized
// lengths and unconsumed trailing bytes, plus append-style encoders.
//
// Decoder values are not safe for concurrent use; encoders are pure functions.
package scale
