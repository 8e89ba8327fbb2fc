package devnet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sn27/compute/internal/api"
	"github.com/sn27/compute/internal/canary"
	"github.com/sn27/compute/internal/chain/devchain"
	"github.com/sn27/compute/internal/config"
	"github.com/sn27/compute/internal/container"
	"github.com/sn27/compute/internal/miner"
	"github.com/sn27/compute/internal/pow"
	"github.com/sn27/compute/internal/pow/cpu"
	"github.com/sn27/compute/internal/rentals"
	"github.com/sn27/compute/internal/renter"
	"github.com/sn27/compute/internal/specs"
	"github.com/sn27/compute/internal/store"
	"github.com/sn27/compute/internal/testnet"
	"github.com/sn27/compute/internal/validator"
	"github.com/sn27/compute/internal/wallet"
	"github.com/sn27/compute/internal/webhook"
)

// Netuid is the devnet's subnet.
const Netuid = 1

// Config sizes the devnet. A zero field takes its default (DefaultConfig).
type Config struct {
	// Dir holds the chain state, the validator store, miner data and the dev
	// wallets ("" : a temporary directory removed at the end).
	Dir string
	// Miners is the number of honest miners (default 3); miner i answers
	// after (i-1)*Step on top of its solve time.
	Miners int
	Step   time.Duration
	// Bad adds a miner that answers wrong passwords.
	Bad bool
	// BlockTime (500 ms) and Tempo (10 blocks) of the dev chain.
	BlockTime time.Duration
	Tempo     uint16
	// PlainWeights turns commit-reveal off on the dev subnet: weights are
	// set in the clear instead of committed and revealed as on finney.
	PlainWeights bool
	// MinDifficulty..MaxDifficulty bound the challenges (4..6).
	MinDifficulty, MaxDifficulty int
	// Timeout is the challenge timeout (5 s).
	Timeout time.Duration
	// Allocation lets miners offer Docker leases when dockerd is reachable.
	Allocation bool
	// Image is the miners' lease image (container.DefaultImage).
	Image string
	// Liar adds a miner whose specs claim LiarCPUs CPUs while its leases
	// get one: the canary leases catch it (cpu_mismatch) when allocation is on.
	Liar bool
	// CanaryInterval is how often each miner gets a canary lease (2 min)
	// when allocation is on; 0 keeps the default, negative turns it off.
	CanaryInterval time.Duration
	// Refresh is the summary interval (2 s); Terminal redraws in place.
	Refresh  time.Duration
	Terminal bool
	// Plot, when set, is an SVG file written at the end: every miner's
	// score and incentive by block.
	Plot string
	// APIAddr, when set, is a loopback host:port where the renter API and
	// its dashboard are served over the validator's store, read endpoints
	// public; with allocation on, an API key that may rent is made and
	// printed.
	APIAddr string
}

// DefaultConfig returns the devnet `compute devnet` runs without flags:
// the defaults of the zero fields, and allocation on.
func DefaultConfig() Config {
	c := Config{Allocation: true}
	c.fill()
	return c
}

// fill sets the zero fields to their defaults.
func (c *Config) fill() {
	if c.Miners == 0 {
		c.Miners = 3
	}
	if c.Step == 0 {
		c.Step = time.Second
	}
	if c.BlockTime == 0 {
		c.BlockTime = 500 * time.Millisecond
	}
	if c.Tempo == 0 {
		c.Tempo = 10
	}
	if c.MinDifficulty == 0 {
		c.MinDifficulty = 4
	}
	if c.MaxDifficulty == 0 {
		c.MaxDifficulty = 6
	}
	if c.Timeout == 0 {
		c.Timeout = 5 * time.Second
	}
	if c.Refresh == 0 {
		c.Refresh = 2 * time.Second
	}
	if c.Image == "" {
		c.Image = container.DefaultImage
	}
	if c.CanaryInterval == 0 {
		c.CanaryInterval = 2 * time.Minute
	}
}

// Validate reports a setting the devnet cannot run with.
func (c Config) Validate() error {
	if c.Miners < 1 || c.Miners > 64 {
		return config.Errorf("devnet.Config.Miners", "must be between 1 and 64, got %d", c.Miners)
	}
	if c.APIAddr != "" {
		host, _, err := net.SplitHostPort(c.APIAddr)
		if err != nil {
			return config.Errorf("devnet.Config.APIAddr", "%q is not host:port: %w", c.APIAddr, err)
		}
		if !api.Loopback(host) {
			return config.Errorf("devnet.Config.APIAddr", "%s is not a loopback address: the devnet serves its API on this machine only (e.g. 127.0.0.1:8080)", c.APIAddr)
		}
	}
	return checkPlotPath(c.Plot)
}

