package cpu

// kernel scans a batch of candidates; n must be a multiple of lanes and
// table must hold at least n entries.
type kernel struct {
	name  string
	lanes int
	slice int // entries per call: a fraction of a millisecond of work
	scan  func(p *params, table []uint64, n, words int) int
}

var genericKernel = kernel{name: "generic", lanes: 1, slice: 256, scan: func(p *params, table []uint64, n, _ int) int {
	return scanGeneric(p, table, n)
}}
