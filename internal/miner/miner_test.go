package miner

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/sn27/compute/internal/chain"
	"github.com/sn27/compute/internal/chain/devchain"
	"github.com/sn27/compute/internal/pow"
	"github.com/sn27/compute/internal/specs"
	"github.com/sn27/compute/internal/testnet"
	"github.com/sn27/compute/internal/testutil"
	"github.com/sn27/compute/internal/version"
	"github.com/sn27/compute/internal/wallet"
	"github.com/sn27/compute/internal/wire"
)

const testNetuid = 1

func key(t testing.TB, uri string) *wallet.Keypair {
	t.Helper()
	return testnet.Key(t, uri)
}

// network is an in-process dev chain with netuid 1, a validator (2000 TAO) and a miner.
type network struct {
	t         testing.TB
	net       *testnet.Net
	chain     *devchain.Chain
	cold      *wallet.Keypair
	validator *wallet.Keypair
	miner     *wallet.Keypair
}

func newNetwork(t testing.TB) *network {
	t.Helper()
	p := testnet.Params()
	p.MaxAllowedUIDs = 64
	tn := testnet.New(t, testnet.Config{Netuid: testNetuid, Params: &p})
	n := &network{t: t, net: tn, chain: tn.Chain, cold: key(t, "//Bob"), validator: key(t, "//Bob//validator"), miner: key(t, "//Bob//miner")}
	if err := tn.Chain.Fund(context.Background(), n.cold.SS58Address(), 100_000*devchain.RaoPerTAO); err != nil {
		t.Fatal(err)
	}
	n.register(n.validator, 2000)
	n.register(n.miner, 0)
	return n
}

// register registers hk under the network's coldkey and stakes tao on it.
func (n *network) register(hk *wallet.Keypair, tao uint64) {
	n.t.Helper()
	n.registerWith(n.cold, hk, tao)
}

// registerWith registers hk under cold (funded with 10000 TAO when it is not the
// network's coldkey) and stakes tao on it.
func (n *network) registerWith(cold, hk *wallet.Keypair, tao uint64) {
	n.t.Helper()
	var fund uint64
	if cold != n.cold {
		fund = 10_000
	}
	n.net.MustJoin(n.t, cold, hk, fund, tao)
}

// testConfig is a miner on loopback with a CPU solver and allocation off.
func testConfig(t testing.TB, dataDir string) Config {
	t.Helper()
	return Config{
		Netuid:             testNetuid,
		AxonIP:             "127.0.0.1",
		Solver:             "cpu",
		DataDir:            dataDir,
		SpecsProbeBytes:    -1,
		SyncInterval:       200 * time.Millisecond,
		Policy:             PolicyConfig{UpdatedThreshold: 60, BlacklistExploiters: true},
		Allocation:         false,
		SpecsInterval:      time.Hour,
		AxonPort:           0,
		SSHBindIP:          "127.0.0.1",
		SolveTimeout:       20 * time.Second,
		QueueLength:        8,
		ExternalIP:         "",
		ExternalPort:       0,
		LeaseOwner:         "",
		AllocationRequired: false,
	}
}

// quietLog discards what a test miner logs.
func quietLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

// running is a miner started by startMiner.
type running struct {
	m      *Miner
	reg    prometheus.Gatherer // where the miner's metrics are registered
	cancel context.CancelFunc
	done   chan struct{} // closed when Run returned
	err    error         // Run's error, valid after done
}