// Deps are the devnet's outlets.
type Deps struct {
	// Out receives the summary and the leaderboard (nil: discarded).
	Out io.Writer
	// Log receives the components' logs (nil: slog.Default()).
	Log *slog.Logger
}

// Devnet is a whole local network in one process: the dev chain, a
// validator (with its canary leases when allocation is on) and miners.
type Devnet struct {
	cfg Config
	out io.Writer
	log *slog.Logger

	// Set up by setUp; cleanup runs in reverse when Run returns.
	dir, dirNote string
	net          *testnet.Net
	val          *node
	nodes        []*node
	cleanup      []func()

	// Started by start.
	stop       context.CancelFunc
	chainDone  sync.WaitGroup
	roles      sync.WaitGroup
	errs       chan error
	vcfg       validator.Config
	v          *validator.Validator
	vst        *store.Validator
	allocation bool
	canaryOn   bool
	mode       string
	canaryNote string
	api        *api.Server
	apiKey     string // a key that may rent, when allocation is on

	hist   *History
	result *Result
}

// New checks cfg; it opens and starts nothing.
func New(cfg Config, deps Deps) (*Devnet, error) {
	cfg.fill()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	d := &Devnet{cfg: cfg, out: deps.Out, log: deps.Log}
	if d.out == nil {
		d.out = io.Discard
	}
	if d.log == nil {
		d.log = slog.Default()
	}
	return d, nil
}

// node is a registered participant.
type node struct {
	name       string
	cold, hot  *wallet.Keypair
	delay      time.Duration
	bad        bool
	liar       bool
	m          *miner.Miner
	allocation bool
}

// Result is the end state: the leaderboard rows in rank order.
type Result struct {
	Rows         []Row
	WeightsBlock uint64
	// LastWeights is the validator's latest submission: set, or committed
	// and (once the chain revealed it) revealed.
	LastWeights *store.WeightsRecord
	Rounds      int
	Allocation  bool
	// Canary: canary leases checked the miners' specs (allocation on).
	Canary bool
	// History holds a sample per round (or weights update) seen.
	History *History
}

// Row is one miner on the leaderboard.
type Row struct {
	Name      string
	UID       uint16
	Hotkey    string
	Score     float64
	Weight    float64 // last weight the validator computed
	OnChain   uint16  // u16 weight last accepted by the dev chain (0: none)
	Incentive float64
	Result    string
	Diff      int
	Elapsed   time.Duration
	Successes int
	Attempts  int
	// Verified is the canary's verdict on the miner's specs (store.Canary*,
	// "" when never checked), Reason its code and Detail what was seen;
	// Login the last canary lease's Allocate-to-login time.
	Verified string
	Reason   string
	Detail   string
	Login    time.Duration
	// Penalised: the validator cuts the miner's score (a failed canary).
	Penalised bool
	Liar      bool
}

// Run builds the devnet, runs it until ctx ends and prints the final
// leaderboard (Result returns it). It returns after every component stopped.
func (d *Devnet) Run(ctx context.Context) error {
	defer d.close()
	// Set-up runs even when ctx is about to end; it is short.
	setup := context.WithoutCancel(ctx)
	if err := d.setUp(setup); err != nil {
		return err
	}
	if err := d.start(ctx, setup); err != nil {
		return err
	}
	d.printStart()
	runErr := d.watch(ctx, setup)
	d.stopRoles()
	return d.report(setup, runErr)
}

// Result is the final leaderboard once Run returned (nil when it never ran).
func (d *Devnet) Result() *Result { return d.result }

// setUp makes the data directory, opens the dev chain and registers the
// validator and the miners with their dev wallets.
func (d *Devnet) setUp(ctx context.Context) error {
	cfg := d.cfg
	d.dir = cfg.Dir
	if d.dir == "" {
		tmp, err := os.MkdirTemp("", "compute-devnet-")
		if err != nil {
			return err
		}
		d.onClose(func() { os.RemoveAll(tmp) })
		d.dir, d.dirNote = tmp, " (removed at the end; --data DIR keeps it)"
	}
	if err := os.MkdirAll(d.dir, 0o700); err != nil {
		return fmt.Errorf("devnet directory: %w", err)
	}
	p := testnet.Params()
	p.Tempo, p.WeightsRateLimit = cfg.Tempo, uint64(cfg.Tempo)/2
	p.CommitRevealEnabled = !cfg.PlainWeights
	p.ImmunityPeriod, p.ActivityCutoff = 10000, 10000
	p.BurnRao = devchain.RaoPerTAO / 100
	net, err := testnet.Open(ctx, testnet.Config{
		Netuid: Netuid,
		Chain:  devchain.Config{Path: filepath.Join(d.dir, "devchain.db"), BlockTime: cfg.BlockTime, Log: d.log.With("component", "devchain")},
		Params: &p,
	})
	if err != nil {
		return err
	}
	d.net = net
	d.onClose(func() { net.Close() })
	if err := d.makeNodes(); err != nil {
		return err
	}
	return d.register(ctx)
}

