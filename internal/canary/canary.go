package canary

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sn27/compute/internal/chain"
	"github.com/sn27/compute/internal/config"
	"github.com/sn27/compute/internal/container"
	"github.com/sn27/compute/internal/renter"
	"github.com/sn27/compute/internal/specs"
	"github.com/sn27/compute/internal/store"
)

// Config configures the canary. Start from DefaultConfig.
type Config struct {
	// Netuid is the subnet whose miners are checked.
	Netuid uint16
	// Interval is how often each miner is checked (6 h), spread by Jitter.
	Interval time.Duration
	// Jitter spreads each miner's next check by up to this fraction of
	// Interval either way (0.2), so that checks do not bunch up.
	Jitter float64
	// RetryAfter is how soon a miner is checked again after a first refusal,
	// after its specs changed, or after the canary itself failed (30 min).
	RetryAfter time.Duration
	// Concurrency bounds the canary leases open at once (2).
	Concurrency int
	// Timeout bounds one whole canary lease: allocation, login, measuring
	// (5 min); the release has its own ReleaseTimeout (1 min).
	Timeout        time.Duration
	ReleaseTimeout time.Duration
	// LoginTimeout is how long logins are tried once the lease is granted (90 s).
	LoginTimeout time.Duration
	// Tick is how often due miners are looked for (1 min).
	Tick time.Duration
	// Margin is the fraction of the claimed available RAM and free disk the
	// canary does not ask for (0.1): free memory and disk move between a
	// specs report and the lease.
	Margin float64
	// MaxDisk caps the disk a canary lease asks for (10 GiB): the miner
	// builds and formats a volume of that size for the lease, so asking for
	// a whole claimed disk would take it from the miner for a check. Claims
	// above the cap are checked up to it.
	MaxDisk int64
	// Strikes is how many refusals in a row fail a miner (2): a miner busy
	// with a lease this validator does not know of refuses once.
	Strikes int
	// Timeline is the canary lease's length in days (1, the shortest); the
	// lease is released as soon as it is measured.
	Timeline int
	// MaxMinerStake: neurons with at least this stake (TAO) are validators
	// and are not checked (1024).
	MaxMinerStake float64
	// DataDir is the validator's data directory; the SSH key of an open
	// canary lease is kept under DataDir/canary-keys (0600) until the login
	// is done. Required.
	DataDir string
	// SSH is the OpenSSH client program ("ssh").
	SSH string
}

// DefaultConfig returns the production settings.
func DefaultConfig() Config {
	return Config{
		Interval:       6 * time.Hour,
		Jitter:         0.2,
		RetryAfter:     30 * time.Minute,
		Concurrency:    2,
		Timeout:        5 * time.Minute,
		ReleaseTimeout: time.Minute,
		LoginTimeout:   90 * time.Second,
		Tick:           time.Minute,
		Margin:         0.1,
		MaxDisk:        10 << 30,
		Strikes:        2,
		Timeline:       1,
		MaxMinerStake:  1024,
		SSH:            "ssh",
	}
}

