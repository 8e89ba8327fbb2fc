// Package specs takes this miner's own inventory (CPU, GPUs, RAM, disk, Docker) and
// writes it in the JSON shape of the original subnet's specs report, which validators
// store and renters filter on. It reads /proc/cpuinfo, /proc/meminfo and statfs of the
// data directory, measures a short bounded disk and memory speed probe, and takes GPUs
// from a GPUInventory (NVML through internal/gpu, or none). It never executes anything
// it receives: the original's validator-sent specs program is gone. Parse validates a
// report received from a miner. A Collector holds no mutable state and is safe for
// concurrent use.
package specs
