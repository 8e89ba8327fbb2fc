// Package chain defines the interface miners and validators use to talk to a
// Bittensor chain, the types it returns, the typed errors callers branch on, and
// the float-to-u16 weight conversion of the Python SDK. Implementations live in
// subpackages (devchain for the embedded development chain, subtensor for the
// real chain); roles import only this package.
package chain
