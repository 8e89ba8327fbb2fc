package validator

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sn27/compute/internal/chain"
	"github.com/sn27/compute/internal/chain/devchain"
	"github.com/sn27/compute/internal/pow"
	"github.com/sn27/compute/internal/pow/cpu"
	"github.com/sn27/compute/internal/store"
	"github.com/sn27/compute/internal/testnet"
	"github.com/sn27/compute/internal/wallet"
	"github.com/sn27/compute/internal/wire"
)

const testNetuid = 1

// testLog is quiet unless COMPUTE_TEST_LOG is set.
func testLog() *slog.Logger {
	if os.Getenv("COMPUTE_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// testNet is a dev chain with a staked validator on netuid 1.
type testNet struct {
	t     *testing.T
	ctx   context.Context
	net   *testnet.Net
	chain *devchain.Chain
	val   *wallet.Keypair
	store *store.Validator
}

func mustKey(t testing.TB, uri string) *wallet.Keypair {
	t.Helper()
	return testnet.Key(t, uri)
}

// newTestNet starts a dev chain producing a block every blockTime (none
// when 0) with a short tempo, and registers and stakes the validator.
func newTestNet(t *testing.T, blockTime time.Duration, tempo uint16) *testNet {
	t.Helper()
	return newTestNetAt(t, blockTime, tempo, filepath.Join(t.TempDir(), "validator.db"))
}

// newTestNetAt is newTestNet with the validator store at storePath.
func newTestNetAt(t *testing.T, blockTime time.Duration, tempo uint16, storePath string) *testNet {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	bt := blockTime
	if bt <= 0 {
		bt = time.Second // Run is not started: any valid interval
	}
	p := testnet.Params()
	p.Tempo, p.WeightsRateLimit = tempo, 2
	p.ImmunityPeriod, p.ActivityCutoff = 1000, 1000
	p.BurnRao = devchain.RaoPerTAO / 100
	tn, err := testnet.Open(ctx, testnet.Config{Netuid: testNetuid, Chain: devchain.Config{Path: ":memory:", BlockTime: bt}, Params: &p})
	if err != nil {
		t.Fatal(err)
	}
	c := tn.Chain
	n := &testNet{t: t, ctx: ctx, net: tn, chain: c, val: mustKey(t, "//Validator//hot")}
	tn.MustJoin(t, mustKey(t, "//Validator"), n.val, 5000, 2000)
	st, err := store.OpenValidator(ctx, storePath, store.DefaultValidatorConfig())
	if err != nil {
		t.Fatal(err)
	}
	n.store = st
	var wg sync.WaitGroup
	if blockTime > 0 {
		wg.Add(1)
		go func() { defer wg.Done(); _ = c.Run(ctx) }()
	}
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		st.Close()
		c.Close()
	})
	return n
}

// addMiner registers a miner hotkey //name//hot and serves its axon on port.
func (n *testNet) addMiner(name string, port int) *wallet.Keypair {
	n.t.Helper()
	cold, hot := mustKey(n.t, "//"+name), mustKey(n.t, "//"+name+"//hot")
	n.net.MustJoin(n.t, cold, hot, 1, 0)
	if port > 0 {
		err := n.chain.ServeAxon(n.ctx, testNetuid, hot, chain.AxonInfo{Version: 142, IP: "127.0.0.1", Port: uint16(port), IPType: 4, Protocol: 4})
		if err != nil {
			n.t.Fatal(err)
		}
	}
	return hot
}

// config is a validator configuration for fast tests.
func (n *testNet) config() Config {
	cfg := DefaultConfig()
	cfg.Netuid = testNetuid
	cfg.Score.MinDifficulty, cfg.Score.MaxDifficulty = 3, 4
	cfg.Score.Timeout = 2 * time.Second
	cfg.ChallengeMinBlocks, cfg.ChallengeMaxBlocks = 2, 3
	cfg.SpecsEvery, cfg.StatusEvery, cfg.WeightsEvery, cfg.PruneEvery = 50, 5, 5, 50
	cfg.ChainTimeout = 5 * time.Second
	cfg.WeightsBackoff = 50 * time.Millisecond
	cfg.Filter.OnePerIP = false
	cfg.PerformHardwareQuery = false
	return cfg
}

// solveFunc answers a challenge: the password, or nil with an error text.
type solveFunc func(ctx context.Context, ch pow.Challenge) (*string, error)

// cpuSolve solves with the CPU solver after delay.
func cpuSolve(t testing.TB, delay time.Duration) solveFunc {
	s, err := cpu.New(cpu.Options{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	return func(ctx context.Context, ch pow.Challenge) (*string, error) {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(delay):
		}
		job, err := ch.Job()
		if err != nil {
			return nil, err
		}
		pw, err := s.Solve(ctx, job)
		if err != nil {
			return nil, err
		}
		return &pw, nil
	}
}

// wrongSolve answers at once with a password of the right length that is wrong.
func wrongSolve(_ context.Context, ch pow.Challenge) (*string, error) {
	pw := string(make([]byte, ch.Difficulty))
	return &pw, nil
}

// startAxon serves a wire axon for hot on a loopback port and returns the port.
func startAxon(t testing.TB, hot *wallet.Keypair, solve solveFunc) int {
	t.Helper()
	ax, err := wire.NewAxon(wire.AxonConfig{Hotkey: hot.SS58Address(), Logger: slog.New(slog.DiscardHandler), ShutdownGrace: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = wire.Attach(ax, wire.Handler[wire.Challenge]{Forward: func(ctx context.Context, syn *wire.Challenge) error {
		start := time.Now()
		pw, err := solve(ctx, syn.Challenge)
		syn.Output.LocalExecutionTime = time.Since(start).Seconds()
		if err != nil {
			msg := err.Error()
			syn.Output.Error = &msg
			return nil
		}
		syn.Output.Password = pw
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	return serveListener(t, func(ctx context.Context, ln net.Listener) { _ = ax.Serve(ctx, ln) })
}

func serveListener(t testing.TB, serve func(context.Context, net.Listener)) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	return ln.Addr().(*net.TCPAddr).Port
}

// startHostile serves h on a loopback port (any path) and returns the port.
func startHostile(t testing.TB, h http.HandlerFunc) int {
	t.Helper()
	// A handler that never reads the body would not see the client go
	// away; stop releases every handler when the test ends.
	stop := make(chan struct{})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, http.MaxBytesReader(w, r.Body, 1<<20))
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		go func() {
			select {
			case <-stop:
				cancel()
			case <-ctx.Done():
			}
		}()
		h(w, r.WithContext(ctx))
	}))
	srv.Start()
	t.Cleanup(func() {
		close(stop)
		srv.CloseClientConnections()
		srv.Close()
	})
	u, _ := url.Parse(srv.URL)
	port, _ := strconv.Atoi(u.Port())
	return port
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var errNever = errors.New("never")
