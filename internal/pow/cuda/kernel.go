package cuda

import (
	_ "embed"
	"encoding/binary"
	"fmt"

	"github.com/sn27/compute/internal/pow"
)

// kernelSource is the CUDA C source of the BLAKE2b mask kernel, compiled at run
// time by NVRTC for each device's architecture.
//
//go:embed kernel.cu
var kernelSource string

// Names in the compiled module.
const (
	kernelName = "blake2b_mask"
	jobSymbol  = "c_job"
)

// Limits and the layout of the kernel's constant job (struct job in kernel.cu).
const (
	maxLen  = 32  // password bytes the kernel handles (message words 0..3)
	maxCS   = 256 // characters per position
	maxHits = 8   // first-word matches recorded per launch
	// maxInner bounds the candidates one thread hashes per outer index.
	maxInner = 1024

	offM        = 0
	offTarget0  = 128
	offT        = 136
	offLen      = 144
	offInnerLen = 148
	offRadix    = 152
	offCS       = offRadix + 4*maxLen
	jobSize     = offCS + maxLen*maxCS

	resultSize = 8 * (1 + maxHits) // hit count, then the hit indices
)

// The kernel is built twice (MSG_WORDS in kernel.cu): for messages (password
// and salt) of at most 8*shortWords bytes, with the other message words known
// to be zero, and for any message of one block.
const (
	shortWords = 4
	kernShort  = 0 // index of the short-message kernel
	kernFull   = 1 // index of the one-block kernel
	numKernels = 2
)

// kernelDefines returns the NVRTC options that build kernel k.
func kernelDefines(k int) []string {
	if k == kernShort {
		return []string{fmt.Sprintf("-DMSG_WORDS=%d", shortWords)}
	}
	return []string{"-DMSG_WORDS=16"}
}

// plan is a job prepared for the kernel: the constant-memory image and how the
// keyspace splits into outer indices (one per thread) and inner candidates.
type plan struct {
	job    *pow.Job
	image  []byte // jobSize bytes, copied to c_job
	inner  uint64 // candidates per outer index
	outer  uint64 // number of outer indices
	kernel int    // kernShort or kernFull
}

// newPlan checks that the kernel can run job and encodes it.
func newPlan(job *pow.Job) (*plan, error) {
	n := len(job.Charsets)
	switch {
	case n == 0:
		return nil, fmt.Errorf("cuda: empty mask: %w", pow.ErrInvalidChallenge)
	case n > maxLen:
		return nil, fmt.Errorf("cuda: password length %d exceeds the kernel's limit of %d", n, maxLen)
	case n+len(job.Salt) > 128:
		return nil, fmt.Errorf("cuda: password (%d bytes) and salt (%d bytes) exceed one 128-byte BLAKE2b block", n, len(job.Salt))
	}
	for i, cs := range job.Charsets {
		if len(cs) == 0 || len(cs) > maxCS {
			return nil, fmt.Errorf("cuda: position %d has %d characters, want 1..%d: %w", i+1, len(cs), maxCS, pow.ErrInvalidChallenge)
		}
	}
	ks := job.Keyspace()
	if ks >= 1<<63 {
		return nil, fmt.Errorf("cuda: keyspace too large (at least 2^63 candidates): %w", pow.ErrInvalidChallenge)
	}

	p := &plan{job: job, image: make([]byte, jobSize), inner: 1}
	innerLen := 0
	for innerLen < 2 && innerLen < n && p.inner*uint64(len(job.Charsets[innerLen])) <= maxInner {
		p.inner *= uint64(len(job.Charsets[innerLen]))
		innerLen++
	}
	p.outer = ks / p.inner
	p.kernel = kernFull
	if n+len(job.Salt) <= 8*shortWords {
		p.kernel = kernShort
	}

	var block [128]byte
	copy(block[n:], job.Salt)
	img := p.image
	for i := range 16 {
		binary.LittleEndian.PutUint64(img[offM+8*i:], binary.LittleEndian.Uint64(block[8*i:]))
	}
	binary.LittleEndian.PutUint64(img[offTarget0:], binary.LittleEndian.Uint64(job.Target[:8]))
	binary.LittleEndian.PutUint64(img[offT:], uint64(n+len(job.Salt)))
	binary.LittleEndian.PutUint32(img[offLen:], uint32(n))
	binary.LittleEndian.PutUint32(img[offInnerLen:], uint32(innerLen))
	for i, cs := range job.Charsets {
		binary.LittleEndian.PutUint32(img[offRadix+4*i:], uint32(len(cs)))
		copy(img[offCS+maxCS*i:], cs)
	}
	return p, nil
}

// candidate writes the password of candidate index idx into buf (len(buf) is
// the password length); position 0 is the least significant digit.
func candidate(job *pow.Job, idx uint64, buf []byte) {
	for p, cs := range job.Charsets {
		r := uint64(len(cs))
		buf[p] = cs[idx%r]
		idx /= r
	}
}

// confirm returns the password of index idx when its full digest matches.
func (p *plan) confirm(idx uint64) (string, bool) {
	if idx >= p.outer*p.inner {
		return "", false
	}
	buf := make([]byte, len(p.job.Charsets))
	candidate(p.job, idx, buf)
	if !checkHash(p.job, buf) {
		return "", false
	}
	return string(buf), true
}
