// Package canary verifies miners' specs with short real leases (canary
// leases), run by the validator.
//
// On a schedule (every miner about every 6 hours, jittered; at once for a
// miner never checked; sooner after a first refusal or a specs change), the
// canary takes a lease on each idle miner whose specs offer leases
// (has_docker) through the same Allocate flow a
// renter uses (package renter's trial leases), asking for what the miner's
// latest specs claim: every CPU and GPU, and the available RAM and free disk
// less a margin. It never does so while the miner is allocated, and at most
// Concurrency leases are open at once. The lease's RSA key and the SSH key
// it logs in with are made for that lease; the RSA key never leaves memory
// and the SSH key is written only for the OpenSSH client (0600, under the
// data directory) and removed after the login.
//
// It logs in with the OpenSSH client as a renter does, measures inside the
// container (nproc, the cgroup CPU and memory limits, df, nvidia-smi when
// GPUs are claimed), times Allocate to the first shell output, releases the
// lease, and stores the outcome with a reason code: ok, allocate_refused,
// container_start, ssh_login, cpu_mismatch, ram_mismatch, disk_mismatch,
// gpu_mismatch or gpu_duplicate (a GPU UUID seen under another hotkey, which
// flags both). A failure marks the miner's specs unverified: `compute
// allocate` leaves it out and the validator's weights apply a penalty. A
// pass marks them verified with the time. A refusal fails a miner only when
// repeated (Strikes), since a miner busy with a lease this validator does
// not know of refuses too.
package canary
