package cpu

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/blake2b"

	"github.com/sn27/compute/internal/pow"
)

// Tuning of the specialised path.
const (
	// tableTarget is the table size the inner positions aim for.
	tableTarget = 4096
	// tableMax caps the table (entries of 8 bytes).
	tableMax = 1 << 16
	// blockSize is the BLAKE2b block: longer messages use the fallback.
	blockSize = 128
)

// Options configures a Solver.
type Options struct {
	// Workers is the number of goroutines searching; 0 means GOMAXPROCS.
	Workers int
	// Kernel forces a kernel: "avx512", "avx2" or "generic"; "" or "auto"
	// picks the fastest this CPU runs.
	Kernel string
}

// Solver is the CPU solver. It implements pow.Solver.
type Solver struct {
	workers int
	k       kernel
	hashes  atomic.Uint64
}

var _ pow.Solver = (*Solver)(nil)

// Kernels lists the kernels this CPU can run, fastest first.
func Kernels() []string {
	var names []string
	for _, k := range kernels() {
		names = append(names, k.name)
	}
	return names
}

// New returns a CPU solver.
func New(opts Options) (*Solver, error) {
	if opts.Workers < 0 {
		return nil, fmt.Errorf("cpu solver: workers must be >= 0, got %d", opts.Workers)
	}
	w := opts.Workers
	if w == 0 {
		w = runtime.GOMAXPROCS(0)
	}
	ks := kernels()
	k := ks[0]
	if opts.Kernel != "" && opts.Kernel != "auto" {
		found := false
		for _, c := range ks {
			if c.name == opts.Kernel {
				k, found = c, true
			}
		}
		if !found {
			return nil, fmt.Errorf("cpu solver: kernel %q is not available on this CPU (have %v): %w", opts.Kernel, Kernels(), pow.ErrUnavailable)
		}
	}
	return &Solver{workers: w, k: k}, nil
}

// Name implements pow.Solver.
func (s *Solver) Name() string { return "cpu" }

// Kernel names the kernel in use ("avx512", "avx2" or "generic").
func (s *Solver) Kernel() string { return s.k.name }

// Workers is the number of search goroutines.
func (s *Solver) Workers() int { return s.workers }

// Hashes is the number of candidates hashed so far by this solver.
func (s *Solver) Hashes() uint64 { return s.hashes.Load() }

// Close implements pow.Solver; the CPU solver holds nothing between jobs.
func (s *Solver) Close() error { return nil }

// Solve implements pow.Solver.
func (s *Solver) Solve(ctx context.Context, job *pow.Job) (string, error) {
	if err := checkJob(job); err != nil {
		return "", err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var stop atomic.Bool
	release := context.AfterFunc(ctx, func() { stop.Store(true) })
	defer release()

	var (
		mu     sync.Mutex
		result string
		found  bool
	)
	report := func(pw []byte) {
		mu.Lock()
		if !found {
			found, result = true, string(pw)
		}
		mu.Unlock()
		stop.Store(true)
	}
	var run func(worker func() bool)
	run = func(worker func() bool) {
		var wg sync.WaitGroup
		for range s.workers {
			wg.Go(func() { worker() })
		}
		wg.Wait()
	}
	if len(job.Charsets)+len(job.Salt) <= blockSize {
		p := newPlan(job)
		var next atomic.Uint64
		run(func() bool { return s.searchFast(p, &next, &stop, report) })
	} else {
		var next atomic.Uint64
		run(func() bool { return s.searchLong(job, &next, &stop, report) })
	}
	mu.Lock()
	defer mu.Unlock()
	if found {
		return result, nil
	}
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("cpu solver: %w", context.Cause(ctx))
	}
	return "", pow.ErrNotFound
}

func checkJob(job *pow.Job) error {
	if job == nil {
		return fmt.Errorf("%w: nil job", pow.ErrInvalidChallenge)
	}
	if len(job.Charsets) == 0 || len(job.Charsets) > pow.MaxPasswordLength {
		return fmt.Errorf("%w: password length %d out of range 1..%d", pow.ErrInvalidChallenge, len(job.Charsets), pow.MaxPasswordLength)
	}
	for i, cs := range job.Charsets {
		if len(cs) == 0 {
			return fmt.Errorf("%w: empty charset at position %d", pow.ErrInvalidChallenge, i)
		}
	}
	if job.Keyspace() >= 1<<63 {
		return fmt.Errorf("%w: keyspace exceeds 2^63", pow.ErrInvalidChallenge)
	}
	return nil
}

// plan splits the password positions into inner ones (all in message word
// 0, enumerated by the precomputed table) and outer ones (fixed per batch).
type plan struct {
	job      *pow.Job
	msgLen   int
	words    int // message words holding any byte
	inner    []int
	outer    []int
	table    []uint64 // padded to a multiple of 16 with copies of entry 0
	real     int      // entries before padding
	outerN   uint64
	target0  uint64
	template [16]uint64 // salt bytes; password bytes zero
	chunk    uint64     // outer indices a worker takes at once
}

