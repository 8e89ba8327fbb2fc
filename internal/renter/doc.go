// Package renter rents miners' machines for a validator owner: the
// `compute allocate` role (the original subnet's register.py).
//
// Allocation by requirement: the miners whose last stored specs meet the
// requirement (CPU count, GPU count, per-GPU memory and model, free disk,
// available RAM) are the candidates; each is asked concurrently whether it
// could take the lease (Allocate with checking set); those that say yes are
// ranked by their score from the validator's history, and asked for the real
// lease one after the other until one grants it. The credentials come back
// encrypted with RSA-OAEP-SHA256 to a fresh RSA key made for this allocation;
// the private key is kept (mode 0600) under the data directory, never in the
// working directory, because releasing the lease needs the same public key.
// The allocation (never its password) is recorded in the validator store's
// allocations table, which the validator's scoring reads.
//
// The renter's optional SSH public key travels in the Allocate synapse's
// docker_requirement object as "ssh_key" (the field later versions of the
// original subnet use); with it the miner allows key login only. Several
// keys go one a line, which older miners refuse as malformed.
//
// The holder of a recorded lease can act on it while it runs: Restart,
// Extend (days added; the whole lease at most MaxTimeline days from its
// start) and SetSSHKeys (the renter's keys replaced). Each is an Allocate
// with docker_change and docker_action, signed with the allocation's key,
// sent with checking set so that a miner that does not know lease actions
// takes it for a check and changes nothing; the renter then reports
// ErrUnsupported (see actions.go).
//
// A Renter holds no mutable state of its own beyond its dendrite and is safe
// for concurrent use; concurrent allocations of the same miner are settled by
// the miner, which grants one lease.
package renter
