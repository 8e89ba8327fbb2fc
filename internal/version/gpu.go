//go:build !nogpu

package version

// GPU reports whether this build can use GPUs (the CUDA solver and the NVML
// inventory, loaded with dlopen); the nogpu build, fully static, cannot.
const GPU = true
