package canary

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sn27/compute/internal/chain"
	"github.com/sn27/compute/internal/renter"
	"github.com/sn27/compute/internal/store"
)

type fakeMeta struct{ neurons []chain.Neuron }

func (f *fakeMeta) Metagraph(_ context.Context, netuid uint16) (*chain.Metagraph, error) {
	return &chain.Metagraph{Netuid: netuid, Neurons: append([]chain.Neuron(nil), f.neurons...)}, nil
}

// fakeLeaser fails every trial at a configured stage and counts calls.
type fakeLeaser struct {
	mu     sync.Mutex
	stage  map[string]string // hotkey -> stage of the failure ("" = internal error)
	calls  map[string]int
	active int
	peak   int
	delay  time.Duration
}

func (f *fakeLeaser) AllocateTrial(ctx context.Context, req renter.Request) (*renter.Trial, error) {
	f.mu.Lock()
	f.calls[req.Hotkey]++
	f.active++
	f.peak = max(f.peak, f.active)
	stage := f.stage[req.Hotkey]
	f.mu.Unlock()
	time.Sleep(f.delay)
	f.mu.Lock()
	f.active--
	f.mu.Unlock()
	if err := req.Requirement.Validate(); err != nil {
		return nil, err
	}
	if stage == "" {
		return nil, errors.New("canary test: no such stage")
	}
	return nil, &renter.TrialError{Stage: stage, Err: errors.New("test failure")}
}

func (f *fakeLeaser) ReleaseTrial(context.Context, *renter.Trial) error { return nil }

func (f *fakeLeaser) count(hk string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[hk]
}

type harness struct {
	st     *store.Validator
	meta   *fakeMeta
	leaser *fakeLeaser
	now    time.Time
	mu     sync.Mutex
	alloc  map[string]bool
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	st, err := store.OpenValidator(context.Background(), filepath.Join(t.TempDir(), "v.db"), store.DefaultValidatorConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &harness{st: st, meta: &fakeMeta{}, leaser: &fakeLeaser{stage: map[string]string{}, calls: map[string]int{}},
		now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), alloc: map[string]bool{}}
}

func (h *harness) miner(t *testing.T, hotkey string, stage string, stake float64) {
	t.Helper()
	uid := uint16(len(h.meta.neurons))
	h.meta.neurons = append(h.meta.neurons, chain.Neuron{UID: uid, Hotkey: hotkey, Stake: stake,
		Axon: chain.AxonInfo{IP: "127.0.0.1", Port: 9000 + uid, IPType: 4}})
	s := claim(2, 1, 10)
	s.HasDocker = stage != "no docker"
	b, _ := json.Marshal(s)
	if err := h.st.SaveSpecs(context.Background(), hotkey, b, h.now); err != nil {
		t.Fatal(err)
	}
	h.leaser.stage[hotkey] = stage
}

