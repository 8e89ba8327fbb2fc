// Package devchain is an embedded development chain that implements
// chain.Chain: subnets with hyperparameters, balances and stake, burned
// registration with UID pruning, axons, weights, commitments, and a Yuma
// Consensus epoch on subtensor's stateful schedule (chain.EpochSchedule),
// computed as subtensor does.
//
// Weights follow commit-reveal v4 by default, as on finney: a local beacon of
// drand quicknet's scheme (its key kept in the state) publishes a pulse every
// period, each block stores the new pulses on chain, and the block's step
// decrypts and applies the timelocked commits due, recording those it drops
// as events.
//
// A *Chain keeps its state in SQLite (a file that survives restarts, or memory
// for tests); every state change runs in one transaction, so a refused call
// changes nothing. Amounts are u64 rao changed with checked arithmetic, the
// gross issuance is bounded so that every amount fits SQLite's INTEGER, and
// the faucet is capped per account and in total (see amount.go). A subnet's
// failing epoch is undone, recorded and skipped: the chain never stops on
// its own state. Every state-changing call is signed by the key that owns it
// (sr25519) and carries a strictly increasing per-account nonce.
//
// The same chain is served over a small HTTP/JSON API by a Server (see
// docs/localnet-api.md) and reached from other processes with Dial, whose
// *Client also implements chain.Chain and signs calls locally. A *Chain is safe
// for concurrent use: SQLite serialises writers and a mutex guards the block
// notifier.
package devchain
