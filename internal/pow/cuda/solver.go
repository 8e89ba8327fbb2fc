package cuda

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/sn27/compute/internal/pow"
)

// Solver cracks proof-of-work challenges on every CUDA GPU of the machine.
// It is safe for concurrent use; calls to Solve and Throughput run one at a
// time.
type Solver struct {
	log     *slog.Logger
	workers []*worker

	mu     sync.Mutex // serialises searches and Close
	closed bool
}

var _ pow.Solver = (*Solver)(nil)

// Device describes a GPU the solver runs on.
type Device struct {
	Ordinal           int
	Name              string
	ComputeCapability string // "9.0"
	Multiprocessors   int
	Code              string // the loaded kernel: "cubin sm_90" or "ptx compute_90"
	Registers         int    // registers per thread of the short-message kernel (every validator challenge)
	RegistersFull     int    // registers per thread of the one-block kernel
	Threads           uint64 // resident threads per launch of the short-message kernel
}

// New opens the CUDA driver and NVRTC, compiles the kernel once per compute
// capability, loads it on every GPU and checks it on a known answer. Without a
// usable driver, GPU or NVRTC it returns an error wrapping pow.ErrUnavailable;
// a GPU whose set-up fails is left out with a warning while others work.
func New(ctx context.Context, log *slog.Logger) (pow.Solver, error) {
	s, err := Open(ctx, log)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Open is New returning the concrete type, for callers that use Throughput or
// Devices.
func Open(ctx context.Context, log *slog.Logger) (*Solver, error) {
	return open(ctx, log, nil)
}

// open is Open compiling the kernel with the extra NVRTC options opts (the
// tests measure kernel variants chosen by -D definitions this way).
func open(ctx context.Context, log *slog.Logger, opts []string) (*Solver, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("solver", "cuda")
	drv, err := loadDriver()
	if err != nil {
		return nil, err
	}
	devs, err := drv.devices()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", pow.ErrUnavailable, err)
	}
	if len(devs) == 0 {
		return nil, fmt.Errorf("%w: the CUDA driver reports no GPU", pow.ErrUnavailable)
	}
	dmaj, dmin, _ := drv.version()
	nv, err := loadNVRTC(dmaj, dmin)
	if err != nil {
		return nil, err
	}
	rmaj, rmin := nv.version()
	if !notNewer(rmaj, rmin, dmaj, dmin) {
		log.Warn("NVRTC is newer than the driver; the kernel may not load", "driver_cuda", fmt.Sprintf("%d.%d", dmaj, dmin),
			"nvrtc", fmt.Sprintf("%d.%d", rmaj, rmin))
	}
	log.Info("CUDA found", "driver_cuda", fmt.Sprintf("%d.%d", dmaj, dmin),
		"nvrtc", fmt.Sprintf("%d.%d", rmaj, rmin), "nvrtc_path", nv.path, "gpus", len(devs))

	// One compilation per compute capability, shared by the workers (each
	// compiles lazily on its own thread; the cache is guarded).
	type compiled struct {
		once sync.Once
		img  image
		err  error
	}
	var cacheMu sync.Mutex
	cache := map[string]*compiled{}
	get := func(key string, f func() (image, error)) (image, error) {
		cacheMu.Lock()
		c, ok := cache[key]
		if !ok {
			c = &compiled{}
			cache[key] = c
		}
		cacheMu.Unlock()
		c.once.Do(func() { c.img, c.err = f() })
		return c.img, c.err
	}

	s := &Solver{log: log}
	var errs []error
	for _, d := range devs {
		if err := ctx.Err(); err != nil {
			s.closeWorkers()
			return nil, err
		}
		sm := d.major*10 + d.minor
		build := func(k int) []string { return append(kernelDefines(k), opts...) }
		w := &worker{
			info: d,
			drv:  drv,
			load: func(k int) (image, error) {
				return get(fmt.Sprintf("native %d %d", sm, k), func() (image, error) { return nv.compile(kernelSource, sm, build(k)...) })
			},
			fallback: func(k int) (image, error) {
				return get(fmt.Sprintf("ptx %d %d", sm, k), func() (image, error) { return nv.ptx(kernelSource, sm, build(k)...) })
			},
		}
		t0 := time.Now()
		if err := w.start(); err != nil {
			log.Warn("GPU left out", "gpu", d.ordinal, "name", d.name, "err", err)
			errs = append(errs, err)
			continue
		}
		if err := s.selfTest(ctx, w); err != nil {
			log.Warn("GPU left out: kernel self-test failed", "gpu", d.ordinal, "name", d.name, "err", err)
			errs = append(errs, fmt.Errorf("GPU %d (%s): kernel self-test: %w", d.ordinal, d.name, err))
			close(w.tasks)
			<-w.done
			continue
		}
		log.Info("GPU ready", "gpu", d.ordinal, "name", d.name, "cc", fmt.Sprintf("%d.%d", d.major, d.minor),
			"sms", d.sms, "code", w.kern[kernShort].code, "registers", w.kern[kernShort].regs,
			"registers_full", w.kern[kernFull].regs, "threads", w.kern[kernShort].threads, "setup", time.Since(t0).Round(time.Millisecond))
		s.workers = append(s.workers, w)
	}
	if len(s.workers) == 0 {
		return nil, fmt.Errorf("%w: no GPU usable: %w", pow.ErrUnavailable, errors.Join(errs...))
	}
	return s, nil
}

