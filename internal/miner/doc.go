// Package miner is the Compute Subnet miner role: it serves the Specs, Challenge and
// Allocate synapses on a Bittensor axon and keeps that axon announced on chain.
//
// A Miner checks its surroundings at start (registration on the subnet, Docker and the
// lease image, GPUs and driver, the chosen proof-of-work solver), then serves until its
// context ends. Requests are filtered as the original miner filtered them (see Policy):
// whitelisted hot/coldkeys always pass; unregistered hotkeys, callers below the validator
// permit stake, blacklisted hot/coldkeys, suspected exploiters and, once a quorum of
// validators runs the minimal version, outdated validators are refused. Priority is the
// caller's stake plus the synapse's priority (allocate 3 > challenge 2 > specs 1).
//
// Specs come from the miner's own inventory (internal/specs); specs_input is never read,
// let alone executed. Challenges go through one proof-of-work queue in front of the
// solver, bounded by the request's timeout. Allocations go to the lease manager of
// internal/container, which runs the prepared SSH image; the image is never built per
// request.
//
// Concurrency: the metagraph snapshot the filters read is replaced atomically by the sync
// loop (one goroutine); the specs report is cached the same way. Run owns every goroutine
// it starts and returns after they exit. Shutdown order: the axon stops accepting and
// cancels requests still running after its grace period (which cancels their solves),
// the solver is closed, and the lease manager stops its timers (lease state is written on
// every change). The axon's listener (Deps.Listener) is opened by the caller and closed
// by Run; the metrics are registered on Deps.Registry, which the caller serves.
package miner
