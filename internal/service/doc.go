// Package service installs compute's roles as systemd services: `compute
// service install miner|validator` and `compute service uninstall`.
//
// Render writes the unit: the role's flags passed through to ExecStart
// (quoted by ExecWord so that systemd hands every argument over unchanged),
// a restart policy (on failure, and always on RestartExitCode, the status of
// a self-update), a system user of its own, and the sandboxing the role
// allows: no new privileges, a read-only system with the user's
// ~/.bittensor (wallets and data) and the data directories writable, a
// private /tmp, no capabilities; the miner keeps the GPU devices and, to run
// lease containers, the docker group. Install creates the user (useradd) and
// the directories, writes the unit and enables it when systemd runs; the
// machine is reached through System, so that tests install into a temporary
// directory.
package service
