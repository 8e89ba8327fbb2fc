// Package container rents this miner's machine out as a Docker container reachable by SSH.
//
// It parses and validates the Allocate synapse's device_requirement, turns it into
// enforced Docker limits (cpuset, memory without swap, pids, exactly the requested GPUs,
// and the disk: a sized loop-mounted volume holding every writable path under a
// read-only root, else the storage driver's quota, else reported as not enforced), puts
// the lease on its own network with firewall rules keeping it off the host's services,
// creates the container from the compute SSH image with a fresh random root password (and
// the renter's SSH key when one is given) and /etc/lease describing its limits, and
// returns the credentials encrypted to the requester's RSA public key with
// RSA-OAEP-SHA256, as the original subnet did.
//
// The lease's holder (its requester RSA key, and the validator hotkey the lease
// records) may act on the running lease: Restart restarts the container, SetSSHKeys
// replaces root's authorized_keys, Extend moves the lease's end (stored, timer re-armed,
// /etc/lease and the motd rewritten). The end stored in the state file is what counts;
// the expiry label keeps the end given at allocation.
//
// A Manager owns the leases. Its state is guarded by one mutex (no goroutine owns it);
// the expiry timer runs its callback under that mutex too. Leases are persisted
// atomically (temp file, fsync, rename; mode 0600) in the miner's data directory and
// mirrored as labels on the container; on start the Manager re-adopts its container,
// re-arms the expiry timer and removes stray containers that carry its owner label but
// no lease. Docker is reached through the narrow Engine interface, which the Docker Go
// client satisfies and a fake can replace in unit tests.
package container
