// Package wallet holds Bittensor-compatible sr25519 keys: derivation from
// mnemonics, seeds and URIs (with hard and soft junctions), SS58 addresses,
// signing with the "substrate" context, and btcli's on-disk keyfiles.
//
// Keypair values are immutable and safe for concurrent use.
package wallet
