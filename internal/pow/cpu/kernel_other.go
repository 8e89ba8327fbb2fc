//go:build !amd64 || purego

package cpu

func kernels() []kernel { return []kernel{genericKernel} }