// Validate reports the first setting that cannot work as a *config.FieldError.
func (c Config) Validate() error {
	switch {
	case c.Interval <= 0:
		return config.Errorf("canary.Config.Interval", "must be positive")
	case c.Jitter < 0 || c.Jitter >= 1:
		return config.Errorf("canary.Config.Jitter", "must be in [0, 1), got %v", c.Jitter)
	case c.RetryAfter <= 0:
		return config.Errorf("canary.Config.RetryAfter", "must be positive")
	case c.Concurrency < 1 || c.Concurrency > 64:
		return config.Errorf("canary.Config.Concurrency", "must be between 1 and 64, got %d", c.Concurrency)
	case c.Timeout <= 0:
		return config.Errorf("canary.Config.Timeout", "must be positive")
	case c.LoginTimeout <= 0:
		return config.Errorf("canary.Config.LoginTimeout", "must be positive")
	case c.ReleaseTimeout <= 0:
		return config.Errorf("canary.Config.ReleaseTimeout", "must be positive")
	case c.LoginTimeout >= c.Timeout:
		return config.Errorf("canary.Config.LoginTimeout", "%v must be shorter than the deadline of a canary lease (%v)", c.LoginTimeout, c.Timeout)
	case c.Tick <= 0:
		return config.Errorf("canary.Config.Tick", "must be positive")
	case c.Margin < 0 || c.Margin >= 1:
		return config.Errorf("canary.Config.Margin", "must be in [0, 1), got %v", c.Margin)
	case c.MaxDisk < container.MinDiskBytes:
		return config.Errorf("canary.Config.MaxDisk", "%d bytes is below the smallest lease disk (%d bytes)", c.MaxDisk, container.MinDiskBytes)
	case c.Strikes < 1:
		return config.Errorf("canary.Config.Strikes", "must be at least 1")
	case c.Timeline < 1 || c.Timeline > renter.MaxTimeline:
		return config.Errorf("canary.Config.Timeline", "must be between 1 and %d days", renter.MaxTimeline)
	case c.DataDir == "":
		return config.Errorf("canary.Config.DataDir", "the canary needs the validator's data directory")
	case c.SSH == "":
		return errors.New("the canary needs an OpenSSH client")
	}
	return nil
}

// ErrNoSSH means the OpenSSH client the canary logs in with is missing.
var ErrNoSSH = errors.New("canary: the OpenSSH client is not installed (apt-get install openssh-client)")

// Store is what the canary reads and writes; *store.Validator implements it.
type Store interface {
	Specs(ctx context.Context) (map[string]store.MinerSpecs, error)
	Allocated(ctx context.Context, now time.Time) (map[string]bool, error)
	CanaryStatuses(ctx context.Context) (map[string]store.CanaryStatus, error)
	RecordCanary(ctx context.Context, run store.CanaryRun, st store.CanaryStatus) error
	GPUOwners(ctx context.Context, uuids []string, except string) (map[string][]string, error)
	FailCanary(ctx context.Context, hotkeys []string, reason, detail string, at time.Time) ([]string, error)
}

var _ Store = (*store.Validator)(nil)

// Leaser takes and ends trial leases the way a renter does; *renter.Renter
// implements it.
type Leaser interface {
	AllocateTrial(ctx context.Context, req renter.Request) (*renter.Trial, error)
	ReleaseTrial(ctx context.Context, t *renter.Trial) error
}

var _ Leaser = (*renter.Renter)(nil)

// Deps are the canary's collaborators.
type Deps struct {
	Meta   renter.Metagraph // required
	Store  Store            // required
	Leaser Leaser           // required: a renter signing with the validator's hotkey
	// Self is the validator's hotkey, never checked.
	Self string
	// Allocated says which miners hold a lease now and must not be
	// disturbed; by default the store's (this validator's renters).
	Allocated func(ctx context.Context, now time.Time) (map[string]bool, error)
	// Registry receives the canary's metrics (a private one when nil).
	Registry prometheus.Registerer
	// Log defaults to slog.Default().
	Log *slog.Logger
	// Now defaults to time.Now.
	Now func() time.Time
}

// Canary checks miners' specs with short real leases. Run's goroutine owns
// the schedule; the leases run in goroutines of their own, at most
// Concurrency at a time, tracked in inFlight under mu.
type Canary struct {
	cfg  Config
	deps Deps
	log  *slog.Logger
	now  func() time.Time
	m    *Metrics
	wake chan struct{}

	mu       sync.Mutex
	inFlight map[string]bool
	backoff  map[string]time.Time // canary failures of our own: no verdict, retry later
	stuck    []*renter.Trial      // leases whose release failed, retried until they expire
}

