package cuda

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"runtime"
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
// checked against a CPU brute force, throughput for 10 s, and 10 random
// difficulty-10 challenges solved by the resident solver. It writes one line
// per fact to $COMPUTE_GPU_BENCH_OUT:
//
//	throughput <H/s>
//	cpucheck <difficulty> <gpu password> <cpu password>
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

	hs, err := s.Throughput(ctx, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "throughput %.0f\n", hs)
	t.Logf("throughput %.3f GH/s", hs/1e9)

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