// makeNodes writes the dev wallets of the validator and the miners.
func (d *Devnet) makeNodes() error {
	val, err := newNode(d.dir, "Validator", 0, false)
	if err != nil {
		return err
	}
	d.val = val
	add := func(name string, delay time.Duration, bad, liar bool) error {
		n, err := newNode(d.dir, name, delay, bad)
		if err != nil {
			return err
		}
		n.liar = liar
		d.nodes = append(d.nodes, n)
		return nil
	}
	for i := 1; i <= d.cfg.Miners; i++ {
		if err := add(fmt.Sprintf("Miner%d", i), time.Duration(i-1)*d.cfg.Step, false, false); err != nil {
			return err
		}
	}
	if d.cfg.Bad {
		if err := add("Bad", 0, true, false); err != nil {
			return err
		}
	}
	if d.cfg.Liar {
		if err := add("Liar", 0, false, true); err != nil {
			return err
		}
	}
	return nil
}

// register funds and registers every node and stakes the validator to
// 2000 TAO.
func (d *Devnet) register(ctx context.Context) error {
	for _, n := range append([]*node{d.val}, d.nodes...) {
		if err := d.net.Join(ctx, n.cold, n.hot, 3000, 0); err != nil {
			return fmt.Errorf("%s: %w", n.name, err)
		}
	}
	c, hot := d.net.Chain, d.val.hot.SS58Address()
	st, err := c.Stake(ctx, hot)
	if err != nil {
		return err
	}
	if st < 2000*devchain.RaoPerTAO {
		if err := c.AddStake(ctx, d.val.cold, hot, 2000*devchain.RaoPerTAO-st); err != nil {
			return fmt.Errorf("stake the validator: %w", err)
		}
	}
	return nil
}

// onClose adds a clean-up step; close runs them in reverse.
func (d *Devnet) onClose(f func()) { d.cleanup = append(d.cleanup, f) }

// close stops the components (validator and miners first, as they use the
// chain, then the chain) and undoes the set-up.
func (d *Devnet) close() {
	if d.stop != nil {
		d.stopRoles()
		d.chainDone.Wait()
	}
	for i := len(d.cleanup) - 1; i >= 0; i-- {
		d.cleanup[i]()
	}
}

// stopRoles stops the validator, the canary and the miners and waits for them.
func (d *Devnet) stopRoles() {
	d.stop()
	d.roles.Wait()
}

// start runs the chain, then each miner (waiting until it serves), the
// validator and, with allocation on, its canary leases. ctx ends the wait
// for a miner; setup outlives it for the set-up calls.
func (d *Devnet) start(ctx, setup context.Context) error {
	runCtx, stop := context.WithCancel(ctx)
	d.stop = stop
	d.errs = make(chan error, len(d.nodes)+3)
	c := d.net.Chain
	d.chainDone.Add(1)
	go func() {
		defer d.chainDone.Done()
		if err := c.Run(runCtx); err != nil {
			d.errs <- fmt.Errorf("dev chain: %w", err)
		}
	}()
	for i, n := range d.nodes {
		if err := d.startMiner(ctx, runCtx, i, n); err != nil {
			return err
		}
	}
	if err := d.startValidator(setup, runCtx); err != nil {
		return err
	}
	d.allocation = len(d.nodes) > 0 && d.nodes[0].allocation
	d.mode = "off (dockerd not reachable or no lease image " + d.cfg.Image + ")"
	if !d.cfg.Allocation {
		d.mode = "off (--allocation=false)"
	} else if d.allocation {
		d.mode = "on (dockerd reachable)"
	}
	d.startCanary(runCtx)
	return d.startAPI(setup, runCtx)
}

