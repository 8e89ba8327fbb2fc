// Package metadata parses Substrate runtime metadata (versions 14 and 15) into a
// type registry plus the pallet, call, event, error, storage and signed-extension
// tables that the subtensor client needs, and decodes or encodes values of any
// registry type. It also computes storage keys (twox and blake2 hashers).
//
// A parsed *Metadata is immutable and safe for concurrent use.
package metadata
