package cuda

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
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
	Registers         int    // registers per thread of the kernel
	Threads           uint64 // resident threads per launch
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
	nv, err := loadNVRTC(dmaj)
	if err != nil {
		return nil, err
	}
	rmaj, rmin := nv.version()
	if dmaj > 0 && rmaj > dmaj {
		log.Warn("NVRTC is newer than the driver; the kernel may not load", "driver_cuda", dmaj, "nvrtc", rmaj)
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
		w := &worker{
			info: d,
			drv:  drv,
			load: func() (image, error) {
				return get(fmt.Sprintf("native %d", sm), func() (image, error) { return nv.compile(kernelSource, sm) })
			},
			fallback: func() (image, error) {
				return get(fmt.Sprintf("ptx %d", sm), func() (image, error) { return nv.ptx(kernelSource, sm) })
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
			"sms", d.sms, "code", w.code, "registers", w.regs, "threads", w.threads, "setup", time.Since(t0).Round(time.Millisecond))
		s.workers = append(s.workers, w)
	}
	if len(s.workers) == 0 {
		return nil, fmt.Errorf("%w: no GPU usable: %w", pow.ErrUnavailable, errors.Join(errs...))
	}
	return s, nil
}

// selfTest cracks two small known-answer jobs on w alone: one whose password
// sits in message word 0 and one that spans words 0 and 1.
func (s *Solver) selfTest(ctx context.Context, w *worker) error {
	for _, tc := range []struct {
		password string
		charsets []string
	}{
		{"k3Q!9", []string{"abk", "0123", "QRSTUVWXYZ", "!@#", "789"}},
		{"Tz0a1b2c3d", []string{"ST", "yz", "0", "ab", "1", "ab", "12", "bc", "3", "cd"}},
	} {
		job := &pow.Job{Salt: []byte("0123456789abcdef")}
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
			Code:              w.code,
			Registers:         w.regs,
			Threads:           w.threads,
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
	salt := make([]byte, 8)
	if _, err := rand.Read(salt); err != nil {
		return 0, err
	}
	job := &pow.Job{Salt: []byte(hex.EncodeToString(salt))}
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