// startAPI serves the renter API and the dashboard on APIAddr, read
// endpoints public, over the validator's store; with allocation on it
// makes an API key that may rent.
func (d *Devnet) startAPI(setup, runCtx context.Context) error {
	if d.cfg.APIAddr == "" {
		return nil
	}
	dataDir := filepath.Join(d.dir, "validator")
	r, err := renter.New(renter.Config{Netuid: Netuid, DataDir: dataDir, CheckTimeout: 10 * time.Second,
		AllocateTimeout: 90 * time.Second, KeyBits: 2048, Score: &d.vcfg.Score},
		renter.Deps{Meta: d.net.Chain, Store: d.vst, Signer: d.val.hot, Log: d.log})
	if err != nil {
		return fmt.Errorf("API: %w", err)
	}
	hooks, err := webhook.New(webhook.Config{}, webhook.Deps{Store: d.vst, Targets: d.vst, Log: d.log})
	if err != nil {
		return fmt.Errorf("API webhooks: %w", err)
	}
	hcfg := rentals.DefaultConfig()
	hcfg.DataDir, hcfg.HealthInterval = dataDir, 30*time.Second // a devnet's leases are short
	svc, err := rentals.New(hcfg, rentals.Deps{Store: d.vst, Renter: r, Notifier: hooks, Log: d.log})
	if err != nil {
		return fmt.Errorf("API rentals: %w", err)
	}
	cfg := api.DefaultConfig()
	cfg.Addr, cfg.Netuid, cfg.Score, cfg.PublicRead = d.cfg.APIAddr, Netuid, d.vcfg.Score, true
	cfg.Rate = 600 // the dashboard polls several endpoints
	var lc net.ListenConfig
	ln, err := lc.Listen(setup, "tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("API: listen on %s: %w", cfg.Addr, err)
	}
	reg := prometheus.NewRegistry()
	s, err := api.New(cfg, api.Deps{Store: d.vst, Chain: d.net.Chain, Hotkey: d.val.hot.SS58Address(), Renter: r,
		Rentals: svc, Listener: ln, Registry: reg, Gatherer: reg, Log: d.log})
	if err != nil {
		ln.Close()
		return err
	}
	if d.allocation {
		nk, err := api.CreateKey(setup, d.vst, api.KeySpec{Name: "devnet", Scopes: []string{api.ScopeRead, api.ScopeRent}}, time.Now())
		if err != nil {
			ln.Close()
			return fmt.Errorf("API key: %w", err)
		}
		d.apiKey = nk.Token
	}
	d.api = s
	d.goRole(runCtx, "API", s.Run)
	d.goRole(runCtx, "API rentals", svc.Run)
	d.goRole(runCtx, "API webhooks", hooks.Run)
	return nil
}

// goRole runs a role until runCtx ends; a failure before that ends the devnet.
func (d *Devnet) goRole(runCtx context.Context, name string, run func(context.Context) error) {
	d.roles.Add(1)
	go func() {
		defer d.roles.Done()
		if err := run(runCtx); err != nil && runCtx.Err() == nil {
			d.errs <- fmt.Errorf("%s: %w", name, err)
		}
	}()
}

