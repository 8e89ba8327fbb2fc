package devnet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/sn27/compute/internal/canary"
	"github.com/sn27/compute/internal/chain/devchain"
	"github.com/sn27/compute/internal/config"
	"github.com/sn27/compute/internal/container"
	"github.com/sn27/compute/internal/miner"
	"github.com/sn27/compute/internal/pow"
	"github.com/sn27/compute/internal/pow/cpu"
	"github.com/sn27/compute/internal/renter"
	"github.com/sn27/compute/internal/specs"
	"github.com/sn27/compute/internal/store"
	"github.com/sn27/compute/internal/testnet"
	"github.com/sn27/compute/internal/validator"
	"github.com/sn27/compute/internal/wallet"
)

// Netuid is the devnet's subnet.
const Netuid = 1

// Config sizes the devnet.
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
	// Out receives the summary and the leaderboard; Log the components' logs.
	Out io.Writer
	Log *slog.Logger
}

func (c *Config) defaults() error {
	if c.Miners == 0 {
		c.Miners = 3
	}
	if c.Miners < 1 || c.Miners > 64 {
		return config.Errorf("devnet.Config.Miners", "must be between 1 and 64, got %d", c.Miners)
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
	if c.Out == nil {
		c.Out = io.Discard
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return checkPlotPath(c.Plot)
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

// Run builds the devnet, runs it until ctx ends, prints the final
// leaderboard and returns it.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	dir, dirNote := cfg.Dir, ""
	if dir == "" {
		tmp, err := os.MkdirTemp("", "compute-devnet-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(tmp)
		dir, dirNote = tmp, " (removed at the end; --data DIR keeps it)"
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("devnet directory: %w", err)
	}
	log := cfg.Log

	// Setup runs even when ctx is about to end; it is short.
	setup := context.WithoutCancel(ctx)
	p := testnet.Params()
	p.Tempo, p.WeightsRateLimit = cfg.Tempo, uint64(cfg.Tempo)/2
	p.CommitRevealEnabled = !cfg.PlainWeights
	p.ImmunityPeriod, p.ActivityCutoff = 10000, 10000
	p.BurnRao = devchain.RaoPerTAO / 100
	net, err := testnet.Open(setup, testnet.Config{
		Netuid: Netuid,
		Chain:  devchain.Config{Path: filepath.Join(dir, "devchain.db"), BlockTime: cfg.BlockTime, Log: log.With("component", "devchain")},
		Params: &p,
	})
	if err != nil {
		return nil, err
	}
	defer net.Close()
	c := net.Chain

	val, err := newNode(dir, "Validator", 0, false)
	if err != nil {
		return nil, err
	}
	nodes := []*node{}
	for i := 1; i <= cfg.Miners; i++ {
		n, err := newNode(dir, fmt.Sprintf("Miner%d", i), time.Duration(i-1)*cfg.Step, false)
		if err != nil {
			return nil, err
		}
		nodes = append(nodes, n)
	}
	if cfg.Bad {
		n, err := newNode(dir, "Bad", 0, true)
		if err != nil {
			return nil, err
		}
		nodes = append(nodes, n)
	}
	if cfg.Liar {
		n, err := newNode(dir, "Liar", 0, false)
		if err != nil {
			return nil, err
		}
		n.liar = true
		nodes = append(nodes, n)
	}
	for _, n := range append([]*node{val}, nodes...) {
		if err := net.Join(setup, n.cold, n.hot, 3000, 0); err != nil {
			return nil, fmt.Errorf("%s: %w", n.name, err)
		}
	}
	if st, err := c.Stake(setup, val.hot.SS58Address()); err != nil {
		return nil, err
	} else if st < 2000*devchain.RaoPerTAO {
		if err := c.AddStake(setup, val.cold, val.hot.SS58Address(), 2000*devchain.RaoPerTAO-st); err != nil {
			return nil, fmt.Errorf("stake the validator: %w", err)
		}
	}

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	errs := make(chan error, len(nodes)+2)
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := c.Run(runCtx); err != nil {
			errs <- fmt.Errorf("dev chain: %w", err)
		}
	}()
	// Stop order: validator and miners first (they use the chain), then the chain.
	var roles sync.WaitGroup
	defer func() {
		stop()
		roles.Wait()
		wg.Wait()
	}()

	for i, n := range nodes {
		solver, err := newSolver(n)
		if err != nil {
			return nil, err
		}
		mcfg := miner.Config{
			Netuid: Netuid, AxonIP: "127.0.0.1", AxonPort: 0, ExternalIP: "127.0.0.1",
			Solver: "cpu", Allocation: cfg.Allocation, SSHPort: 4444 + i, SSHBindIP: "127.0.0.1",
			DataDir: filepath.Join(dir, "miners", n.name), SyncInterval: 5 * time.Second,
			SpecsProbeBytes: -1, Policy: miner.PolicyConfig{UpdatedThreshold: 60},
			Image: cfg.Image,
		}
		mdeps := miner.Deps{Chain: c, Hotkey: n.hot, Solver: solver, Log: log.With("miner", n.name)}
		if n.liar {
			closeDocker, err := liarDeps(&mdeps, mcfg)
			if err != nil {
				return nil, err
			}
			defer closeDocker()
		}
		m, err := miner.New(mcfg, mdeps)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n.name, err)
		}
		n.m = m
		roles.Add(1)
		go func() {
			defer roles.Done()
			if err := m.Run(runCtx); err != nil && runCtx.Err() == nil {
				errs <- fmt.Errorf("%s: %w", n.name, err)
			}
		}()
		select {
		case <-m.Ready():
			n.allocation = m.AllocationEnabled()
		case err := <-errs:
			return nil, err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}

	if err := os.MkdirAll(filepath.Join(dir, "validator"), 0o700); err != nil {
		return nil, err
	}
	vcfg := validator.DefaultConfig()
	vcfg.Netuid = Netuid
	vcfg.Score.MinDifficulty, vcfg.Score.MaxDifficulty, vcfg.Score.Timeout = cfg.MinDifficulty, cfg.MaxDifficulty, cfg.Timeout
	vcfg.ChallengeMinBlocks, vcfg.ChallengeMaxBlocks = 4, 6
	vcfg.SpecsEvery, vcfg.StatusEvery, vcfg.WeightsEvery, vcfg.PruneEvery = 30, 10, uint64(cfg.Tempo), 100
	vcfg.ChainTimeout = 10 * time.Second
	vcfg.WeightsBackoff = 200 * time.Millisecond
	vcfg.Filter.OnePerIP = false // every miner listens on 127.0.0.1
	vst, err := store.OpenValidator(setup, filepath.Join(dir, "validator", validator.StoreFile), vcfg.StoreConfig())
	if err != nil {
		return nil, err
	}
	defer vst.Close()
	v, err := validator.New(vcfg, validator.Deps{Chain: c, Hotkey: val.hot, Store: vst, Log: log})
	if err != nil {
		return nil, err
	}
	roles.Add(1)
	go func() {
		defer roles.Done()
		if err := v.Run(runCtx); err != nil && runCtx.Err() == nil {
			errs <- fmt.Errorf("validator: %w", err)
		}
	}()

	allocation := len(nodes) > 0 && nodes[0].allocation
	mode := "off (dockerd not reachable or no lease image " + cfg.Image + ")"
	if !cfg.Allocation {
		mode = "off (--allocation=false)"
	} else if allocation {
		mode = "on (dockerd reachable)"
	}
	canaryNote := ""
	canaryOn := false
	switch {
	case !allocation:
		canaryNote = "; canary leases off (they need allocation)"
	case cfg.CanaryInterval < 0:
		canaryNote = "; canary leases off"
	default:
		cn, err := newCanary(cfg, c, v, vst, val, filepath.Join(dir, "validator"), log)
		if err != nil {
			canaryNote = fmt.Sprintf("; canary leases off (%v)", err)
			break
		}
		canaryOn = true
		canaryNote = fmt.Sprintf("; a canary lease checks each miner's specs every %s", cfg.CanaryInterval)
		roles.Add(1)
		go func() {
			defer roles.Done()
			if err := cn.Run(runCtx); err != nil && runCtx.Err() == nil {
				errs <- fmt.Errorf("canary: %w", err)
			}
		}()
	}
	fmt.Fprintf(cfg.Out, "devnet: dev chain %s blocks, tempo %d, netuid %d; validator %s; %d miners; allocation %s%s; data in %s%s\n",
		cfg.BlockTime, cfg.Tempo, Netuid, val.hot.SS58Address(), len(nodes), mode, canaryNote, dir, dirNote)
	if cfg.Liar {
		fmt.Fprintf(cfg.Out, "devnet: the miner Liar claims %d CPUs; its leases get 1\n", LiarCPUs)
	}
	fmt.Fprintf(cfg.Out, "devnet: a challenge round every %d-%d blocks, weights every %d blocks; %s\n",
		vcfg.ChallengeMinBlocks, vcfg.ChallengeMaxBlocks, vcfg.WeightsEvery, stopHint(cfg.Terminal))

	tick := time.NewTicker(cfg.Refresh)
	defer tick.Stop()
	var runErr error
	lastRounds, lastWeights := -1, uint64(0)
	hist := newHistory(nodes)
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case runErr = <-errs:
			break loop
		case <-tick.C:
			res := snapshot(setup, c, v, vst, val.hot.SS58Address(), nodes, allocation, canaryOn)
			b, _ := c.Block(setup)
			changed := res.Rounds != lastRounds || res.WeightsBlock != lastWeights
			if changed && res.Rounds > 0 {
				hist.add(b, res)
			}
			if cfg.Terminal {
				fmt.Fprint(cfg.Out, "\033[H\033[2J")
				fmt.Fprintf(cfg.Out, "devnet (Ctrl-C to stop) - allocation %s\n", mode)
			} else if !changed {
				continue // a log file gets a line only when something changed
			}
			lastRounds, lastWeights = res.Rounds, res.WeightsBlock
			printTable(cfg.Out, fmt.Sprintf("block %d, %d rounds, %s", b, res.Rounds, weightsNote(res)), res, !cfg.Terminal)
		}
	}
	stop()
	roles.Wait()
	res := snapshot(setup, c, v, vst, val.hot.SS58Address(), nodes, allocation, canaryOn)
	if res.Rounds > 0 {
		if b, err := c.Block(setup); err == nil {
			hist.add(b, res)
		}
	}
	res.History = hist
	fmt.Fprintln(cfg.Out)
	printTable(cfg.Out, fmt.Sprintf("final leaderboard after %d rounds (%s)", res.Rounds, weightsNote(res)), res, false)
	if res.WeightsBlock == 0 {
		fmt.Fprintln(cfg.Out, "no weights reached the dev chain yet: let it run longer (--duration)")
	} else {
		fmt.Fprintln(cfg.Out, "SCORE is the validator's normalised score, WEIGHT its L1 share, ON-CHAIN that weight as the u16 the dev chain holds")
		fmt.Fprintln(cfg.Out, "(committed encrypted, then revealed by the chain when commit-reveal is on, as on finney), and INCENTIVE what the")
		fmt.Fprintln(cfg.Out, "dev chain's last epoch computed from the weights on chain.")
	}
	printCanary(cfg.Out, res, cfg.Liar)
	if cfg.Plot != "" {
		if err := hist.WritePlot(cfg.Plot); err != nil {
			return res, errors.Join(runErr, err)
		}
		fmt.Fprintf(cfg.Out, "plot written to %s (%d samples: score and incentive of every miner by block)\n", cfg.Plot, len(hist.Samples))
	}
	return res, runErr
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