// New checks cfg and deps.
func New(cfg Config, deps Deps) (*Canary, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Meta == nil || deps.Store == nil || deps.Leaser == nil {
		return nil, errors.New("canary: metagraph, store and leaser are required")
	}
	if _, err := exec.LookPath(cfg.SSH); err != nil {
		return nil, fmt.Errorf("%w: %q: %w", ErrNoSSH, cfg.SSH, err)
	}
	if deps.Allocated == nil {
		deps.Allocated = deps.Store.Allocated
	}
	reg := deps.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m, err := NewMetrics(reg)
	if err != nil {
		return nil, err
	}
	if deps.Log == nil {
		deps.Log = slog.Default()
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	return &Canary{
		cfg: cfg, deps: deps, log: deps.Log.With("component", "canary"), now: deps.Now, m: m,
		wake: make(chan struct{}, 1), inFlight: map[string]bool{}, backoff: map[string]time.Time{},
	}, nil
}

// Run checks every due miner until ctx ends, then waits for the leases in
// flight to be released.
func (c *Canary) Run(ctx context.Context) error {
	c.log.Info("canary leases on", "interval", c.cfg.Interval, "concurrency", c.cfg.Concurrency, "timeout", c.cfg.Timeout)
	var wg sync.WaitGroup
	defer wg.Wait()
	t := time.NewTicker(c.cfg.Tick)
	defer t.Stop()
	for {
		c.pass(ctx, &wg)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-c.wake:
		}
	}
}

// target is a miner due for a check.
type target struct {
	neuron chain.Neuron
	specs  specs.Specs
	hash   string
	prev   *store.CanaryStatus
	due    time.Time
}

// pass starts checks of the due miners, oldest due first, while slots are free.
func (c *Canary) pass(ctx context.Context, wg *sync.WaitGroup) {
	c.retryStuck(ctx)
	due, err := c.dueMiners(ctx)
	if err != nil {
		c.log.Warn("canary: listing the miners to check failed; retrying at the next tick", "err", err)
		return
	}
	for _, tg := range due {
		c.mu.Lock()
		free := len(c.inFlight) < c.cfg.Concurrency
		if free {
			c.inFlight[tg.neuron.Hotkey] = true
		}
		c.mu.Unlock()
		if !free {
			return
		}
		c.m.InFlight.Inc()
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.check(ctx, tg)
			c.mu.Lock()
			delete(c.inFlight, tg.neuron.Hotkey)
			c.mu.Unlock()
			c.m.InFlight.Dec()
			select {
			case c.wake <- struct{}{}:
			default:
			}
		}()
	}
}

