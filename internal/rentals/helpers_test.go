package rentals

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/sn27/compute/internal/chain/devchain"
	"github.com/sn27/compute/internal/container"
	"github.com/sn27/compute/internal/miner"
	"github.com/sn27/compute/internal/renter"
	"github.com/sn27/compute/internal/specs"
	"github.com/sn27/compute/internal/store"
	"github.com/sn27/compute/internal/testnet"
	"github.com/sn27/compute/internal/testutil"
	"github.com/sn27/compute/internal/wallet"
	"github.com/sn27/compute/internal/wire"
)

const testNetuid = 1

// testLog shows the logs with RENTALS_TEST_LOG=1.
func testLog() *slog.Logger {
	if os.Getenv("RENTALS_TEST_LOG") == "1" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// env is a dev chain with a validator (its store and real renter) and,
// when Docker is given, miners leasing real containers on loopback.
type env struct {
	t         testing.TB
	net       *testnet.Net
	cold      *wallet.Keypair
	validator *wallet.Keypair
	dir       string
	store     *store.Validator
	docker    *client.Client
	renter    *counting
	events    *events
}

func newEnv(t testing.TB, docker *client.Client) *env {
	t.Helper()
	ctx := context.Background()
	p := testnet.Params()
	p.MaxAllowedUIDs = 16
	tn := testnet.New(t, testnet.Config{Netuid: testNetuid, Params: &p})
	e := &env{t: t, net: tn, cold: testnet.Key(t, "//Bob"), validator: testnet.Key(t, "//Bob//validator"), dir: t.TempDir(),
		docker: docker, events: &events{}}
	if err := tn.Chain.Fund(ctx, e.cold.SS58Address(), 100_000*devchain.RaoPerTAO); err != nil {
		t.Fatal(err)
	}
	tn.MustJoin(t, e.cold, e.validator, 0, 2000)
	var err error
	e.store, err = store.OpenValidator(ctx, filepath.Join(e.dir, store.ValidatorFile), store.DefaultValidatorConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.store.Close() })
	r, err := renter.New(renter.Config{Netuid: testNetuid, DataDir: e.dir, KeyBits: 2048, CheckTimeout: 10 * time.Second,
		AllocateTimeout: 60 * time.Second}, renter.Deps{Meta: tn.Chain, Store: e.store, Signer: e.validator, Log: testLog()})
	if err != nil {
		t.Fatal(err)
	}
	e.renter = &counting{Renter: r}
	return e
}

