package doctor

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"time"

	"github.com/moby/moby/api/types/system"
	"github.com/moby/moby/client"

	"github.com/sn27/compute/internal/chain"
	"github.com/sn27/compute/internal/config"
	"github.com/sn27/compute/internal/gpu"
	"github.com/sn27/compute/internal/pow/hashcat"
)

// Mode is the role whose surroundings are checked.
type Mode string

// The modes.
const (
	Miner     Mode = "miner"
	Validator Mode = "validator"
)

// DefaultCheckTimeout bounds one check (the clock check, which may wait for
// a block, gets three times as long).
const DefaultCheckTimeout = 15 * time.Second

// Config is what the operator runs the role with: the same settings as the
// miner's or validator's flags, plus how to word the fixes.
type Config struct {
	Mode   Mode
	Netuid uint16

	// WalletPath ("" = the wallet package's default), WalletName and
	// HotkeyName name the keys, as wallet.New takes them.
	WalletPath, WalletName, HotkeyName string

	// The miner's axon: the address it listens on, the announced address
	// (ExternalIP "" and ExternalPort 0: as the miner chooses them), the
	// lease SSH port, whether allocation is offered and the lease image.
	AxonIP       string
	AxonPort     int
	ExternalIP   string
	ExternalPort int
	SSHPort      int
	Allocation   bool
	Image        string
	// Solver is the miner's proof-of-work solver name; Hashcat its hashcat
	// settings (checked when Solver is "hashcat").
	Solver  string
	Hashcat hashcat.Options

	// DataDir is the role's data directory (its free disk is checked).
	DataDir string
	// LocalChain says the chain is a local or development one: a private
	// announced address is then fine.
	LocalChain bool
	// ChainArgs are the command-line arguments that choose the chain, already
	// quoted ("" for the default), added to the commands the fixes give.
	ChainArgs string

	// CheckTimeout bounds each check (DefaultCheckTimeout when 0).
	CheckTimeout time.Duration
}

// Validate reports a setting the doctor cannot check with.
func (c Config) Validate() error {
	switch {
	case c.Mode != Miner && c.Mode != Validator:
		return config.Errorf("doctor.Config.Mode", "%q is neither miner nor validator", c.Mode)
	case c.AxonPort < 0 || c.AxonPort > 65535:
		return config.Errorf("doctor.Config.AxonPort", "%d is not a port", c.AxonPort)
	case c.ExternalPort < 0 || c.ExternalPort > 65535:
		return config.Errorf("doctor.Config.ExternalPort", "%d is not a port", c.ExternalPort)
	case c.SSHPort < 0 || c.SSHPort > 65535:
		return config.Errorf("doctor.Config.SSHPort", "%d is not a port", c.SSHPort)
	case badIP(c.AxonIP):
		return config.Errorf("doctor.Config.AxonIP", "%q is not an IP address", c.AxonIP)
	case badIP(c.ExternalIP):
		return config.Errorf("doctor.Config.ExternalIP", "%q is not an IP address", c.ExternalIP)
	case c.CheckTimeout < 0:
		return config.Errorf("doctor.Config.CheckTimeout", "%v must not be negative", c.CheckTimeout)
	}
	return nil
}

func badIP(s string) bool {
	_, err := netip.ParseAddr(s)
	return s != "" && err != nil
}

// Chain is what the doctor reads from the chain. chain.Chain satisfies it;
// a chain that also implements chain.BlockClock gets its clock checked.
type Chain interface {
	Block(ctx context.Context) (uint64, error)
	WaitBlock(ctx context.Context, after uint64) (uint64, error)
	NeuronByHotkey(ctx context.Context, netuid uint16, hotkey string) (*chain.Neuron, error)
}

// Docker is what the doctor asks the Docker daemon; *client.Client satisfies it.
type Docker interface {
	Ping(ctx context.Context, opts client.PingOptions) (client.PingResult, error)
	Info(ctx context.Context, opts client.InfoOptions) (client.SystemInfoResult, error)
	ImageInspect(ctx context.Context, image string, opts ...client.ImageInspectOption) (client.ImageInspectResult, error)
	Close() error
}

var _ Docker = (*client.Client)(nil)

// Deps are the doctor's collaborators. The chain and the Docker client are
// opened by the checks (through OpenChain and OpenDocker), since failing to
// reach them is what the checks report; Run closes what they opened.
type Deps struct {
	// OpenChain connects to the chain.
	OpenChain func(ctx context.Context) (Chain, error)
	// OpenDocker connects to the Docker daemon (nil: from the environment,
	// DOCKER_HOST or the local socket).
	OpenDocker func(ctx context.Context) (Docker, error)
	// GPUs takes the GPU inventory (nil: gpu.Query, NVML).
	GPUs func(ctx context.Context) (gpu.Inventory, error)
	// Hashcat returns the version of the hashcat opts name, or why it cannot
	// be used (nil: hashcat.New's checks).
	Hashcat func(ctx context.Context, opts hashcat.Options) (string, error)
	// Host answers questions about this machine (nil: the real one, OS).
	Host Host
	// Now is the local clock (nil: time.Now).
	Now func() time.Time
	// Log receives debug logs (nil: slog.Default()).
	Log *slog.Logger
}

