package cuda

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"math/big"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ebitengine/purego"

	"github.com/sn27/compute/internal/pow"
)

// requireGPUEnv, set to 1 on GPU machines (bench/gpu.sh does), turns the
// skips of GPU tests into failures.
const requireGPUEnv = "COMPUTE_REQUIRE_GPU"

func TestNewWithoutDriver(t *testing.T) {
	if h, err := purego.Dlopen("libcuda.so.1", purego.RTLD_NOW); err == nil {
		_ = purego.Dlclose(h)
		t.Skip("a CUDA driver is installed")
	}
	s, err := New(context.Background(), slog.New(slog.DiscardHandler))
	if err == nil {
		s.Close()
		t.Fatal("New succeeded without a CUDA driver")
	}
	if !errors.Is(err, pow.ErrUnavailable) {
		t.Errorf("error %v does not wrap pow.ErrUnavailable", err)
	}
	if !strings.Contains(err.Error(), "no CUDA driver (libcuda.so.1 not found)") {
		t.Errorf("error %q does not say the driver is missing", err)
	}
}

// openGPU returns a solver on this machine's GPUs or skips.
func openGPU(t *testing.T) *Solver {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := Open(ctx, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})))
	if err != nil {
		if errors.Is(err, pow.ErrUnavailable) && os.Getenv(requireGPUEnv) != "1" {
			t.Skipf("no usable GPU: %v", err)
		}
		t.Fatalf("open CUDA solver: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	for _, d := range s.Devices() {
		t.Logf("GPU %d %s cc %s, %d SMs, %s, %d registers, %d threads", d.Ordinal, d.Name, d.ComputeCapability,
			d.Multiprocessors, d.Code, d.Registers, d.Threads)
	}
	return s
}

// challengeJob makes a validator-style job: 10 of the 86 default characters,
// a random password of that length and a 16-hex-digit salt.
func challengeJob(t *testing.T, difficulty int) (*pow.Job, string) {
	t.Helper()
	const all = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!@#$%^&*()-_+=[]{};:,.<>"
	pick := func(n int) int {
		v, err := rand.Int(rand.Reader, big.NewInt(int64(n)))
		if err != nil {
			t.Fatal(err)
		}
		return int(v.Int64())
	}
	b := []byte(all)
	for i := len(b) - 1; i > 0; i-- {
		j := pick(i + 1)
		b[i], b[j] = b[j], b[i]
	}
	chars := b[:10]
	pw := make([]byte, difficulty)
	for i := range pw {
		pw[i] = chars[pick(len(chars))]
	}
	salt := make([]byte, 8)
	if _, err := rand.Read(salt); err != nil {
		t.Fatal(err)
	}
	job := &pow.Job{Salt: []byte(hex.EncodeToString(salt))}
	for range difficulty {
		job.Charsets = append(job.Charsets, chars)
	}
	job.Target = sum512(pw, job.Salt)
	return job, string(pw)
}

func TestGPUSolveDifficulties(t *testing.T) {
	s := openGPU(t)
	for d := 7; d <= 10; d++ {
		job, want := challengeJob(t, d)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		t0 := time.Now()
		got, err := s.Solve(ctx, job)
		took := time.Since(t0)
		cancel()
		if err != nil {
			t.Fatalf("difficulty %d: %v", d, err)
		}
		if got != want || !checkHash(job, []byte(got)) {
			t.Fatalf("difficulty %d: got %q, want %q", d, got, want)
		}
		t.Logf("difficulty %d: %q in %v", d, got, took.Round(time.Millisecond))
	}
}

func TestGPUNotFoundAndCancel(t *testing.T) {
	s := openGPU(t)
	job, _ := challengeJob(t, 7)
	job.Target[0] ^= 1
	if _, err := s.Solve(context.Background(), job); !errors.Is(err, pow.ErrNotFound) {
		t.Fatalf("exhausted keyspace: got %v, want pow.ErrNotFound", err)
	}

	// A storm of short deadlines, 1 to 40 ms, on difficulty-12 jobs (about
	// two minutes of work each on an H100).
	var worst time.Duration
	for i := range 40 {
		job, _ := challengeJob(t, 12)
		limit := time.Duration(1+i) * time.Millisecond
		ctx, cancel := context.WithTimeout(context.Background(), limit)
		t0 := time.Now()
		_, err := s.Solve(ctx, job)
		late := time.Since(t0) - limit
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("solve with a %v deadline: got %v, want context.DeadlineExceeded", limit, err)
		}
		worst = max(worst, late)
	}
	t.Logf("worst return after the deadline: %v", worst)
	if worst > 50*time.Millisecond {
		t.Errorf("Solve returned %v after its deadline, want a few milliseconds", worst)
	}
}

func TestGPUThroughput(t *testing.T) {
	s := openGPU(t)
	hs, err := s.Throughput(context.Background(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("throughput: %.3f GH/s", hs/1e9)
	if hs <= 0 {
		t.Fatal("no hashes counted")
	}
}