// startMiner starts the i-th miner and waits until it serves.
func (d *Devnet) startMiner(ctx, runCtx context.Context, i int, n *node) error {
	solver, err := newSolver(n)
	if err != nil {
		return err
	}
	mcfg := miner.Config{
		Netuid: Netuid, AxonIP: "127.0.0.1", AxonPort: 0, ExternalIP: "127.0.0.1",
		Solver: "cpu", Allocation: d.cfg.Allocation, SSHPort: 4444 + i, SSHBindIP: "127.0.0.1",
		DataDir: filepath.Join(d.dir, "miners", n.name), SyncInterval: 5 * time.Second,
		SpecsProbeBytes: -1, Policy: miner.PolicyConfig{UpdatedThreshold: 60},
		Image: d.cfg.Image,
	}
	mdeps := miner.Deps{Chain: d.net.Chain, Hotkey: n.hot, Solver: solver, Log: d.log.With("miner", n.name)}
	if n.liar {
		closeDocker, err := liarDeps(&mdeps, mcfg)
		if err != nil {
			return err
		}
		d.onClose(closeDocker)
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", mcfg.AxonListenAddr())
	if err != nil {
		return fmt.Errorf("%s: axon: %w", n.name, err)
	}
	mdeps.Listener = ln
	m, err := miner.New(mcfg, mdeps)
	if err != nil {
		ln.Close()
		return fmt.Errorf("%s: %w", n.name, err)
	}
	n.m = m
	d.goRole(runCtx, n.name, m.Run)
	select {
	case <-m.Ready():
		n.allocation = m.AllocationEnabled()
		return nil
	case err := <-d.errs:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// startValidator opens the validator's store and starts it with quick
// rounds: a challenge every 4-6 blocks, weights every tempo.
func (d *Devnet) startValidator(setup, runCtx context.Context) error {
	cfg := d.cfg
	if err := os.MkdirAll(filepath.Join(d.dir, "validator"), 0o700); err != nil {
		return err
	}
	vcfg := validator.DefaultConfig()
	vcfg.Netuid = Netuid
	vcfg.Score.MinDifficulty, vcfg.Score.MaxDifficulty, vcfg.Score.Timeout = cfg.MinDifficulty, cfg.MaxDifficulty, cfg.Timeout
	vcfg.ChallengeMinBlocks, vcfg.ChallengeMaxBlocks = 4, 6
	vcfg.SpecsEvery, vcfg.StatusEvery, vcfg.WeightsEvery, vcfg.PruneEvery = 30, 10, uint64(cfg.Tempo), 100
	vcfg.ChainTimeout = 10 * time.Second
	vcfg.WeightsBackoff = 200 * time.Millisecond
	vcfg.Filter.OnePerIP = false // every miner listens on 127.0.0.1
	d.vcfg = vcfg
	vst, err := store.OpenValidator(setup, filepath.Join(d.dir, "validator", store.ValidatorFile), vcfg.StoreConfig())
	if err != nil {
		return err
	}
	d.vst = vst
	d.onClose(func() { vst.Close() })
	v, err := validator.New(vcfg, validator.Deps{Chain: d.net.Chain, Hotkey: d.val.hot, Store: vst, Log: d.log})
	if err != nil {
		return err
	}
	d.v = v
	d.goRole(runCtx, "validator", v.Run)
	return nil
}

// startCanary starts the validator's canary leases when allocation is on
// and says in canaryNote why they are off otherwise.
func (d *Devnet) startCanary(runCtx context.Context) {
	switch {
	case !d.allocation:
		d.canaryNote = "; canary leases off (they need allocation)"
	case d.cfg.CanaryInterval < 0:
		d.canaryNote = "; canary leases off"
	default:
		cn, err := newCanary(d.cfg, d.net.Chain, d.v, d.vst, d.val, filepath.Join(d.dir, "validator"), d.log)
		if err != nil {
			d.canaryNote = fmt.Sprintf("; canary leases off (%v)", err)
			return
		}
		d.canaryOn = true
		d.canaryNote = fmt.Sprintf("; a canary lease checks each miner's specs every %s", d.cfg.CanaryInterval)
		d.goRole(runCtx, "canary", cn.Run)
	}
}

// printStart describes the running devnet.
func (d *Devnet) printStart() {
	cfg := d.cfg
	fmt.Fprintf(d.out, "devnet: dev chain %s blocks, tempo %d, netuid %d; validator %s; %d miners; allocation %s%s; data in %s%s\n",
		cfg.BlockTime, cfg.Tempo, Netuid, d.val.hot.SS58Address(), len(d.nodes), d.mode, d.canaryNote, d.dir, d.dirNote)
	if cfg.Liar {
		fmt.Fprintf(d.out, "devnet: the miner Liar claims %d CPUs; its leases get 1\n", LiarCPUs)
	}
	fmt.Fprintf(d.out, "devnet: a challenge round every %d-%d blocks, weights every %d blocks; %s\n",
		d.vcfg.ChallengeMinBlocks, d.vcfg.ChallengeMaxBlocks, d.vcfg.WeightsEvery, stopHint(cfg.Terminal))
	if d.api != nil {
		u := d.api.URL()
		fmt.Fprintf(d.out, "devnet: renter API and dashboard at %s/ (read endpoints public; %s/openapi.json describes them)\n", u, u)
		if d.apiKey != "" {
			fmt.Fprintf(d.out, "devnet: API key (scopes read, rent): %s\n", d.apiKey)
			fmt.Fprintf(d.out, "devnet: rent a miner: curl -H 'Authorization: Bearer %s' -H \"Idempotency-Key: $(date +%%s)\" "+
				`-H 'Content-Type: application/json' -d "{\"requirement\":{\"cpu\":{\"count\":1},\"ram\":{\"capacity\":1073741824}},`+
				`\"timeline\":1,\"ssh_keys\":[\"$(cat ~/.ssh/id_ed25519.pub)\"]}" %s/v1/rentals`+"\n", d.apiKey, u)
		}
	}
}

// watch prints the summary every Refresh (in a log, only when it changed)
// and records the history, until ctx ends or a component fails; it returns
// that failure.
func (d *Devnet) watch(ctx, setup context.Context) error {
	tick := time.NewTicker(d.cfg.Refresh)
	defer tick.Stop()
	lastRounds, lastWeights := -1, uint64(0)
	d.hist = newHistory(d.nodes)
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-d.errs:
			return err
		case <-tick.C:
		}
		res := d.snapshot(setup)
		b, _ := d.net.Chain.Block(setup)
		changed := res.Rounds != lastRounds || res.WeightsBlock != lastWeights
		if changed && res.Rounds > 0 {
			d.hist.add(b, res)
		}
		if d.cfg.Terminal {
			fmt.Fprint(d.out, "\033[H\033[2J")
			fmt.Fprintf(d.out, "devnet (Ctrl-C to stop) - allocation %s\n", d.mode)
		} else if !changed {
			continue // a log file gets a line only when something changed
		}
		lastRounds, lastWeights = res.Rounds, res.WeightsBlock
		printTable(d.out, fmt.Sprintf("block %d, %d rounds, %s", b, res.Rounds, weightsNote(res)), res, !d.cfg.Terminal)
	}
}

// report takes the final snapshot, prints the final leaderboard and the
// canary's verdicts, writes the plot and returns runErr with a plot failure.
func (d *Devnet) report(setup context.Context, runErr error) error {
	res := d.snapshot(setup)
	if res.Rounds > 0 {
		if b, err := d.net.Chain.Block(setup); err == nil {
			d.hist.add(b, res)
		}
	}
	res.History = d.hist
	d.result = res
	out := d.out
	fmt.Fprintln(out)
	printTable(out, fmt.Sprintf("final leaderboard after %d rounds (%s)", res.Rounds, weightsNote(res)), res, false)
	if res.WeightsBlock == 0 {
		fmt.Fprintln(out, "no weights reached the dev chain yet: let it run longer (--duration)")
	} else {
		fmt.Fprintln(out, "SCORE is the validator's normalised score, WEIGHT its L1 share, ON-CHAIN that weight as the u16 the dev chain holds")
		fmt.Fprintln(out, "(committed encrypted, then revealed by the chain when commit-reveal is on, as on finney), and INCENTIVE what the")
		fmt.Fprintln(out, "dev chain's last epoch computed from the weights on chain.")
	}
	printCanary(out, res, d.cfg.Liar)
	if d.cfg.Plot != "" {
		if err := d.hist.WritePlot(d.cfg.Plot); err != nil {
			return errors.Join(runErr, err)
		}
		fmt.Fprintf(out, "plot written to %s (%d samples: score and incentive of every miner by block)\n", d.cfg.Plot, len(d.hist.Samples))
	}
	return runErr
}

// snapshot is the leaderboard now.
func (d *Devnet) snapshot(ctx context.Context) *Result {
	return snapshot(ctx, d.net.Chain, d.v, d.vst, d.val.hot.SS58Address(), d.nodes, d.allocation, d.canaryOn)
}

func stopHint(terminal bool) string {
	if terminal {
		return "Ctrl-C stops it"
	}
	return "a line per change; Ctrl-C or --duration stops it"
}

func weightsNote(res *Result) string {
	lw := res.LastWeights
	switch {
	case res.WeightsBlock == 0 || lw == nil:
		return "no weights on chain yet"
	case lw.Mode != store.WeightsModeCommit:
		return fmt.Sprintf("weights on the dev chain set at block %d", lw.Block)
	case lw.Status == store.WeightsStatusRevealed:
		return fmt.Sprintf("weights committed at block %d, revealed by the chain at block %d", lw.Block, lw.RevealedBlock)
	default:
		return fmt.Sprintf("weights committed at block %d, reveal due at block %d (beacon round %d)", lw.Block, lw.RevealBlock, lw.RevealRound)
	}
}

func newNode(dir, name string, delay time.Duration, bad bool) (*node, error) {
	cold, err := wallet.FromURI("//" + name)
	if err != nil {
		return nil, err
	}
	hot, err := wallet.FromURI("//" + name + "//hotkey")
	if err != nil {
		return nil, err
	}
	w := wallet.New(filepath.Join(dir, "wallets"), strings.ToLower(name), "default")
	if err := w.WriteColdkey(cold, "", true); err != nil {
		return nil, fmt.Errorf("dev wallet %s: %w", name, err)
	}
	if err := w.WriteHotkey(hot, true); err != nil {
		return nil, fmt.Errorf("dev wallet %s: %w", name, err)
	}
	return &node{name: name, cold: cold, hot: hot, delay: delay, bad: bad}, nil
}

// throttled answers after a fixed delay on top of the CPU solve; a bad
// one returns a wrong password of the right length.
type throttled struct {
	pow.Solver
	delay time.Duration
	bad   bool
}

func newSolver(n *node) (pow.Solver, error) {
	s, err := cpu.New(cpu.Options{Workers: 1})
	if err != nil {
		return nil, err
	}
	return &throttled{Solver: s, delay: n.delay, bad: n.bad}, nil
}

func (t *throttled) Solve(ctx context.Context, job *pow.Job) (string, error) {
	if t.bad {
		return strings.Repeat("?", len(job.Charsets)), nil
	}
	select {
	case <-ctx.Done():
		return "", ctx.Err()
	case <-time.After(t.delay):
	}
	return t.Solver.Solve(ctx, job)
}

func snapshot(ctx context.Context, c *devchain.Chain, v *validator.Validator, vst *store.Validator, self string, nodes []*node, allocation, canaryOn bool) *Result {
	st := v.State()
	res := &Result{WeightsBlock: st.WeightsBlock, LastWeights: st.LastWeights, Rounds: st.Rounds, Allocation: allocation, Canary: canaryOn}
	verdicts, _ := vst.CanaryStatuses(ctx)
	byHot := map[string]validator.MinerState{}
	for _, m := range st.Miners {
		byHot[m.Hotkey] = m
	}
	inc := map[string]float64{}
	uid := map[string]uint16{}
	if mg, err := c.Metagraph(ctx, Netuid); err == nil {
		for _, n := range mg.Neurons {
			inc[n.Hotkey], uid[n.Hotkey] = n.Incentive, n.UID
		}
	}
	// The validator's row as the chain holds it: set in the clear, or
	// revealed by the chain from a commit.
	onChain := map[uint16]uint16{}
	if me, ok := uid[self]; ok {
		if us, ws, err := c.Weights(ctx, Netuid, me); err == nil {
			for i, u := range us {
				onChain[u] = ws[i]
			}
		}
	}
	for _, n := range nodes {
		hk := n.hot.SS58Address()
		m := byHot[hk]
		res.Rows = append(res.Rows, Row{Name: n.name, UID: uid[hk], Hotkey: hk, Score: m.Score, Weight: m.Weight,
			OnChain: onChain[uid[hk]], Incentive: inc[hk], Result: m.Result, Diff: m.Difficulty, Elapsed: m.Elapsed,
			Successes: m.Successes, Attempts: m.Attempts, Penalised: m.Penalised, Liar: n.liar})
		r := &res.Rows[len(res.Rows)-1]
		if vd, ok := verdicts[hk]; ok {
			r.Verified, r.Reason, r.Detail = vd.State, vd.Reason, vd.Detail
			if runs, err := vst.CanaryRuns(ctx, hk, 1); err == nil && len(runs) > 0 {
				r.Login = runs[0].LoginTime
			}
		}
	}
	sort.SliceStable(res.Rows, func(i, j int) bool { return res.Rows[i].Score > res.Rows[j].Score })
	return res
}

func printTable(w io.Writer, title string, res *Result, compact bool) {
	if compact {
		var parts []string
		for _, r := range res.Rows {
			if r.Attempts == 0 && r.Result == "" {
				parts = append(parts, fmt.Sprintf("%s(uid %d) not challenged yet", r.Name, r.UID))
				continue
			}
			p := fmt.Sprintf("%s(uid %d) d=%d %s %.2fs score=%.3f w=%.3f inc=%.3f",
				r.Name, r.UID, r.Diff, r.Result, r.Elapsed.Seconds(), r.Score, r.Weight, r.Incentive)
			if res.Canary {
				p += " verified=" + strings.ReplaceAll(r.verdict(), " ", "")
			}
			parts = append(parts, p)
		}
		fmt.Fprintf(w, "%s: %s\n", title, strings.Join(parts, "; "))
		return
	}
	fmt.Fprintln(w, title)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	head := "RANK\tMINER\tUID\tDIFFICULTY\tLAST\tTIME\tSOLVED\tSCORE\tWEIGHT\tON-CHAIN\tINCENTIVE"
	if res.Canary {
		head += "\tVERIFIED"
	}
	fmt.Fprintln(tw, head)
	for i, r := range res.Rows {
		fmt.Fprintf(tw, "%d\t%s\t%d\t%d\t%s\t%.2fs\t%d/%d\t%.4f\t%.4f\t%d\t%.4f", i+1, r.Name, r.UID, r.Diff, r.Result,
			r.Elapsed.Seconds(), r.Successes, r.Attempts, r.Score, r.Weight, r.OnChain, r.Incentive)
		if res.Canary {
			fmt.Fprintf(tw, "\t%s", r.verdict())
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
}

// liarDeps makes the lying miner: specs with LiarCPUs CPUs and, when it
// offers leases, a Docker client that gives every lease one CPU. The
// returned function closes that client.
func liarDeps(d *miner.Deps, cfg miner.Config) (func(), error) {
	col, err := specs.New(specs.Config{DataDir: cfg.DataDir, ProbeBytes: -1,
		HasDocker: func(context.Context) bool { return cfg.Allocation }})
	if err != nil {
		return nil, err
	}
	d.Specs = lyingSpecs{real: col}
	if !cfg.Allocation {
		return func() {}, nil
	}
	dc, err := lyingDocker()
	if err != nil {
		return nil, err
	}
	d.Docker = dc
	return func() { dc.Close() }, nil
}

// newCanary sets up the canary leases of the devnet's validator, as
// `compute validator` runs them beside its loop: its store and hotkey, the
// miners it or the shared records hold left alone, but a short interval
// and quick ticks.
func newCanary(cfg Config, c *devchain.Chain, v *validator.Validator, vst *store.Validator, val *node, dataDir string, log *slog.Logger) (*canary.Canary, error) {
	r, err := renter.New(renter.Config{Netuid: Netuid, DataDir: dataDir, CheckTimeout: 10 * time.Second,
		AllocateTimeout: 90 * time.Second, KeyBits: 2048}, renter.Deps{Meta: c, Store: vst, Signer: val.hot, Log: log})
	if err != nil {
		return nil, err
	}
	cc := canary.DefaultConfig()
	cc.Netuid, cc.DataDir = Netuid, dataDir
	cc.Interval, cc.RetryAfter, cc.Tick = cfg.CanaryInterval, max(cfg.CanaryInterval/4, 10*time.Second), 2*time.Second
	cc.Timeout, cc.LoginTimeout = 2*time.Minute, 60*time.Second
	cc.MaxDisk = 1 << 30 // every miner shares this machine's disk
	return canary.New(cc, canary.Deps{Meta: c, Store: vst, Leaser: r, Self: val.hot.SS58Address(), Allocated: v.Allocated, Log: log})
}

// verdict is the VERIFIED cell: yes, no (reason), pending, or - (never checked).
func (r Row) verdict() string {
	switch r.Verified {
	case "":
		return "-"
	case store.CanaryVerified:
		return "yes"
	case store.CanaryFailed:
		return "no (" + r.Reason + ")"
	}
	return r.Verified
}

// printCanary ends the summary with the canary's verdicts: each miner
// caught with its reason code, each verified one with its
// Allocate-to-login time, and whether the liar was caught.
func printCanary(w io.Writer, res *Result, liar bool) {
	if !res.Canary {
		if liar {
			fmt.Fprintln(w, "liar: not checked (canary leases need allocation: dockerd and the lease image, --image)")
		}
		return
	}
	for _, r := range res.Rows {
		switch r.Verified {
		case store.CanaryFailed:
			fmt.Fprintf(w, "canary: %s (uid %d) caught: %s: %s", r.Name, r.UID, r.Reason, r.Detail)
			if r.Penalised {
				fmt.Fprint(w, "; its score is cut")
			}
			fmt.Fprintln(w)
		case store.CanaryVerified:
			fmt.Fprintf(w, "canary: %s (uid %d) verified; allocate to login %s\n", r.Name, r.UID, r.Login.Round(time.Millisecond))
		case "":
			fmt.Fprintf(w, "canary: %s (uid %d) not checked yet\n", r.Name, r.UID)
		default:
			fmt.Fprintf(w, "canary: %s (uid %d) %s (%s)\n", r.Name, r.UID, r.Verified, r.Reason)
		}
	}
	for _, r := range res.Rows {
		if !r.Liar {
			continue
		}
		if r.Verified == store.CanaryFailed {
			fmt.Fprintf(w, "liar caught: %s (uid %d) marked unverified with reason %s\n", r.Name, r.UID, r.Reason)
		} else {
			fmt.Fprintf(w, "liar NOT caught yet: %s (uid %d) is %s; let it run longer (--duration)\n", r.Name, r.UID, r.verdict())
		}
	}
}