func (h *harness) canary(t *testing.T, cfg Config) *Canary {
	t.Helper()
	cfg.DataDir = t.TempDir()
	c, err := New(cfg, Deps{Meta: h.meta, Store: h.st, Leaser: h.leaser, Self: "validator",
		Allocated: func(context.Context, time.Time) (map[string]bool, error) {
			h.mu.Lock()
			defer h.mu.Unlock()
			return h.alloc, nil
		},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now: func() time.Time { h.mu.Lock(); defer h.mu.Unlock(); return h.now }})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// passOnce runs one pass and waits for its leases.
func passOnce(c *Canary) {
	var wg sync.WaitGroup
	c.pass(context.Background(), &wg)
	wg.Wait()
}

func (h *harness) advance(d time.Duration) {
	h.mu.Lock()
	h.now = h.now.Add(d)
	h.mu.Unlock()
}

func TestOutcomesAndSchedule(t *testing.T) {
	h := newHarness(t)
	h.miner(t, "refuser", renter.StageCheck, 0)
	h.miner(t, "broken", renter.StageGrant, 0)
	h.miner(t, "busy", renter.StageGrant, 0)
	h.miner(t, "validator", renter.StageGrant, 0)
	h.miner(t, "staked", renter.StageGrant, 5000)
	h.miner(t, "ours", "", 0)
	h.miner(t, "nodocker", "no docker", 0)
	h.alloc["busy"] = true
	cfg := DefaultConfig()
	cfg.Concurrency = 8
	c := h.canary(t, cfg)
	ctx := context.Background()
	state := func(hk string) store.CanaryStatus {
		t.Helper()
		sts, err := h.st.CanaryStatuses(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return sts[hk]
	}

	passOnce(c)
	if s := state("refuser"); s.State != store.CanaryPending || s.Reason != ReasonAllocateRefused || s.Strikes != 1 {
		t.Fatalf("first refusal: %+v", s)
	}
	if s := state("broken"); s.State != store.CanaryFailed || s.Reason != ReasonContainerStart {
		t.Fatalf("container start: %+v", s)
	}
	for _, hk := range []string{"busy", "validator", "staked", "nodocker"} {
		if n := h.leaser.count(hk); n != 0 {
			t.Errorf("%s leased %d times; it must be left alone", hk, n)
		}
	}
	// The canary's own failure gives no verdict.
	if s, ok := map[string]store.CanaryStatus{"ours": state("ours")}["ours"]; ok && s.State != "" {
		t.Fatalf("own failure stored a verdict: %+v", s)
	}
	if un, _ := h.st.Unverified(ctx); len(un) != 1 || un["broken"] != ReasonContainerStart {
		t.Fatalf("unverified %v", un)
	}

	// Nothing is due again right away.
	passOnce(c)
	if h.leaser.count("refuser") != 1 || h.leaser.count("broken") != 1 || h.leaser.count("ours") != 1 {
		t.Fatalf("checked again too soon: %v", h.leaser.calls)
	}
	// After RetryAfter the refuser is retried; its second refusal fails it.
	h.advance(cfg.RetryAfter)
	passOnce(c)
	if s := state("refuser"); s.State != store.CanaryFailed || s.Strikes != 2 {
		t.Fatalf("second refusal: %+v", s)
	}
	if h.leaser.count("broken") != 1 || h.leaser.count("ours") != 2 {
		t.Fatalf("retries after RetryAfter: %v", h.leaser.calls)
	}
	// After the interval (and its jitter) every checked miner is due again.
	h.advance(cfg.Interval + time.Duration(float64(cfg.Interval)*cfg.Jitter))
	passOnce(c)
	if h.leaser.count("broken") != 2 || h.leaser.count("refuser") != 3 {
		t.Fatalf("after the interval: %v", h.leaser.calls)
	}
	// A freed miner is checked.
	h.mu.Lock()
	h.alloc = map[string]bool{}
	h.mu.Unlock()
	passOnce(c)
	if h.leaser.count("busy") != 1 {
		t.Fatal("the freed miner was not checked")
	}
	if got, _ := h.st.CanaryRuns(ctx, "", 0); len(got) != 6 {
		t.Fatalf("%d runs stored, want 6", len(got))
	}
}

func TestConcurrencyBound(t *testing.T) {
	h := newHarness(t)
	for _, hk := range []string{"a", "b", "c", "d", "e"} {
		h.miner(t, hk, renter.StageGrant, 0)
	}
	h.leaser.delay = 50 * time.Millisecond
	cfg := DefaultConfig()
	cfg.Concurrency = 2
	cfg.Tick = 10 * time.Millisecond
	c := h.canary(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if un, _ := h.st.Unverified(ctx); len(un) == 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("not every miner was checked")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if h.leaser.peak > 2 {
		t.Fatalf("%d leases at once, bound 2", h.leaser.peak)
	}
}

func TestJitter(t *testing.T) {
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	lo, hi := time.Duration(1<<62), time.Duration(0)
	for i := range 200 {
		d := jittered(time.Hour, 0.2, string(rune('a'+i%26))+string(rune('a'+i/26)), at)
		if d < 48*time.Minute || d > 72*time.Minute {
			t.Fatalf("jittered %v outside ±20%%", d)
		}
		lo, hi = min(lo, d), max(hi, d)
	}
	if hi-lo < 10*time.Minute {
		t.Fatalf("jitter spread %v..%v is too narrow", lo, hi)
	}
	if jittered(time.Hour, 0.2, "x", at) != jittered(time.Hour, 0.2, "x", at) {
		t.Fatal("jitter is not stable")
	}
}

func TestConfigValidate(t *testing.T) {
	ok := DefaultConfig()
	ok.DataDir = "/tmp/x"
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, f := range map[string]func(*Config){
		"interval":    func(c *Config) { c.Interval = 0 },
		"concurrency": func(c *Config) { c.Concurrency = 0 },
		"login":       func(c *Config) { c.LoginTimeout = c.Timeout },
		"margin":      func(c *Config) { c.Margin = 1 },
		"data dir":    func(c *Config) { c.DataDir = "" },
		"timeline":    func(c *Config) { c.Timeline = 0 },
	} {
		c := ok
		f(&c)
		if c.Validate() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
