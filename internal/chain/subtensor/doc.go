// Package subtensor implements chain.Chain against a Bittensor subtensor node over
// websocket JSON-RPC: metagraph and storage reads decoded with a strict SCALE codec, and
// extrinsics (burned_register, serve_axon, set_weights, Commitments.set_commitment) built
// from the runtime's own metadata, signed with sr25519 and watched to inclusion, with the
// dispatch outcome read from System.Events and mapped onto the chain package's errors.
//
// Metadata is fetched once per runtime spec_version and cached. A Client is safe for
// concurrent use; extrinsics from one signer are serialised so nonces stay ordered.
package subtensor
