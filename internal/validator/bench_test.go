package validator

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sn27/compute/internal/chain"
	"github.com/sn27/compute/internal/store"
	"github.com/sn27/compute/internal/wire"
)

const benchAxonsEnv = "COMPUTE_BENCH_AXONS"

func benchMinerURI(i int) string { return fmt.Sprintf("//BenchMiner%d", i) }

// TestBenchAxonsHelper is not a test: run by BenchmarkChallengeRound in a
// child process, it serves N axons that answer every challenge correctly at
// once, so that the benchmark's CPU time is the validator's alone.
func TestBenchAxonsHelper(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv(benchAxonsEnv))
	if n == 0 {
		t.Skip("helper process for BenchmarkChallengeRound")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	solve := cpuSolve(t, 0)
	ports := make([]string, n)
	for i := range n {
		hot := mustKey(t, benchMinerURI(i))
		ax, err := wire.NewAxon(wire.AxonConfig{Hotkey: hot.SS58Address(), Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		err = wire.Attach(ax, wire.Handler[wire.Challenge]{Forward: func(ctx context.Context, syn *wire.Challenge) error {
			pw, err := solve(ctx, syn.Challenge)
			syn.Output.Password = pw
			return err
		}})
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
		go ax.Serve(ctx, ln)
	}
	fmt.Printf("PORTS %s\n", strings.Join(ports, ","))
	// Serve until the benchmark closes stdin.
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
}

// BenchmarkChallengeRound measures one challenge round against 256 miners on
// loopback (axons in a child process that answer correctly at once): the
// validator's wall time and CPU time per round, verification and the store
// transaction included.
func BenchmarkChallengeRound(b *testing.B) {
	const miners = 256
	cmd := exec.Command(os.Args[0], "-test.run=^TestBenchAxonsHelper$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d", benchAxonsEnv, miners))
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { stdin.Close(); cmd.Wait() }()
	var ports []string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "PORTS "); ok {
			ports = strings.Split(rest, ",")
			break
		}
	}
	if len(ports) != miners {
		b.Fatalf("helper gave %d ports", len(ports))
	}
	neurons := make([]chain.Neuron, miners)
	for i, p := range ports {
		port, _ := strconv.Atoi(p)
		neurons[i] = chain.Neuron{UID: uint16(i + 1), Hotkey: mustKey(b, benchMinerURI(i)).SS58Address(),
			Axon: chain.AxonInfo{IP: "127.0.0.1", Port: uint16(port), IPType: 4, Version: 142}}
	}
	cfg := DefaultConfig()
	cfg.Score.MinDifficulty, cfg.Score.MaxDifficulty = 1, 1
	val := mustKey(b, "//Validator//hot")
	d, err := wire.NewDendrite(wire.DendriteConfig{Signer: val, MaxConcurrency: cfg.ChallengeBatchSize, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	st, err := store.OpenValidator(context.Background(), filepath.Join(b.TempDir(), "v.db"), store.DefaultValidatorConfig())
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	round := func(i int) {
		outs := ChallengeRound(ctx, cfg, d, neurons, nil)
		for _, o := range outs {
			if o.Result != ResultSuccess {
				b.Fatalf("uid %d: %s %s", o.UID, o.Result, o.Detail)
			}
		}
		if _, err := storeRound(ctx, st, uint64(i), time.Now(), outs); err != nil {
			b.Fatal(err)
		}
	}
	round(0) // connections and keys warm
	b.ResetTimer()
	cpu0, t0 := cpuTime(), time.Now()
	for i := 0; i < b.N; i++ {
		round(i + 1)
	}
	wall, cpu := time.Since(t0), cpuTime()-cpu0
	b.ReportMetric(float64(wall.Milliseconds())/float64(b.N), "wall-ms/round")
	b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/round")
	b.ReportMetric(0, "ns/op")
}
