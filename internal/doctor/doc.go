// Package doctor checks a miner's or a validator's surroundings before (or
// while) it runs, and says for every problem found what to do about it: the
// `compute doctor` command.
//
// A Doctor runs a fixed table of checks in order (wallet files and their
// permissions, the chain, the registration, the clock against the chain's
// latest block, the axon as announced and as reachable, Docker, the lease
// isolation and the lease image, GPUs and the container toolkit, hashcat,
// free disk, the open-files limit), the ones its Mode needs. Each check is a function of the Config, the
// Deps (small interfaces: the chain, the Docker daemon, the host) and what the
// checks before it found; it returns one Result: PASS, WARN, FAIL or N/A with a
// detail and, unless it passed, a fix. Every check runs under its own time
// limit, so a Doctor never hangs on a silent chain, daemon or driver: a check
// that overruns fails with a fix naming what did not answer.
//
// Concurrency: Run runs the checks one after the other, each in a goroutine
// of its own that it waits for (or abandons at its time limit, dropping what
// it found); the state the checks pass on is written only by Run. A Doctor is
// used by one goroutine.
package doctor
