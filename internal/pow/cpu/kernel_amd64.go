//go:build !purego

package cpu

import "golang.org/x/sys/cpu"

// kernels returns the SIMD kernels this CPU can run, fastest first.
func kernels() []kernel {
	var ks []kernel
	if cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL && cpu.X86.HasAVX512BW {
		ks = append(ks, kernel{name: "avx512", lanes: 16, slice: 8192, scan: simdScan(scanAVX512w3, scanAVX512w4, scanAVX512w6, scanAVX512w16)})
	}
	if cpu.X86.HasAVX2 {
		ks = append(ks, kernel{name: "avx2", lanes: 8, slice: 2048, scan: simdScan(scanAVX2w3, scanAVX2w4, scanAVX2w6, scanAVX2w16)})
	}
	return append(ks, genericKernel)
}

type asmScan = func(p *params, table *uint64, n int) int

// simdScan picks the variant specialised for the message's word count.
func simdScan(w3, w4, w6, w16 asmScan) func(p *params, table []uint64, n, words int) int {
	return func(p *params, table []uint64, n, words int) int {
		if n == 0 {
			return -1
		}
		f := w16
		switch {
		case words <= 3:
			f = w3
		case words <= 4:
			f = w4
		case words <= 6:
			f = w6
		}
		return f(p, &table[0], n)
	}
}
