package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sn27/compute/internal/chain/devchain"
	"github.com/sn27/compute/internal/miner"
	"github.com/sn27/compute/internal/renter"
	"github.com/sn27/compute/internal/specs"
	"github.com/sn27/compute/internal/store"
	"github.com/sn27/compute/internal/testnet"
	"github.com/sn27/compute/internal/validator"
	"github.com/sn27/compute/internal/wallet"
)

const testNetuid = 1

// testLog is quiet unless COMPUTE_TEST_LOG is set.
func testLog() *slog.Logger {
	if os.Getenv("COMPUTE_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// network is a dev chain on which a real validator challenged two real
// miners and stored their specs and its weights; then the validator and
// the miners stopped, and the chain and the store stay for the API to read.
type network struct {
	dir       string
	net       *testnet.Net
	store     *store.Validator
	validator *wallet.Keypair
	big       string // 8 CPUs, 32 GiB, two H200; its specs verified by a canary verdict
	small     string // 2 CPUs, 4 GiB, no GPU; allocated
	renter    *renter.Renter
	rounds    int
}

// The network is built once, by the first test that needs it, and closed
// by TestMain.
var (
	netOnce sync.Once
	netErr  error
	theNet  *network
)

func TestMain(m *testing.M) {
	code := m.Run()
	if theNet != nil {
		theNet.close()
	}
	os.Exit(code)
}

// testNetwork returns the shared network, failing t when it could not be built.
func testNetwork(t testing.TB) *network {
	t.Helper()
	netOnce.Do(func() { theNet, netErr = buildNetwork() })
	if netErr != nil {
		t.Fatalf("test network: %v", netErr)
	}
	return theNet
}

func (n *network) close() {
	if n.store != nil {
		n.store.Close()
	}
	if n.net != nil {
		n.net.Close()
	}
	os.RemoveAll(n.dir)
}

// machine is a specs report of a made-up machine.
func machine(cpus int, ramGiB int64, gpus ...specs.GPUDetail) specs.Specs {
	s := specs.Specs{
		CPU:      specs.CPU{Count: cpus, Logical: cpus},
		HardDisk: specs.Disk{Total: 200 << 30, Free: 100 << 30},
		RAM:      specs.RAM{Total: 2 * ramGiB << 30, Available: ramGiB << 30, Free: ramGiB << 30},
		GPU:      specs.GPU{Details: []specs.GPUDetail{}},
	}
	for _, g := range gpus {
		s.GPU.Details = append(s.GPU.Details, g)
		s.GPU.Count++
		s.GPU.Capacity += g.Capacity
	}
	return s
}

func buildNetwork() (_ *network, err error) {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "compute-api-test-")
	if err != nil {
		return nil, err
	}
	n := &network{dir: dir}
	defer func() {
		if err != nil {
			n.close()
		}
	}()
	p := testnet.Params()
	p.Tempo, p.WeightsRateLimit = 10, 2
	p.CommitRevealEnabled = false
	p.ImmunityPeriod, p.ActivityCutoff = 1000, 1000
	p.BurnRao = devchain.RaoPerTAO / 100
	if n.net, err = testnet.Open(ctx, testnet.Config{Netuid: testNetuid, Chain: devchain.Config{BlockTime: 100 * time.Millisecond}, Params: &p}); err != nil {
		return nil, err
	}
	key := func(uri string) *wallet.Keypair {
		k, kerr := wallet.FromURI(uri)
		if kerr != nil {
			panic(kerr)
		}
		return k
	}
	n.validator = key("//Validator//hot")
	if err := n.net.Join(ctx, key("//Validator"), n.validator, 5000, 2000); err != nil {
		return nil, err
	}
	if n.store, err = store.OpenValidator(ctx, filepath.Join(dir, store.ValidatorFile), store.DefaultValidatorConfig()); err != nil {
		return nil, err
	}

	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { stop(); wg.Wait() }()
	wg.Add(1)
	go func() { defer wg.Done(); _ = n.net.Chain.Run(runCtx) }()

	h200 := specs.GPUDetail{Name: "NVIDIA H200", Capacity: 143771}
	for _, m := range []struct {
		name string
		rep  specs.Specs
		to   *string
	}{{"Big", machine(8, 32, h200, h200), &n.big}, {"Small", machine(2, 4), &n.small}} {
		cold, hot := key("//"+m.name), key("//"+m.name+"//hot")
		if err := n.net.Join(ctx, cold, hot, 10, 0); err != nil {
			return nil, err
		}
		*m.to = hot.SS58Address()
		if err := startMiner(runCtx, &wg, n, hot, m.rep); err != nil {
			return nil, fmt.Errorf("miner %s: %w", m.name, err)
		}
	}

	vcfg := validator.DefaultConfig()
	vcfg.Netuid = testNetuid
	vcfg.Score.MinDifficulty, vcfg.Score.MaxDifficulty, vcfg.Score.Timeout = 3, 4, 5*time.Second
	vcfg.ChallengeMinBlocks, vcfg.ChallengeMaxBlocks = 2, 3
	vcfg.SpecsEvery, vcfg.StatusEvery, vcfg.WeightsEvery, vcfg.PruneEvery = 5, 5, 5, 1000
	vcfg.ChainTimeout = 10 * time.Second
	vcfg.WeightsBackoff = 50 * time.Millisecond
	vcfg.Filter.OnePerIP = false
	vcfg.PerformHardwareQuery = true
	v, err := validator.New(vcfg, validator.Deps{Chain: n.net.Chain, Hotkey: n.validator, Store: n.store,
		Registry: prometheus.NewRegistry(), Log: testLog()})
	if err != nil {
		return nil, err
	}
	vctx, stopValidator := context.WithCancel(runCtx)
	done := make(chan error, 1)
	go func() { done <- v.Run(vctx) }()
	ready := func() bool {
		st := v.State()
		sp, err := n.store.Specs(ctx)
		if err != nil || st.Rounds < 3 || st.WeightsSets < 1 {
			return false
		}
		_, big := sp[n.big]
		_, small := sp[n.small]
		return big && small
	}
	deadline := time.Now().Add(90 * time.Second)
	for !ready() {
		if time.Now().After(deadline) {
			stopValidator()
			<-done
			return nil, fmt.Errorf("the validator did not reach 3 rounds, weights and both miners' specs in 90 s: %+v", v.State())
		}
		time.Sleep(100 * time.Millisecond)
	}
	stopValidator()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		return nil, fmt.Errorf("validator: %w", err)
	}
	n.rounds = v.State().Rounds

	// A canary verdict on Big's specs and a lease on Small, as the
	// canary and `compute allocate` record them.
	now := time.Now()
	if err := n.store.RecordCanary(ctx,
		store.CanaryRun{Hotkey: n.big, UID: 1, Reason: "ok", Started: now.Add(-time.Minute), Finished: now},
		store.CanaryStatus{Hotkey: n.big, State: store.CanaryVerified, Reason: "ok", CheckedAt: now, VerifiedAt: now}); err != nil {
		return nil, err
	}
	details := `{"hotkey":"` + n.small + `","uid":2,"ip":"127.0.0.1","port":4444,"username":"root","key_only":true,` +
		`"resource":{"cpu":{"count":1},"gpu":{},"hard_disk":{"capacity":0},"ram":{"capacity":1073741824}},"timeline":1}`
	if err := n.store.SaveAllocation(ctx, store.Allocation{Hotkey: n.small, Details: []byte(details), CreatedAt: now,
		ExpiresAt: now.Add(24 * time.Hour)}); err != nil {
		return nil, err
	}
	n.renter, err = renter.New(renter.Config{Netuid: testNetuid, DataDir: dir, KeyBits: 2048},
		renter.Deps{Meta: n.net.Chain, Store: n.store, Signer: n.validator, Log: testLog()})
	if err != nil {
		return nil, err
	}
	return n, nil
}

// startMiner runs a real miner reporting rep until ctx ends.
func startMiner(ctx context.Context, wg *sync.WaitGroup, n *network, hot *wallet.Keypair, rep specs.Specs) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	dataDir, err := os.MkdirTemp(n.dir, "miner-")
	if err != nil {
		ln.Close()
		return err
	}
	cfg := miner.Config{
		Netuid: testNetuid, AxonIP: "127.0.0.1", Solver: "cpu", DataDir: dataDir, SpecsProbeBytes: -1,
		SyncInterval: time.Second, SpecsInterval: time.Hour, Policy: miner.PolicyConfig{UpdatedThreshold: 60},
	}
	m, err := miner.New(cfg, miner.Deps{Chain: n.net.Chain, Hotkey: hot, Listener: ln, GPUs: testnet.NoGPUs,
		Specs: testnet.FixedSpecs{Specs: rep}, Log: testLog()})
	if err != nil {
		ln.Close()
		return err
	}
	done := make(chan error, 1)
	wg.Add(1)
	go func() { defer wg.Done(); done <- m.Run(ctx) }()
	select {
	case <-m.Ready():
		return nil
	case err := <-done:
		return err
	case <-time.After(60 * time.Second):
		return errors.New("not ready in 60 s")
	}
}