// Status is a check's outcome.
type Status int

// The outcomes. Only Fail makes a report fail.
const (
	Pass Status = iota
	Warn
	Fail
	Skip // not applicable here (no GPU, another solver) or not checkable after an earlier failure
)

func (s Status) String() string {
	switch s {
	case Pass:
		return "PASS"
	case Warn:
		return "WARN"
	case Fail:
		return "FAIL"
	case Skip:
		return "N/A"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// MarshalText writes the status as the table does.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads what MarshalText writes.
func (s *Status) UnmarshalText(b []byte) error {
	for _, v := range []Status{Pass, Warn, Fail, Skip} {
		if string(b) == v.String() {
			*s = v
			return nil
		}
	}
	return fmt.Errorf("doctor: unknown result %q", b)
}

// Result is one row of the report.
type Result struct {
	Check  string `json:"check"`
	Status Status `json:"result"`
	Detail string `json:"detail"`
	// Fix says what to do; every Fail and Warn has one.
	Fix string `json:"fix,omitempty"`
}

// Doctor runs the checks of one mode. Create it with New.
type Doctor struct {
	cfg  Config
	deps Deps
	log  *slog.Logger
}

// New checks cfg and fills the defaults of deps; it contacts nothing.
func New(cfg Config, deps Deps) (*Doctor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.OpenChain == nil {
		return nil, fmt.Errorf("doctor: Deps.OpenChain is required")
	}
	if cfg.CheckTimeout == 0 {
		cfg.CheckTimeout = DefaultCheckTimeout
	}
	if deps.OpenDocker == nil {
		deps.OpenDocker = dialDocker
	}
	if deps.GPUs == nil {
		deps.GPUs = gpu.Query
	}
	if deps.Hashcat == nil {
		deps.Hashcat = hashcatVersion
	}
	if deps.Host == nil {
		deps.Host = OS{}
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	log := deps.Log
	if log == nil {
		log = slog.Default()
	}
	return &Doctor{cfg: cfg, deps: deps, log: log.With("component", "doctor")}, nil
}

// state is what the checks found that later checks use. Only Run writes it.
type state struct {
	hotkey     string // SS58 of the hotkey, once read
	chain      Chain
	neuron     *chain.Neuron
	docker     Docker
	dockerInfo *system.Info
	gpus       *gpu.Inventory
}

// Run runs the checks of the configured mode in order and returns their
// results. It returns early, with the results so far and ctx's error, only
// when ctx ends.
func (d *Doctor) Run(ctx context.Context) ([]Result, error) {
	var s state
	defer func() {
		if c, ok := s.chain.(io.Closer); ok {
			c.Close()
		}
		if s.docker != nil {
			s.docker.Close()
		}
	}()
	var out []Result
	for _, c := range checks {
		if !c.in(d.cfg.Mode) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return out, err
		}
		r, update := d.run(ctx, c, s)
		if update != nil {
			update(&s)
		}
		out = append(out, r)
	}
	return out, ctx.Err()
}

// run runs one check under its time limit. A check that overruns is left
// to finish on its own; what it finds is dropped (a chain or Docker client it
// opened late is closed).
func (d *Doctor) run(ctx context.Context, c check, s state) (Result, func(*state)) {
	limit := d.cfg.CheckTimeout
	if c.slow {
		limit *= 3
	}
	cctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	type outcome struct {
		r Result
		u func(*state)
	}
	done := make(chan outcome, 1)
	go func() {
		r, u := c.run(cctx, d, s)
		done <- outcome{r, u}
	}()
	var o outcome
	select {
	case o = <-done:
	case <-cctx.Done():
		go func() { // close what the abandoned check opens, once it returns
			late := <-done
			if late.u != nil {
				var ls state
				late.u(&ls)
				if cl, ok := ls.chain.(io.Closer); ok {
					cl.Close()
				}
				if ls.docker != nil {
					ls.docker.Close()
				}
			}
		}()
		if ctx.Err() != nil {
			o.r = Result{Status: Fail, Detail: "interrupted", Fix: "run compute doctor again"}
		} else {
			o.r = Result{Status: Fail, Detail: fmt.Sprintf("no answer within %v", limit), Fix: c.slowFix}
		}
	}
	o.r.Check = c.name
	if o.r.Status == Fail && o.r.Fix == "" {
		o.r.Fix = c.slowFix // a check names a fix for every failure; this is the fallback
	}
	d.log.Debug("check", "check", c.name, "result", o.r.Status, "detail", o.r.Detail)
	return o.r, o.u
}

// Failed reports whether any result failed.
func Failed(results []Result) bool {
	for _, r := range results {
		if r.Status == Fail {
			return true
		}
	}
	return false
}