// service makes a Service over the env's store and counting renter.
func (e *env) service(cfg Config) *Service {
	e.t.Helper()
	if cfg.DataDir == "" {
		cfg.DataDir = e.dir
	}
	s, err := New(cfg, Deps{Store: e.store, Renter: e.renter, Notifier: e.events, Log: testLog()})
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// testMiner is a running internal/miner leasing containers on the real daemon.
type testMiner struct {
	hotkey *wallet.Keypair
	owner  string // its containers' owner label
}

// startMiner registers hk and runs a miner reporting a small machine.
func (e *env) startMiner(uri string) *testMiner {
	t := e.t
	t.Helper()
	hk := testnet.Key(t, uri)
	e.net.MustJoin(t, e.cold, hk, 0, 0)
	b := make([]byte, 4)
	rand.Read(b)
	m := &testMiner{hotkey: hk, owner: "test-rentals-" + hex.EncodeToString(b)}
	cfg := miner.Config{
		Netuid:             testNetuid,
		AxonIP:             "127.0.0.1",
		Solver:             "cpu",
		DataDir:            t.TempDir(),
		SpecsProbeBytes:    -1,
		SyncInterval:       200 * time.Millisecond,
		SpecsInterval:      time.Hour,
		Policy:             miner.PolicyConfig{UpdatedThreshold: 60, BlacklistExploiters: true},
		SSHBindIP:          "127.0.0.1",
		SSHPort:            testutil.FreePort(t),
		LeaseOwner:         m.owner,
		Image:              testutil.SSHImage(),
		Allocation:         true,
		AllocationRequired: true,
	}
	testutil.RemoveAtCleanup(t, e.docker, container.LabelOwner, m.owner)
	claim := specs.Specs{
		CPU:      specs.CPU{Count: 2, Logical: 2},
		RAM:      specs.RAM{Total: 8 << 30, Available: 4 << 30, Free: 4 << 30},
		HardDisk: specs.Disk{Total: 8 << 30, Free: 4 << 30},
		GPU:      specs.GPU{Details: []specs.GPUDetail{}},
	}
	mn, err := miner.New(cfg, miner.Deps{Chain: e.net.Chain, Hotkey: hk, Listener: testutil.Listen(t), GPUs: testnet.NoGPUs,
		Specs: testnet.FixedSpecs{Specs: claim}, Docker: e.docker, Log: testLog()})
	if err != nil {
		t.Fatal(err)
	}
	testutil.RunRole(t, context.Background(), "miner", mn.Run, mn.Ready())
	e.collectSpecs(m)
	return m
}

// collectSpecs does what the validator's specs round does: query the
// miner's Specs and store them.
func (e *env) collectSpecs(m *testMiner) {
	t := e.t
	t.Helper()
	ctx := context.Background()
	d, err := wire.NewDendrite(wire.DendriteConfig{Signer: e.validator, Logger: testLog()})
	if err != nil {
		t.Fatal(err)
	}
	mg, err := e.net.Chain.Metagraph(ctx, testNetuid)
	if err != nil {
		t.Fatal(err)
	}
	nr := mg.ByHotkey(m.hotkey.SS58Address())
	if nr == nil {
		t.Fatalf("miner %s is not on chain", m.hotkey.SS58Address())
	}
	res := wire.Call(ctx, d, wire.NeuronTarget(*nr), &wire.Specs{}, 10*time.Second)
	if !res.OK() {
		t.Fatalf("specs of %s: %d %s %v", nr.Hotkey, res.StatusCode, res.StatusMessage, res.Err)
	}
	raw := json.RawMessage(res.Synapse.SpecsOutput)
	if !json.Valid(raw) {
		raw, _ = json.Marshal(res.Synapse.SpecsOutput)
	}
	if err := e.store.SaveSpecs(ctx, nr.Hotkey, raw, time.Now()); err != nil {
		t.Fatal(err)
	}
}

// containers lists the ids of a miner's lease containers.
func (e *env) containers(m *testMiner) []string {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	list, err := e.docker.ContainerList(ctx, client.ContainerListOptions{All: true,
		Filters: make(client.Filters).Add("label", container.LabelOwner+"="+m.owner)})
	if err != nil {
		e.t.Fatal(err)
	}
	var ids []string
	for _, it := range list.Items {
		ids = append(ids, it.ID)
	}
	return ids
}

// counting is the real renter, counting its allocations; with gate set,
// Allocate waits for it to close before allocating.
type counting struct {
	Renter
	allocs atomic.Int32
	gate   atomic.Pointer[chan struct{}]
}

func (c *counting) Allocate(ctx context.Context, req renter.Request) (*renter.Allocation, error) {
	c.allocs.Add(1)
	if g := c.gate.Load(); g != nil {
		select {
		case <-*g:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return c.Renter.Allocate(ctx, req)
}

// events records the notified events.
type events struct {
	mu   sync.Mutex
	list []Event
	own  []string
}

func (e *events) Notify(_ context.Context, owner string, ev Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.list = append(e.list, ev)
	e.own = append(e.own, owner)
}

// of returns the types of the events of rental id, in order.
func (e *events) of(id string) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, ev := range e.list {
		if ev.Rental.ID == id {
			out = append(out, ev.Type)
		}
	}
	return out
}

// waitFor polls cond until it holds, failing after a generous deadline.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// smallReq is a requirement the test miners meet with little memory.
func smallReq() *container.Requirement {
	return &container.Requirement{CPU: container.CPURequirement{Count: 1}, RAM: container.SizeRequirement{Capacity: 256 << 20}}
}
