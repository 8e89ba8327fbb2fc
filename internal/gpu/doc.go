// Package gpu takes the machine's NVIDIA GPU inventory through NVML
// (libnvidia-ml.so.1, loaded with dlopen through purego, so the binary builds
// without cgo): per GPU its name, UUID, memory and clocks, plus the driver and
// CUDA driver versions. On a machine without the NVIDIA driver, Query returns
// an empty inventory whose Reason says so. Query is safe for concurrent use.
package gpu
