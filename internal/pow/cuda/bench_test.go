package cuda

import (
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// benchOutEnv names the file TestGPUBenchReport writes its report to; the test
// runs only when it is set (bench/gpu.sh sets it on GPU machines).
const benchOutEnv = "COMPUTE_GPU_BENCH_OUT"

// cpuBruteForce searches job's keyspace on all CPU cores with the host hash:
// a reference independent of the kernel.
func cpuBruteForce(p *plan) string {
	ks := p.inner * p.outer
	workers := uint64(runtime.NumCPU())
	var (
		once  sync.Once
		found string
		wg    sync.WaitGroup
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, len(p.job.Charsets))
			for idx := w; idx < ks; idx += workers {
				candidate(p.job, idx, buf)
				if checkHash(p.job, buf) {
					once.Do(func() { found = string(buf) })
					return
				}
			}
		}()
	}
	wg.Wait()
	return found
}

// TestGPUBenchReport measures the solver for bench/gpu.sh: difficulty 7
// checked against a CPU brute force, difficulties 7 to 9 for hashcat to check,
// throughput for 10 s (3 s on the one-block kernel), and 10 random
// difficulty-10 challenges solved by the resident solver. It writes one line
// per fact to $COMPUTE_GPU_BENCH_OUT:
//
//	throughput <H/s>
//	throughput_full <H/s>   (a 40-character salt: the one-block kernel)
//	cpucheck <difficulty> <gpu password> <cpu password>
//	check <difficulty> <hash hex>:<salt> <charset> <password>   (7, 8, 9; for hashcat)
//	challenge <n> <hash hex>:<salt> <charset> <password> <seconds>
func TestGPUBenchReport(t *testing.T) {
	path := os.Getenv(benchOutEnv)
	if path == "" {
		t.Skipf("%s not set", benchOutEnv)
	}
	s := openGPU(t)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ctx := context.Background()

	job, want := challengeJob(t, 7)
	got, err := s.Solve(ctx, job)
	if err != nil {
		t.Fatalf("difficulty 7: %v", err)
	}
	p, err := newPlan(job)
	if err != nil {
		t.Fatal(err)
	}
	cpu := cpuBruteForce(p)
	fmt.Fprintf(f, "cpucheck 7 %s %s\n", got, cpu)
	if got != want || cpu != want {
		t.Errorf("difficulty 7: GPU %q, CPU %q, want %q", got, cpu, want)
	}

	for d := 7; d <= 9; d++ {
		job, want := challengeJob(t, d)
		got, err := s.Solve(ctx, job)
		if err != nil || got != want {
			t.Errorf("difficulty %d: got %q, %v; want %q", d, got, err, want)
		}
		fmt.Fprintf(f, "check %d %s:%s %s %s\n", d, hex.EncodeToString(job.Target[:]), job.Salt, job.Charsets[0], got)
	}

	hs, err := s.Throughput(ctx, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "throughput %.0f\n", hs)
	t.Logf("throughput %.3f GH/s", hs/1e9)
	full, err := s.throughput(ctx, 3*time.Second, 40)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "throughput_full %.0f\n", full)
	t.Logf("throughput with a 40-character salt (one-block kernel) %.3f GH/s", full/1e9)

	for i := range 10 {
		job, want := challengeJob(t, 10)
		cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		t0 := time.Now()
		got, err := s.Solve(cctx, job)
		took := time.Since(t0)
		cancel()
		if err != nil || got != want {
			t.Errorf("challenge %d: got %q, %v; want %q", i, got, err, want)
		}
		fmt.Fprintf(f, "challenge %d %s:%s %s %s %.4f\n", i, hex.EncodeToString(job.Target[:]), job.Salt,
			job.Charsets[0], got, took.Seconds())
	}
}

// variantsEnv lists kernel variants for TestGPUKernelVariants, separated by
// ";", each a space-separated list of NVRTC options ("" or "base" for none),
// e.g. "base;-DKERNEL_MIN_BLOCKS=1;-DKERNEL_MIN_BLOCKS=4".
const variantsEnv = "COMPUTE_GPU_VARIANTS"

// TestGPUKernelVariants compiles each variant of $COMPUTE_GPU_VARIANTS, lets
// the solver self-test it, cracks a difficulty-9 challenge with it and
// measures its throughput for 3 s.
func TestGPUKernelVariants(t *testing.T) {
	spec := os.Getenv(variantsEnv)
	if spec == "" {
		t.Skipf("%s not set", variantsEnv)
	}
	ctx := context.Background()
	for _, v := range strings.Split(spec, ";") {
		opts := strings.Fields(v)
		if len(opts) == 1 && opts[0] == "base" {
			opts = nil
		}
		name := strings.Join(opts, " ")
		if name == "" {
			name = "base"
		}
		s, err := open(ctx, slog.New(slog.DiscardHandler), opts)
		if err != nil {
			t.Errorf("variant %s: %v", name, err)
			continue
		}
		job, want := challengeJob(t, 9)
		got, err := s.Solve(ctx, job)
		if err != nil || got != want {
			t.Errorf("variant %s: difficulty 9: got %q, %v; want %q", name, got, err, want)
		}
		hs, err := s.Throughput(ctx, 3*time.Second)
		if err != nil {
			t.Errorf("variant %s: throughput: %v", name, err)
		}
		d := s.Devices()[0]
		t.Logf("variant %-28s %8.3f GH/s  %3d registers  %7d threads  %s", name, hs/1e9, d.Registers, d.Threads, d.Code)
		s.Close()
	}
}