// dueMiners lists the served, idle miners whose readable specs offer
// leases (has_docker) and whose check is due.
func (c *Canary) dueMiners(ctx context.Context) ([]target, error) {
	now := c.now()
	mg, err := c.deps.Meta.Metagraph(ctx, c.cfg.Netuid)
	if err != nil {
		return nil, fmt.Errorf("read the metagraph of netuid %d: %w", c.cfg.Netuid, err)
	}
	all, err := c.deps.Store.Specs(ctx)
	if err != nil {
		return nil, err
	}
	sts, err := c.deps.Store.CanaryStatuses(ctx)
	if err != nil {
		return nil, err
	}
	failed := 0
	for _, s := range sts {
		if s.State == store.CanaryFailed && mg.ByHotkey(s.Hotkey) != nil {
			failed++
		}
	}
	c.m.Unverified.Set(float64(failed))
	alloc, err := c.deps.Allocated(ctx, now)
	if err != nil {
		return nil, fmt.Errorf("read the allocated miners: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []target
	for _, n := range mg.Neurons {
		hk := n.Hotkey
		if hk == c.deps.Self || n.Stake >= c.cfg.MaxMinerStake || alloc[hk] || c.inFlight[hk] ||
			n.Axon.IP == "" || n.Axon.IP == "0.0.0.0" || n.Axon.Port == 0 {
			continue
		}
		if until, ok := c.backoff[hk]; ok && now.Before(until) {
			continue
		}
		ms, ok := all[hk]
		if !ok {
			continue
		}
		sp, err := renter.ParseSpecs(ms.Details)
		if err != nil || !sp.HasDocker {
			continue // nothing to verify, or no leases offered
		}
		tg := target{neuron: n, specs: sp, hash: specsHash(sp)}
		if s, ok := sts[hk]; ok {
			tg.prev = &s
		}
		tg.due = c.dueAt(tg)
		if !now.Before(tg.due) {
			out = append(out, tg)
		}
	}
	slices.SortFunc(out, func(a, b target) int {
		return cmp.Or(a.due.Compare(b.due), cmp.Compare(a.neuron.UID, b.neuron.UID))
	})
	return out, nil
}

// dueAt is when a miner's next check is due: now for a miner never
// checked; RetryAfter after a refusal that did not fail it yet or after its
// specs changed; otherwise Interval, jittered, after the last check.
func (c *Canary) dueAt(tg target) time.Time {
	p := tg.prev
	if p == nil || p.CheckedAt.IsZero() {
		return time.Time{}
	}
	if (p.Reason == ReasonAllocateRefused && p.State != store.CanaryFailed) || p.SpecsHash != tg.hash {
		return p.CheckedAt.Add(c.cfg.RetryAfter)
	}
	return p.CheckedAt.Add(jittered(c.cfg.Interval, c.cfg.Jitter, tg.neuron.Hotkey, p.CheckedAt))
}

// jittered spreads d by up to ±j of itself, the same way for the same miner
// and last check (so that restarts and passes agree).
func jittered(d time.Duration, j float64, hotkey string, at time.Time) time.Duration {
	h := sha256.New()
	h.Write([]byte(hotkey))
	binary.Write(h, binary.LittleEndian, at.UnixMilli())
	u := float64(binary.LittleEndian.Uint64(h.Sum(nil))>>11) / float64(1<<53) // [0, 1)
	return time.Duration(float64(d) * (1 + j*(2*u-1)))
}

// specsHash identifies a specs report's content.
func specsHash(s specs.Specs) string {
	b, _ := json.Marshal(s)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// Outcome is one canary run's result.
type Outcome struct {
	Hotkey    string
	UID       uint16
	Reason    string
	Detail    string
	State     string // the miner's verification state after the run
	LoginTime time.Duration
	// GrantTime is the part of LoginTime until the miner granted the lease
	// (check, container creation and start, sshd up).
	GrantTime time.Duration
	Measured  *Measured
	Expect    Expect
}

// check runs one canary lease and records its outcome.
func (c *Canary) check(ctx context.Context, tg target) {
	started := c.now()
	o := c.lease(ctx, tg)
	if ctx.Err() != nil && o.Reason != ReasonOK {
		return // stopped: no verdict
	}
	c.m.Runs.WithLabelValues(o.Reason).Inc()
	if o.Reason == ReasonInternal {
		c.mu.Lock()
		c.backoff[tg.neuron.Hotkey] = c.now().Add(c.cfg.RetryAfter)
		c.mu.Unlock()
		c.log.Error("canary lease could not be run; no verdict on the miner", "hotkey", o.Hotkey, "uid", o.UID, "detail", o.Detail)
		return
	}
	if o.LoginTime > 0 {
		c.m.LoginTime.Observe(o.LoginTime.Seconds())
	}
	if err := c.record(ctx, tg, started, &o); err != nil {
		c.log.Error("canary outcome not stored", "hotkey", o.Hotkey, "reason", o.Reason, "err", err)
		return
	}
	attrs := []any{"hotkey", o.Hotkey, "uid", o.UID, "reason", o.Reason, "state", o.State,
		"allocate_to_login", o.LoginTime.Round(time.Millisecond), "granted_after", o.GrantTime.Round(time.Millisecond)}
	if o.Measured != nil {
		attrs = append(attrs, "measured", o.Measured.String())
	}
	if o.Reason == ReasonOK {
		c.log.Info("canary lease passed: specs verified", attrs...)
	} else {
		c.log.Warn("canary lease failed", append(attrs, "detail", o.Detail)...)
	}
}

// lease takes the canary lease, logs in, measures and releases.
func (c *Canary) lease(ctx context.Context, tg target) Outcome {
	n := tg.neuron
	o := Outcome{Hotkey: n.Hotkey, UID: n.UID, Expect: Expectation(tg.specs, c.cfg.Margin, c.cfg.MaxDisk)}
	rctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	key, err := newSSHKey()
	if err != nil {
		o.Reason, o.Detail = ReasonInternal, err.Error()
		return o
	}
	req := renter.Request{Requirement: o.Expect.Requirement(), Timeline: c.cfg.Timeline, SSHKey: key.public, Hotkey: n.Hotkey}
	t0 := time.Now()
	tr, err := c.deps.Leaser.AllocateTrial(rctx, req)
	o.GrantTime = time.Since(t0)
	if err != nil {
		var te *renter.TrialError
		switch {
		case errors.As(err, &te) && te.Stage == renter.StageCheck:
			o.Reason = ReasonAllocateRefused
		case errors.As(err, &te):
			o.Reason = ReasonContainerStart
		default:
			o.Reason = ReasonInternal
		}
		o.Detail = err.Error()
		return o
	}
	defer c.release(ctx, tr)
	path, remove, err := key.writeKey(c.cfg.DataDir)
	if err != nil {
		o.Reason, o.Detail = ReasonInternal, err.Error()
		return o
	}
	defer remove()
	l := login{SSH: c.cfg.SSH, Host: tr.IP, Port: tr.Port, User: tr.Username, Identity: path,
		Command: measureScript(len(o.Expect.GPUs) > 0), ConnectTimeout: 10 * time.Second}
	m, first, err := c.loginAndMeasure(rctx, l)
	if err != nil {
		o.Reason, o.Detail = ReasonSSHLogin, err.Error()
		return o
	}
	o.LoginTime = first.Sub(t0)
	m.GrantSeconds = o.GrantTime.Seconds()
	o.Measured = &m
	o.Reason, o.Detail = Compare(o.Expect, m)
	return o
}

// loginAndMeasure tries the login until it yields a complete measurement
// or LoginTimeout passes.
func (c *Canary) loginAndMeasure(ctx context.Context, l login) (Measured, time.Time, error) {
	lctx, cancel := context.WithTimeout(ctx, c.cfg.LoginTimeout)
	defer cancel()
	var lastErr error
	for attempt := 1; ; attempt++ {
		out, first, err := l.run(lctx)
		if err == nil {
			m, perr := ParseMeasured(out)
			if perr == nil {
				return m, first, nil
			}
			err = perr
		}
		if lastErr == nil || lctx.Err() == nil {
			lastErr = err // not the deadline's kill of the last try
		}
		select {
		case <-lctx.Done():
			return Measured{}, time.Time{}, fmt.Errorf("no login within %v (%d attempts): %w", c.cfg.LoginTimeout, attempt, lastErr)
		case <-time.After(time.Second):
		}
	}
}

// release ends a canary lease; one that cannot be released now is retried
// at later passes until it expires.
func (c *Canary) release(ctx context.Context, tr *renter.Trial) {
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.ReleaseTimeout)
		err = c.deps.Leaser.ReleaseTrial(rctx, tr)
		cancel()
		if err == nil {
			return
		}
		if ctx.Err() != nil {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(2 * time.Second):
		}
	}
	c.log.Warn("canary lease not released; retrying later", "hotkey", tr.Hotkey, "uid", tr.UID, "expires", tr.ExpiresAt, "err", err)
	c.mu.Lock()
	c.stuck = append(c.stuck, tr)
	c.mu.Unlock()
}

func (c *Canary) retryStuck(ctx context.Context) {
	c.mu.Lock()
	stuck := c.stuck
	c.stuck = nil
	c.mu.Unlock()
	var keep []*renter.Trial
	for _, tr := range stuck {
		if c.now().After(tr.ExpiresAt) {
			continue
		}
		rctx, cancel := context.WithTimeout(ctx, c.cfg.ReleaseTimeout)
		err := c.deps.Leaser.ReleaseTrial(rctx, tr)
		cancel()
		if err != nil {
			keep = append(keep, tr)
			continue
		}
		c.log.Info("canary lease released late", "hotkey", tr.Hotkey, "uid", tr.UID)
	}
	c.mu.Lock()
	c.stuck = append(c.stuck, keep...)
	c.mu.Unlock()
}

// record stores the run and the miner's new state, then flags GPUs seen
// under another registered hotkey.
func (c *Canary) record(ctx context.Context, tg target, started time.Time, o *Outcome) error {
	now := c.now()
	mg, err := c.deps.Meta.Metagraph(ctx, c.cfg.Netuid)
	if err != nil {
		return fmt.Errorf("read the metagraph of netuid %d: %w", c.cfg.Netuid, err)
	}
	var others []string
	if o.Reason == ReasonOK && len(o.Measured.GPUs) > 0 {
		others, err = c.duplicates(ctx, tg.neuron.Hotkey, o.Measured.UUIDs(), mg)
		if err != nil {
			return err
		}
		if len(others) > 0 {
			o.Reason, o.Detail = ReasonGPUDuplicate, fmt.Sprintf("a GPU of this lease was seen under %v", others)
		}
	}
	st := store.CanaryStatus{Hotkey: tg.neuron.Hotkey, Reason: o.Reason, Detail: o.Detail, SpecsHash: tg.hash, CheckedAt: now}
	if p := tg.prev; p != nil {
		st.VerifiedAt, st.FailedAt, st.State = p.VerifiedAt, p.FailedAt, p.State
	}
	switch o.Reason {
	case ReasonOK:
		st.State, st.VerifiedAt = store.CanaryVerified, now
	case ReasonAllocateRefused:
		if tg.prev != nil && tg.prev.Reason == ReasonAllocateRefused {
			st.Strikes = tg.prev.Strikes
		}
		st.Strikes++
		switch {
		case st.Strikes >= c.cfg.Strikes:
			st.State, st.FailedAt = store.CanaryFailed, now
		case st.State == "":
			st.State = store.CanaryPending
		}
	default:
		st.State, st.FailedAt = store.CanaryFailed, now
	}
	o.State = st.State
	run := store.CanaryRun{Hotkey: tg.neuron.Hotkey, UID: tg.neuron.UID, Reason: o.Reason, Detail: o.Detail,
		LoginTime: o.LoginTime, SpecsHash: tg.hash, Started: started, Finished: now}
	if o.Measured != nil {
		run.GPUUUIDs = o.Measured.UUIDs()
		if b, err := json.Marshal(o.Measured); err == nil {
			run.Measured = b
		}
	}
	if err := c.deps.Store.RecordCanary(ctx, run, st); err != nil {
		return err
	}
	if len(others) > 0 {
		changed, err := c.deps.Store.FailCanary(ctx, others, ReasonGPUDuplicate,
			"a GPU of its last canary lease was seen under "+tg.neuron.Hotkey, now)
		if err != nil {
			return err
		}
		for _, hk := range changed {
			c.m.Runs.WithLabelValues(ReasonGPUDuplicate).Inc()
			c.log.Warn("miner flagged: one of its GPUs shows up under another hotkey", "hotkey", hk, "other", tg.neuron.Hotkey)
		}
	}
	return nil
}

// duplicates returns the registered hotkeys other than hotkey whose last
// canary lease showed one of uuids.
func (c *Canary) duplicates(ctx context.Context, hotkey string, uuids []string, mg *chain.Metagraph) ([]string, error) {
	owners, err := c.deps.Store.GPUOwners(ctx, uuids, hotkey)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, hks := range owners {
		for _, hk := range hks {
			if mg.ByHotkey(hk) != nil && !slices.Contains(out, hk) {
				out = append(out, hk)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}