func newPlan(job *pow.Job) *plan {
	d := len(job.Charsets)
	p := &plan{job: job, msgLen: d + len(job.Salt)}
	p.words = (p.msgLen + 7) / 8
	p.target0 = binary.LittleEndian.Uint64(job.Target[:8])
	for i, b := range job.Salt {
		pos := d + i
		p.template[pos/8] |= uint64(b) << (8 * (pos % 8))
	}
	isInner := make([]bool, d)
	size := 1
	for pos := min(d, 8) - 1; pos >= 0 && size < tableTarget; pos-- {
		l := len(job.Charsets[pos])
		if l < 2 || size*l > tableMax {
			continue
		}
		size *= l
		isInner[pos] = true
		p.inner = append(p.inner, pos)
	}
	for pos := range d {
		if !isInner[pos] {
			p.outer = append(p.outer, pos)
		}
	}
	p.real = size
	padded := (size + 15) &^ 15
	p.table = make([]uint64, padded)
	for i := range size {
		var w uint64
		rest := i
		for _, pos := range p.inner {
			cs := job.Charsets[pos]
			w |= uint64(cs[rest%len(cs)]) << (8 * pos)
			rest /= len(cs)
		}
		p.table[i] = w
	}
	for i := size; i < padded; i++ {
		p.table[i] = p.table[0]
	}
	p.outerN = 1
	for _, pos := range p.outer {
		p.outerN *= uint64(len(job.Charsets[pos]))
	}
	p.chunk = uint64(max(1, tableTarget/padded))
	return p
}

// password writes the candidate for outer digits and table index i.
func (p *plan) password(buf []byte, digits []int, i int) []byte {
	buf = buf[:len(p.job.Charsets)]
	if i >= p.real {
		i = 0
	}
	for _, pos := range p.inner {
		cs := p.job.Charsets[pos]
		buf[pos] = cs[i%len(cs)]
		i /= len(cs)
	}
	for k, pos := range p.outer {
		buf[pos] = p.job.Charsets[pos][digits[k]]
	}
	return buf
}

func (p *plan) decode(digits []int, idx uint64) {
	for k, pos := range p.outer {
		l := uint64(len(p.job.Charsets[pos]))
		digits[k] = int(idx % l)
		idx /= l
	}
}

func (p *plan) increment(digits []int) {
	for k, pos := range p.outer {
		digits[k]++
		if digits[k] < len(p.job.Charsets[pos]) {
			return
		}
		digits[k] = 0
	}
}

func (s *Solver) searchFast(p *plan, next *atomic.Uint64, stop *atomic.Bool, report func([]byte)) bool {
	digits := make([]int, len(p.outer))
	buf := make([]byte, pow.MaxPasswordLength)
	var prm params
	lanes := s.k.lanes
	for !stop.Load() {
		start := next.Add(p.chunk) - p.chunk
		if start >= p.outerN {
			return false
		}
		end := min(start+p.chunk, p.outerN)
		p.decode(digits, start)
		for o := start; o < end; o++ {
			m := p.template
			for k, pos := range p.outer {
				m[pos/8] |= uint64(p.job.Charsets[pos][digits[k]]) << (8 * (pos % 8))
			}
			prepare(&prm, &m, p.msgLen, p.target0)
			for pos := 0; pos < len(p.table); {
				if stop.Load() {
					return false
				}
				n := min(s.k.slice, len(p.table)-pos)
				idx := s.k.scan(&prm, p.table[pos:], n, p.words)
				if idx < 0 {
					s.hashes.Add(uint64(n))
					pos += n
					continue
				}
				s.hashes.Add(uint64(idx + 1))
				if pw := p.password(buf, digits, pos+idx); p.job.Check(pw) {
					report(pw)
					return true
				}
				// A first-word collision: finish its lane group portably.
				from := pos + idx + 1
				to := (from + lanes - 1) / lanes * lanes
				for from < to {
					j := scanGeneric(&prm, p.table[from:], to-from)
					if j < 0 {
						break
					}
					if pw := p.password(buf, digits, from+j); p.job.Check(pw) {
						report(pw)
						return true
					}
					from += j + 1
				}
				pos = to
			}
			p.increment(digits)
		}
	}
	return false
}

// searchLong handles messages longer than one block with x/crypto/blake2b.
func (s *Solver) searchLong(job *pow.Job, next *atomic.Uint64, stop *atomic.Bool, report func([]byte)) bool {
	const chunk = 4096
	total := job.Keyspace()
	d := len(job.Charsets)
	msg := make([]byte, d+len(job.Salt))
	copy(msg[d:], job.Salt)
	digits := make([]int, d)
	for !stop.Load() {
		start := next.Add(chunk) - chunk
		if start >= total {
			return false
		}
		end := min(start+chunk, total)
		idx := start
		for k := d - 1; k >= 0; k-- {
			l := uint64(len(job.Charsets[k]))
			digits[k] = int(idx % l)
			idx /= l
		}
		for o := start; o < end; o++ {
			for k := range d {
				msg[k] = job.Charsets[k][digits[k]]
			}
			if blake2b.Sum512(msg) == job.Target {
				report(msg[:d])
				return true
			}
			for k := d - 1; k >= 0; k-- {
				digits[k]++
				if digits[k] < len(job.Charsets[k]) {
					break
				}
				digits[k] = 0
			}
		}
		s.hashes.Add(end - start)
	}
	return false
}

// Throughput measures the raw hash rate (hashes per second) over d by
// searching a challenge-shaped keyspace for a digest that is not in it.
func (s *Solver) Throughput(ctx context.Context, d time.Duration) (float64, error) {
	var target [64]byte
	if _, err := rand.Read(target[:]); err != nil {
		return 0, fmt.Errorf("cpu solver: random target: %w", err)
	}
	sets := make([][]byte, 12)
	for i := range sets {
		sets[i] = []byte(pow.DefaultChars[:pow.ChallengeChars])
	}
	job := &pow.Job{Target: target, Salt: []byte("0123456789abcdef"), Charsets: sets}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	before := s.Hashes()
	t0 := time.Now()
	_, err := s.Solve(ctx, job)
	el := time.Since(t0)
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return 0, err
	}
	return float64(s.Hashes()-before) / el.Seconds(), nil
}
