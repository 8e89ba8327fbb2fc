// Package devchain is an embedded development chain that implements
// chain.Chain: subnets with hyperparameters, balances and stake, burned
// registration with UID pruning, axons, weights, commitments, and a Yuma
// Consensus epoch every tempo, computed as subtensor does.
//
// A *Chain keeps its state in SQLite (a file that survives restarts, or memory
// for tests); every state change runs in one transaction, so a refused call
// changes nothing. Every state-changing call is signed by the key that owns it
// (sr25519) and carries a strictly increasing per-account nonce.
//
// The same chain is served over a small HTTP/JSON API by NewServer (see
// docs/localnet-api.md) and reached from other processes with Dial, whose
// *Client also implements chain.Chain and signs calls locally. A *Chain is safe
// for concurrent use: SQLite serialises writers and a mutex guards the block
// notifier.
package devchain