// stop ends Run and returns its error.
func (r *running) stop(t testing.TB) {
	t.Helper()
	r.cancel()
	select {
	case <-r.done:
		if r.err != nil {
			t.Fatalf("Run: %v", r.err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

func startMiner(t testing.TB, n *network, cfg Config, deps Deps) *running {
	t.Helper()
	deps.Chain = n.chain
	deps.Hotkey = n.miner
	if deps.GPUs == nil {
		deps.GPUs = testnet.NoGPUs
	}
	if deps.Log == nil {
		deps.Log = quietLog()
	}
	if deps.Listener == nil {
		deps.Listener = testutil.Listen(t)
	}
	reg := prometheus.NewRegistry()
	if deps.Registry == nil {
		deps.Registry = reg
	}
	m, err := New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{m: m, reg: reg, cancel: cancel, done: make(chan struct{})}
	go func() { r.err = m.Run(ctx); close(r.done) }()
	select {
	case <-m.Ready():
	case <-r.done:
		cancel()
		t.Fatalf("Run: %v", r.err)
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatal("miner not ready")
	}
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(30 * time.Second):
		}
	})
	return r
}

func (r *running) target() wire.Target {
	a := r.m.AxonAddr().(*net.TCPAddr)
	return wire.Target{UID: int(r.m.UID()), Hotkey: r.m.deps.Hotkey.SS58Address(), IP: "127.0.0.1", Port: a.Port}
}

func dendrite(t testing.TB, kp *wallet.Keypair) *wire.Dendrite {
	t.Helper()
	d, err := wire.NewDendrite(wire.DendriteConfig{Signer: kp, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestMinerServesSynapses(t *testing.T) {
	n := newNetwork(t)
	r := startMiner(t, n, testConfig(t, t.TempDir()), Deps{})
	ctx := context.Background()
	d := dendrite(t, n.validator)

	// The axon is announced on chain with this version.
	nr, err := n.chain.NeuronByHotkey(ctx, testNetuid, n.miner.SS58Address())
	if err != nil {
		t.Fatal(err)
	}
	if nr.Axon.Port != uint16(r.target().Port) || nr.Axon.Version != uint32(version.Int) || nr.Axon.IP != "127.0.0.1" {
		t.Fatalf("announced axon %+v, want 127.0.0.1:%d version %d", nr.Axon, r.target().Port, version.Int)
	}

	t.Run("specs", func(t *testing.T) {
		res := wire.Call(ctx, d, r.target(), &wire.Specs{SpecsInput: "rm -rf / # never executed"}, 10*time.Second)
		if !res.OK() {
			t.Fatalf("specs: %d %s %v", res.StatusCode, res.StatusMessage, res.Err)
		}
		s, err := specs.Parse([]byte(res.Synapse.SpecsOutput))
		if err != nil {
			t.Fatalf("specs_output %q: %v", res.Synapse.SpecsOutput, err)
		}
		if s.CPU.Count < 1 || s.RAM.Total <= 0 {
			t.Fatalf("implausible specs %+v", s)
		}
	})

	t.Run("challenge", func(t *testing.T) {
		ch, password, err := pow.New(5)
		if err != nil {
			t.Fatal(err)
		}
		res := wire.Call(ctx, d, r.target(), wire.NewChallenge(ch), 20*time.Second)
		if !res.OK() {
			t.Fatalf("challenge: %d %s %v", res.StatusCode, res.StatusMessage, res.Err)
		}
		out := res.Synapse.Output
		if out.Error != nil || out.Password == nil || *out.Password != password || !pow.Verify(ch, *out.Password) {
			t.Fatalf("output %+v, want password %q", out, password)
		}
		if out.LocalExecutionTime <= 0 {
			t.Fatalf("local_execution_time %v", out.LocalExecutionTime)
		}
	})

	t.Run("challenge invalid", func(t *testing.T) {
		for _, ch := range []pow.Challenge{
			{},
			{Hash: "$BLAKE2$zz", Salt: "00", Mode: "610", Chars: "abc", Mask: "?1?1", Difficulty: 2},
			{Hash: strings.Repeat("\x00'\"<script>", 500), Salt: strings.Repeat("g", 1000), Mode: "610; rm -rf /", Chars: "?1?2?3", Mask: strings.Repeat("?1", 1000), Difficulty: -3},
		} {
			res := wire.Call(ctx, d, r.target(), wire.NewChallenge(ch), 10*time.Second)
			if !res.OK() {
				t.Fatalf("invalid challenge must still answer 200: %d %s %v", res.StatusCode, res.StatusMessage, res.Err)
			}
			if res.Synapse.Output.Password != nil || res.Synapse.Output.Error == nil || *res.Synapse.Output.Error == "" {
				t.Fatalf("output %+v, want an error", res.Synapse.Output)
			}
		}
		// The wire shape is exactly the original's.
		ch, _, _ := pow.New(3)
		res := wire.Call(ctx, d, r.target(), wire.NewChallenge(ch), 10*time.Second)
		b, _ := json.Marshal(res.Synapse.Output)
		var got map[string]any
		json.Unmarshal(b, &got)
		if len(got) != 3 || got["error"] != nil {
			t.Fatalf("output keys %v", got)
		}
		for _, k := range []string{"password", "local_execution_time", "error"} {
			if _, ok := got[k]; !ok {
				t.Fatalf("output lacks %q: %s", k, b)
			}
		}
	})

	t.Run("challenge bounded by the request timeout", func(t *testing.T) {
		ch, _, err := pow.New(12) // 10^12 candidates: far beyond a second
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		res := wire.Call(ctx, d, r.target(), wire.NewChallenge(ch), 1500*time.Millisecond)
		if took := time.Since(start); took > 5*time.Second {
			t.Fatalf("call took %v", took)
		}
		if res.OK() && res.Synapse.Output.Password != nil {
			t.Fatalf("unexpected password %v", *res.Synapse.Output.Password)
		}
		// The solver is free again: a small challenge is answered at once.
		ch2, pw, _ := pow.New(3)
		deadline := time.Now().Add(10 * time.Second)
		for {
			res := wire.Call(ctx, d, r.target(), wire.NewChallenge(ch2), 5*time.Second)
			if res.OK() && res.Synapse.Output.Password != nil && *res.Synapse.Output.Password == pw {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("solver still busy: %+v %d", res.Synapse.Output, res.StatusCode)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})

	t.Run("allocate disabled", func(t *testing.T) {
		_, pub := testutil.RSAKey(t)
		a := &wire.Allocate{Timeline: 1, Checking: true, PublicKey: pub}
		res := wire.Call(ctx, d, r.target(), a, 10*time.Second)
		if !res.OK() || res.Synapse.Output.Status {
			t.Fatalf("allocate on a miner without Docker: %d %+v", res.StatusCode, res.Synapse.Output)
		}
	})

	t.Run("metrics", func(t *testing.T) {
		body := scrape(t, r)
		for _, want := range []string{
			`compute_miner_requests_total{outcome="success",synapse="Challenge"}`,
			`compute_miner_requests_total{outcome="success",synapse="Specs"}`,
			`compute_pow_solve_duration_seconds_count{result="ok",solver="cpu"}`,
			`compute_pow_solve_duration_seconds_count{result="invalid",solver="cpu"}`,
			"compute_miner_leases_active 0",
			"compute_miner_gpus 0",
			"compute_miner_allocation_enabled 0",
			"compute_pow_queue_length 0",
		} {
			if !strings.Contains(body, want) {
				t.Errorf("metrics lack %s", want)
			}
		}
		problems, err := promlint.New(strings.NewReader(body)).Lint()
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range problems {
			t.Errorf("promlint: %s: %s", p.Metric, p.Text)
		}
	})
}

// scrape reads the miner's metrics as the caller serving its registry
// (`compute miner` on --metrics.addr) exposes them.
func scrape(t testing.TB, r *running) string {
	t.Helper()
	srv := httptest.NewServer(promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("scrape: %d %v", resp.StatusCode, err)
	}
	return string(b)
}

func TestMinerBlacklist(t *testing.T) {
	n := newNetwork(t)
	poor, badHot, badCold, whiteUnreg, stranger := key(t, "//Bob//poor"), key(t, "//Bob//badhot"), key(t, "//Carol//badcold"), key(t, "//Dave//white"), key(t, "//Eve")
	n.register(poor, 10)
	n.register(badHot, 3000)
	n.registerWith(key(t, "//Carol"), badCold, 3000)
	cfg := testConfig(t, t.TempDir())
	cfg.Policy.BlacklistHotkeys = []string{badHot.SS58Address(), whiteUnreg.SS58Address()}
	cfg.Policy.BlacklistColdkeys = []string{key(t, "//Carol").SS58Address()}
	cfg.Policy.WhitelistHotkeys = []string{whiteUnreg.SS58Address()}
	r := startMiner(t, n, cfg, Deps{})
	ctx := context.Background()
	tests := []struct {
		name   string
		caller *wallet.Keypair
		code   int
		reason string
	}{
		{"validator", n.validator, 200, ""},
		{"unregistered caller", stranger, 403, ReasonUnrecognized},
		{"low stake", poor, 403, ReasonNotEnoughStake},
		{"blacklisted hotkey", badHot, 403, ReasonBlacklistHotkey},
		{"blacklisted coldkey", badCold, 403, ReasonBlacklistColdkey},
		{"whitelist wins", whiteUnreg, 200, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := wire.Call(ctx, dendrite(t, tc.caller), r.target(), &wire.Specs{}, 10*time.Second)
			if res.StatusCode != tc.code || !strings.Contains(res.StatusMessage, tc.reason) {
				t.Fatalf("status %d %q, want %d with %q", res.StatusCode, res.StatusMessage, tc.code, tc.reason)
			}
		})
	}
	body := scrape(t, r)
	if !strings.Contains(body, `compute_miner_requests_total{outcome="blacklisted",synapse="Specs"} 4`) {
		t.Errorf("blacklisted requests not counted:\n%s", grepLines(body, "requests_total"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestMinerStartChecks(t *testing.T) {
	n := newNetwork(t)
	t.Run("not registered", func(t *testing.T) {
		cfg := testConfig(t, t.TempDir())
		m, err := New(cfg, Deps{Chain: n.chain, Hotkey: key(t, "//Nobody"), Listener: testutil.Listen(t), GPUs: testnet.NoGPUs, Log: quietLog()})
		if err != nil {
			t.Fatal(err)
		}
		err = m.Run(context.Background())
		var nr *NotRegisteredError
		if !errors.Is(err, ErrNotRegistered) || !errors.As(err, &nr) || nr.Netuid != 1 || !strings.Contains(err.Error(), "netuid 1") {
			t.Fatalf("Run: %v", err)
		}
	})
	t.Run("bad config", func(t *testing.T) {
		for _, mut := range []func(*Config){
			func(c *Config) { c.Solver = "gpu-magic" },
			func(c *Config) { c.AxonPort = 70000 },
			func(c *Config) { c.ExternalIP = "not-an-ip" },
			func(c *Config) { c.DataDir = "" },
			func(c *Config) { c.Policy.UpdatedThreshold = 101 },
		} {
			cfg := testConfig(t, t.TempDir())
			mut(&cfg)
			if _, err := New(cfg, Deps{Chain: n.chain, Hotkey: n.miner, Listener: testutil.Listen(t)}); err == nil {
				t.Errorf("config %+v accepted", cfg)
			}
			if err := cfg.Validate(); err == nil {
				t.Errorf("Validate accepted %+v", cfg)
			}
		}
	})
	t.Run("no listener", func(t *testing.T) {
		if _, err := New(testConfig(t, t.TempDir()), Deps{Chain: n.chain, Hotkey: n.miner}); err == nil || !strings.Contains(err.Error(), "listener") {
			t.Fatalf("New without an axon listener: %v", err)
		}
	})
	t.Run("closes its listener", func(t *testing.T) {
		r := startMiner(t, n, testConfig(t, t.TempDir()), Deps{})
		addr := r.m.AxonAddr().String()
		r.stop(t)
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			t.Fatalf("the axon still accepts on %s after Run returned", addr)
		}
	})
	t.Run("data dir is private", func(t *testing.T) {
		dir := t.TempDir() + "/a/b"
		r := startMiner(t, n, testConfig(t, dir), Deps{})
		st, err := os.Stat(dir)
		if err != nil || st.Mode().Perm() != 0o700 {
			t.Fatalf("data dir %v %v", st.Mode(), err)
		}
		r.stop(t)
	})
	t.Run("re-announces a changed axon", func(t *testing.T) {
		r := startMiner(t, n, testConfig(t, t.TempDir()), Deps{})
		ctx := context.Background()
		// Someone (an older run) announced another port and version.
		if err := n.chain.ServeAxon(ctx, testNetuid, n.miner, chain.AxonInfo{IP: "10.0.0.1", Port: 1, Version: 1, IPType: 4, Protocol: 4}); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			nr, err := n.chain.NeuronByHotkey(ctx, testNetuid, n.miner.SS58Address())
			if err != nil {
				t.Fatal(err)
			}
			if nr.Axon.Port == uint16(r.target().Port) && nr.Axon.Version == uint32(version.Int) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("axon not re-announced: %+v", nr.Axon)
			}
			time.Sleep(50 * time.Millisecond)
		}
		r.stop(t)
	})
}

func TestMinerDockerUnavailable(t *testing.T) {
	n := newNetwork(t)
	dead, err := client.New(client.WithHost("unix://" + t.TempDir() + "/no-docker.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Close()
	t.Run("allocation disabled, said plainly", func(t *testing.T) {
		var logs bytes.Buffer
		cfg := testConfig(t, t.TempDir())
		cfg.Allocation = true
		r := startMiner(t, n, cfg, Deps{Docker: dead, Log: slog.New(slog.NewTextHandler(&syncWriter{w: &logs}, nil))})
		if r.m.AllocationEnabled() {
			t.Fatal("allocation enabled without Docker")
		}
		r.stop(t)
		if !strings.Contains(logs.String(), "ALLOCATION DISABLED") {
			t.Fatalf("no plain warning in the logs:\n%s", logs.String())
		}
	})
	t.Run("fatal when required", func(t *testing.T) {
		cfg := testConfig(t, t.TempDir())
		cfg.Allocation, cfg.AllocationRequired = true, true
		m, err := New(cfg, Deps{Chain: n.chain, Hotkey: n.miner, Listener: testutil.Listen(t), GPUs: testnet.NoGPUs, Docker: dead, Log: quietLog()})
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "allocation required") {
			t.Fatalf("Run: %v", err)
		}
	})
}

// syncWriter serialises writes to a buffer shared with the logger.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// TestMinerHashcatSolver: with --miner.solver hashcat the version is checked and logged at
// start and challenges are answered by hashcat.
func TestMinerHashcatSolver(t *testing.T) {
	testutil.Tools(t, "hashcat")
	n := newNetwork(t)
	var logs bytes.Buffer
	cfg := testConfig(t, t.TempDir())
	cfg.Solver = "hashcat"
	// hashcat's first run builds its OpenCL kernel through PoCL, which takes
	// minutes on a small, busy machine; this checks function, not speed.
	cfg.SolveTimeout = 5 * time.Minute
	cfg.Hashcat.TempDir = t.TempDir()
	r := startMiner(t, n, cfg, Deps{Log: slog.New(slog.NewTextHandler(&syncWriter{w: &logs}, nil))})
	if !strings.Contains(grepLines(logs.String(), "msg=hashcat "), " version=") {
		t.Fatalf("hashcat version not logged:\n%s", logs.String())
	}
	ch, password, err := pow.New(3)
	if err != nil {
		t.Fatal(err)
	}
	res := wire.Call(context.Background(), dendrite(t, n.validator), r.target(), wire.NewChallenge(ch), 5*time.Minute)
	if !res.OK() || res.Synapse.Output.Password == nil || *res.Synapse.Output.Password != password {
		t.Fatalf("hashcat answer: %d %+v", res.StatusCode, res.Synapse.Output)
	}
	r.stop(t)
}