// selfTest cracks small known-answer jobs on w alone: a password in message
// word 0, one spanning words 0 and 1 (both on the short-message kernel) and
// one before a long salt (the one-block kernel).
func (s *Solver) selfTest(ctx context.Context, w *worker) error {
	for _, tc := range []struct {
		password string
		charsets []string
		salt     string
	}{
		{"k3Q!9", []string{"abk", "0123", "QRSTUVWXYZ", "!@#", "789"}, "0123456789abcdef"},
		{"Tz0a1b2c3d", []string{"ST", "yz", "0", "ab", "1", "ab", "12", "bc", "3", "cd"}, "0123456789abcdef"},
		{"q7R", []string{"pq", "6789", "QRS"}, strings.Repeat("0123456789abcdef", 6)},
	} {
		job := &pow.Job{Salt: []byte(tc.salt)}
		for _, cs := range tc.charsets {
			job.Charsets = append(job.Charsets, []byte(cs))
		}
		job.Target = sum512([]byte(tc.password), job.Salt)
		got, err := s.search(ctx, job, []*worker{w})
		if err != nil {
			return err
		}
		if got != tc.password {
			return fmt.Errorf("found %q, want %q", got, tc.password)
		}
	}
	return nil
}

// Name implements pow.Solver.
func (s *Solver) Name() string { return "cuda" }

// Devices lists the GPUs the solver runs on.
func (s *Solver) Devices() []Device {
	out := make([]Device, len(s.workers))
	for i, w := range s.workers {
		out[i] = Device{
			Ordinal:           w.info.ordinal,
			Name:              w.info.name,
			ComputeCapability: fmt.Sprintf("%d.%d", w.info.major, w.info.minor),
			Multiprocessors:   w.info.sms,
			Code:              w.kern[kernShort].code,
			Registers:         w.kern[kernShort].regs,
			RegistersFull:     w.kern[kernFull].regs,
			Threads:           w.kern[kernShort].threads,
		}
	}
	return out
}

// Solve implements pow.Solver: it searches the job's keyspace on all GPUs and
// returns within a few milliseconds of ctx being done.
func (s *Solver) Solve(ctx context.Context, job *pow.Job) (string, error) {
	return s.search(ctx, job, nil)
}

func (s *Solver) search(ctx context.Context, job *pow.Job, workers []*worker) (string, error) {
	p, err := newPlan(job)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return "", errClosed
	}
	if workers == nil {
		workers = s.workers
	}
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("cuda: %w", err)
	}
	sr := &search{ctx: ctx, plan: p}
	sr.run(workers)
	pw, err := sr.result()
	switch {
	case pw != "":
		return pw, nil
	case err != nil:
		return "", err
	case ctx.Err() != nil:
		return "", fmt.Errorf("cuda: %w", ctx.Err())
	case sr.overflow:
		return "", fmt.Errorf("cuda: keyspace searched but more first-word matches than recorded; password may be missed: %w", pow.ErrNotFound)
	}
	return "", pow.ErrNotFound
}

// Throughput hashes a keyspace that holds no answer for d (or until ctx is
// done) on all GPUs and returns the rate in hashes per second. The job has the
// shape of a difficulty-12 challenge.
func (s *Solver) Throughput(ctx context.Context, d time.Duration) (float64, error) {
	return s.throughput(ctx, d, 16)
}

// throughput is Throughput with a salt of saltLen hex digits (more than 20
// moves the job to the one-block kernel).
func (s *Solver) throughput(ctx context.Context, d time.Duration, saltLen int) (float64, error) {
	salt := make([]byte, (saltLen+1)/2)
	if _, err := rand.Read(salt); err != nil {
		return 0, err
	}
	job := &pow.Job{Salt: []byte(hex.EncodeToString(salt)[:saltLen])}
	for range 12 {
		job.Charsets = append(job.Charsets, []byte("aB3$kQ9!zP"))
	}
	// A target no candidate reaches: all ones, not a BLAKE2b output of this
	// keyspace in practice; any first-word match is rejected by the host check.
	for i := range job.Target {
		job.Target[i] = 0xff
	}
	p, err := newPlan(job)
	if err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, errClosed
	}
	tctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	sr := &search{ctx: tctx, plan: p}
	t0 := time.Now()
	sr.run(s.workers)
	elapsed := time.Since(t0)
	if _, err := sr.result(); err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("cuda: throughput: %w", err)
	}
	return float64(sr.hashes.Load()) / elapsed.Seconds(), nil
}

// Close implements pow.Solver: it stops the workers and releases the GPUs.
func (s *Solver) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.closeWorkers()
	return nil
}

func (s *Solver) closeWorkers() {
	for _, w := range s.workers {
		close(w.tasks)
	}
	for _, w := range s.workers {
		<-w.done
	}
	s.workers = nil
}
