package validator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sn27/compute/internal/chain"
	"github.com/sn27/compute/internal/score"
	"github.com/sn27/compute/internal/store"
	"github.com/sn27/compute/internal/version"
	"github.com/sn27/compute/internal/wire"
)

// Store is everything the validator loop needs from its history;
// *store.Validator implements it.
type Store interface {
	HistoryReader
	ResultWriter
	SpecsStore
	WeightsLog
}

// Hotkey signs weights (chain) and requests (dendrite); *wallet.Keypair
// implements it.
type Hotkey interface {
	chain.Signer
}

// Deps are the validator's collaborators.
type Deps struct {
	Chain  chain.Chain // required
	Hotkey Hotkey      // required: the registered validator hotkey
	Store  Store       // required
	// Dendrite is built from Hotkey when nil.
	Dendrite *wire.Dendrite
	// Registry receives the validator's metrics (a private one when nil).
	Registry prometheus.Registerer
	// Log defaults to slog.Default().
	Log *slog.Logger
	// Tables, when set, receives the per-round and weights tables as text;
	// otherwise their rows are logged one line each.
	Tables io.Writer
	// Now defaults to time.Now.
	Now func() time.Time
	// Penalties, when set, names the miners this validator penalises on its
	// own evidence (see PenaltySource).
	Penalties PenaltySource
	// Gate is held by each challenge round and weights submission, so that a
	// restart for an update waits for them (nil: none).
	Gate Gate
}

// ErrDeregistered is returned by Run when the validator's hotkey no longer
// holds a uid on the subnet.
var ErrDeregistered = errors.New("validator hotkey is not registered on the subnet")

// Validator runs the validator role. Run's goroutine owns the loop state;
// State may be called from any goroutine.
type Validator struct {
	cfg     Config
	chain   chain.Chain
	hotkey  Hotkey
	self    string
	store   Store
	d       *wire.Dendrite
	metrics *Metrics
	log     *slog.Logger
	tables  io.Writer
	now     func() time.Time
	rng     *rand.Rand

	// Loop state, owned by Run.
	mg            *chain.Metagraph
	hyper         *chain.Hyperparameters
	block         uint64
	nextChallenge uint64
	lastSpecs     uint64
	lastStatus    uint64
	lastPrune     uint64
	lastWeights   uint64 // block of the last weights on chain (ours)
	weightsRetry  uint64 // earliest block for the next weights attempt
	lastNetVer    uint32
	lastDiff      map[string]int // hotkey -> difficulty of the last challenge
	lastOutcome   map[string]Outcome
	weightsSets   int
	pending       []store.WeightsRecord // our commits not yet seen revealed
	shared        sharedLoop
	penalties     PenaltySource
	gate          Gate

	mu    sync.Mutex // guards state and sharedAlloc
	state State
	// sharedAlloc: the miners other validators' shared records lease, as
	// last read (the canary's Allocated reads it from its own goroutine).
	sharedAlloc map[string]bool
}

// State is a snapshot of what the validator knows, for dashboards.
type State struct {
	Block        uint64
	Rounds       int
	LastRound    time.Time
	LastDuration time.Duration
	WeightsBlock uint64 // block of the last weights this validator set (0: none yet)
	WeightsSets  int    // successful set_weights or commits since start
	WeightsError string // last set_weights error, if the last attempt failed
	// LastWeights is the latest submission (plain or committed) and, for a
	// commit, whether the chain has revealed it; nil before the first.
	LastWeights *store.WeightsRecord
	Miners      []MinerState
	// Shared is the state shared through the chain, as last read.
	Shared SharedStatus
}

// MinerState is one uid's line in State.
type MinerState struct {
	UID        uint16
	Hotkey     string
	Difficulty int           // of its last challenge
	Result     string        // of its last challenge
	Elapsed    time.Duration // of its last challenge
	Attempts   int           // in the stats window
	Successes  int           // in the stats window
	Score      float64       // normalised score
	Weight     float64       // last computed weight
	Allocated  bool          // by this validator's store or a permitted validator's shared record
	Penalised  bool          // by this validator's own checks or the shared state
	Skipped    Exclusion
}

// New checks cfg and deps and returns a validator ready to Run.
func New(cfg Config, deps Deps) (*Validator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Chain == nil || deps.Hotkey == nil || deps.Store == nil {
		return nil, errors.New("validator: chain, hotkey and store are required")
	}
	log := deps.Log
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", "validator")
	d := deps.Dendrite
	if d == nil {
		var err error
		d, err = wire.NewDendrite(wire.DendriteConfig{Signer: deps.Hotkey, Logger: log,
			MaxConcurrency:   max(cfg.ChallengeBatchSize, cfg.SpecsBatchSize),
			MaxResponseBytes: MaxAnswerBytes})
		if err != nil {
			return nil, fmt.Errorf("validator: dendrite: %w", err)
		}
	}
	reg := deps.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m, err := NewMetrics(reg)
	if err != nil {
		return nil, err
	}
	now := deps.Now
	if now == nil {
		now = time.Now
	}
	return &Validator{
		cfg: cfg, chain: deps.Chain, hotkey: deps.Hotkey, self: deps.Hotkey.SS58Address(),
		store: deps.Store, d: d, metrics: m, log: log, tables: deps.Tables, now: now,
		rng:         rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
		penalties:   penaltySource(deps),
		gate:        deps.Gate,
		lastDiff:    map[string]int{},
		lastOutcome: map[string]Outcome{},
	}, nil
}

// State returns a copy of the latest snapshot.
func (v *Validator) State() State {
	v.mu.Lock()
	defer v.mu.Unlock()
	s := v.state
	s.Miners = slices.Clone(s.Miners)
	return s
}

// call runs one chain call with the chain deadline.
func call[T any](ctx context.Context, v *Validator, f func(context.Context) (T, error)) (T, error) {
	cctx, cancel := context.WithTimeout(ctx, v.cfg.ChainTimeout)
	defer cancel()
	return f(cctx)
}

// Run is the block-driven loop: it returns nil when ctx ends (after the
// round in flight finished or hit its deadline), or an error when the
// validator cannot go on (not registered).
func (v *Validator) Run(ctx context.Context) error {
	n, err := call(ctx, v, func(c context.Context) (*chain.Neuron, error) {
		return v.chain.NeuronByHotkey(c, v.cfg.Netuid, v.self)
	})
	if errors.Is(err, chain.ErrNotRegistered) {
		return fmt.Errorf("%w: hotkey %s on netuid %d; register it first (compute register)", ErrDeregistered, v.self, v.cfg.Netuid)
	}
	if err != nil {
		return fmt.Errorf("validator: look up own neuron: %w", err)
	}
	v.lastWeights = n.LastUpdate
	if err := v.loadWeightsLog(ctx); err != nil {
		v.log.Warn("reading the weights log failed; a weights interval may repeat", "err", err)
	}
	v.log.Info("validator starting", "hotkey", v.self, "uid", n.UID, "netuid", v.cfg.Netuid,
		"stake", n.Stake, "version", version.String)

	blocks := v.watchBlocks(ctx)
	var roundDone chan RoundReport
	var specsDone chan []SpecsOutcome
	defer func() {
		// Children observe ctx; wait for them so nothing outlives Run.
		if roundDone != nil {
			v.afterRound(ctx, <-roundDone)
		}
		if specsDone != nil {
			<-specsDone
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case b, ok := <-blocks:
			if !ok {
				return nil
			}
			if err := v.onBlock(ctx, b, &roundDone, &specsDone); err != nil {
				return err
			}
		case rep := <-roundDone:
			roundDone = nil
			v.afterRound(ctx, rep)
		case outs := <-specsDone:
			specsDone = nil
			v.afterSpecs(outs)
		}
	}
}

// watchBlocks feeds the newest block number; a slow loop sees only the
// latest. Every wait has a deadline, and errors are retried with backoff.
func (v *Validator) watchBlocks(ctx context.Context) <-chan uint64 {
	out := make(chan uint64, 1)
	deliver := func(b uint64) {
		select {
		case out <- b:
		default:
			select {
			case <-out:
			default:
			}
			out <- b
		}
	}
	go func() {
		defer close(out)
		var last uint64
		backoff := time.Second
		first := true
		for ctx.Err() == nil {
			var b uint64
			var err error
			wctx, cancel := context.WithTimeout(ctx, 2*v.cfg.ChainTimeout)
			if first {
				b, err = v.chain.Block(wctx)
			} else {
				b, err = v.chain.WaitBlock(wctx, last)
			}
			cancel()
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				v.log.Warn("waiting for a new block failed; retrying", "after", last, "err", err, "retry_in", backoff)
				select {
				case <-ctx.Done():
					return
				case <-time.After(backoff):
				}
				backoff = min(2*backoff, 30*time.Second)
				continue
			}
			backoff, first = time.Second, false
			if b > last {
				last = b
				deliver(b)
			}
		}
	}()
	return out
}

// onBlock runs whatever is due at block b.
func (v *Validator) onBlock(ctx context.Context, b uint64, roundDone *chan RoundReport, specsDone *chan []SpecsOutcome) error {
	v.block = b
	v.metrics.Block.Set(float64(b))
	v.setState(func(s *State) { s.Block = b })

	challengeDue := *roundDone == nil && b >= v.nextChallenge
	specsDue := v.cfg.PerformHardwareQuery && *specsDone == nil && (v.lastSpecs == 0 || b >= v.lastSpecs+v.cfg.SpecsEvery)
	statusDue := v.mg == nil || b >= v.lastStatus+v.cfg.StatusEvery
	weightsDue := b >= v.weightsRetry && b >= v.lastWeights+v.weightsInterval()
	pruneDue := b >= v.lastPrune+v.cfg.PruneEvery
	revealDue := len(v.pending) > 0 && b >= v.pending[0].RevealBlock
	if !(challengeDue || specsDue || statusDue || weightsDue || pruneDue || revealDue) {
		return nil
	}
	if err := v.syncMetagraph(ctx); err != nil {
		v.log.Warn("metagraph sync failed; tasks wait for the next block", "block", b, "err", err)
		return nil
	}
	if statusDue {
		if err := v.status(ctx); err != nil {
			return err
		}
	}
	if pruneDue {
		v.lastPrune = b
		if n, err := v.store.Prune(ctx, v.now()); err != nil {
			v.log.Warn("history retention failed", "err", err)
		} else if n > 0 {
			v.log.Info("history retention applied", "deleted", n)
		}
	}
	if challengeDue {
		*roundDone = v.startRound(ctx, b)
	}
	if specsDue {
		v.lastSpecs = b
		*specsDone = v.startSpecs(ctx)
	}
	if weightsDue {
		if release, ok := v.hold(ctx); ok {
			v.setWeights(ctx, b)
			release()
		}
	}
	if revealDue {
		v.checkReveals(ctx, b)
	}
	return nil
}

// weightsInterval is the configured interval, never below the chain's rate limit.
func (v *Validator) weightsInterval() uint64 {
	iv := v.cfg.WeightsEvery
	if v.hyper != nil && v.hyper.WeightsRateLimit > iv {
		iv = v.hyper.WeightsRateLimit
	}
	return iv
}

func (v *Validator) syncMetagraph(ctx context.Context) error {
	mg, err := call(ctx, v, func(c context.Context) (*chain.Metagraph, error) { return v.chain.Metagraph(c, v.cfg.Netuid) })
	if err != nil {
		return err
	}
	v.mg = mg
	if n := mg.ByHotkey(v.self); n != nil && n.LastUpdate > v.lastWeights {
		v.lastWeights = n.LastUpdate
	}
	return nil
}

// status checks registration, purges replaced miners, refreshes the
// hyperparameters and compares versions.
func (v *Validator) status(ctx context.Context) error {
	v.lastStatus = v.block
	if v.mg.ByHotkey(v.self) == nil {
		return fmt.Errorf("%w: hotkey %s left netuid %d at block %d", ErrDeregistered, v.self, v.cfg.Netuid, v.block)
	}
	hp, err := call(ctx, v, func(c context.Context) (*chain.Hyperparameters, error) {
		return v.chain.Hyperparameters(c, v.cfg.Netuid)
	})
	if err != nil {
		v.log.Warn("reading hyperparameters failed", "err", err)
	} else {
		v.hyper = hp
		if hp.WeightsVersionKey > v.cfg.VersionKey {
			v.log.Error("the subnet requires a newer weights version key than this build sends; update compute",
				"required", hp.WeightsVersionKey, "sent", v.cfg.VersionKey)
		}
	}
	current := make(map[uint16]string, len(v.mg.Neurons))
	for _, n := range v.mg.Neurons {
		current[n.UID] = n.Hotkey
	}
	gone, err := v.store.PurgeReplaced(ctx, current)
	if err != nil {
		v.log.Warn("purging deregistered miners failed", "err", err)
	}
	for _, hk := range gone {
		delete(v.lastDiff, hk)
		delete(v.lastOutcome, hk)
		v.log.Info("miner deregistered: history purged", "hotkey", hk)
	}
	if nv := NetworkVersion(v.mg, v.cfg.Filter.UpdatedThreshold); nv > version.Int && nv != v.lastNetVer {
		v.log.Warn("most of the network runs a newer version than this validator; update compute",
			"network_version", nv, "own_version", version.Int)
		v.lastNetVer = nv
	}
	v.syncShared(ctx)
	return nil
}

// startRound selects the miners and starts a challenge round in a goroutine.
func (v *Validator) startRound(ctx context.Context, b uint64) chan RoundReport {
	v.nextChallenge = b + v.cfg.ChallengeMinBlocks + v.rng.Uint64N(v.cfg.ChallengeMaxBlocks-v.cfg.ChallengeMinBlocks+1)
	sel := SelectQueryable(v.cfg, v.mg, v.self)
	v.metrics.Excluded.Reset()
	for _, why := range sel.Excluded {
		v.metrics.Excluded.WithLabelValues(string(why)).Inc()
	}
	if len(sel.Queryable) == 0 {
		v.log.Info("no queryable miner this round", "block", b, "excluded", sel.ExcludedSummary(), "next_round", v.nextChallenge)
		return nil
	}
	stats, err := v.store.Stats(ctx, v.now())
	if err != nil {
		v.log.Warn("reading history failed; challenging at the minimum difficulty", "err", err)
		stats = nil
	}
	v.log.Info("challenge round", "block", b, "miners", len(sel.Queryable), "excluded", sel.ExcludedSummary(),
		"updated_percent", fmt.Sprintf("%.0f", sel.UpdatedPercent), "version_filtered", sel.VersionFiltered,
		"next_round", v.nextChallenge)
	release, ok := v.hold(ctx)
	if !ok {
		return nil
	}
	done := make(chan RoundReport, 1)
	miners := sel.Queryable
	go func() {
		defer release()
		rep := RoundReport{Block: b, Started: v.now()}
		cpu0 := cpuTime()
		t0 := time.Now()
		rep.Outcomes = ChallengeRound(ctx, v.cfg, v.d, miners, stats)
		rep.RoundID, rep.Err = storeRound(ctx, v.store, b, rep.Started, rep.Outcomes)
		rep.Duration, rep.CPU = time.Since(t0), cpuTime()-cpu0
		done <- rep
	}()
	return done
}

// afterRound records metrics, logs the round table and refreshes State.
func (v *Validator) afterRound(ctx context.Context, rep RoundReport) {
	v.metrics.RoundDuration.Observe(rep.Duration.Seconds())
	v.metrics.RoundCPU.Observe(rep.CPU.Seconds())
	v.metrics.MinersQueried.Set(float64(len(rep.Outcomes)))
	for _, o := range rep.Outcomes {
		v.metrics.Challenges.WithLabelValues(o.Result).Inc()
		v.lastDiff[o.Hotkey] = o.Difficulty
		v.lastOutcome[o.Hotkey] = o
	}
	if rep.Err != nil {
		v.log.Error("challenge round not stored", "block", rep.Block, "err", rep.Err)
	} else {
		v.metrics.Rounds.Inc()
	}
	v.log.Info("challenge round done", "block", rep.Block, "miners", len(rep.Outcomes), "successes", rep.Successes(),
		"duration", rep.Duration.Round(time.Millisecond), "cpu", rep.CPU.Round(time.Millisecond), "round_id", rep.RoundID)
	v.writeRoundTable(rep)
	v.setState(func(s *State) {
		s.Rounds++
		s.LastRound, s.LastDuration = rep.Started, rep.Duration
	})
	if ctx.Err() == nil {
		v.refreshScores(ctx)
	}
	// A round that brings the first scores should not wait a whole interval.
	if v.weightsSets == 0 && v.weightsRetry > v.block {
		v.weightsRetry = v.block
	}
}

func (v *Validator) startSpecs(ctx context.Context) chan []SpecsOutcome {
	sel := SelectQueryable(v.cfg, v.mg, v.self)
	if len(sel.Queryable) == 0 {
		return nil
	}
	done := make(chan []SpecsOutcome, 1)
	miners := sel.Queryable
	go func() { done <- SpecsRound(ctx, v.cfg, v.d, v.store, miners, v.now()) }()
	return done
}

func (v *Validator) afterSpecs(outs []SpecsOutcome) {
	counts := map[string]int{}
	for _, o := range outs {
		v.metrics.Specs.WithLabelValues(o.Result).Inc()
		counts[o.Result]++
		if o.Result != SpecsStored {
			v.log.Debug("specs not stored", "uid", o.UID, "hotkey", o.Hotkey, "result", o.Result, "detail", o.Detail)
		}
	}
	v.log.Info("specs query done", "miners", len(outs), "stored", counts[SpecsStored], "missing", counts[SpecsMissing], "invalid", counts[SpecsInvalid])
}

// refreshScores recomputes every score from the store and publishes State.
func (v *Validator) refreshScores(ctx context.Context) {
	rows, stats, alloc, err := v.weights(ctx)
	if err != nil {
		v.log.Warn("reading history failed", "err", err)
		return
	}
	v.publish(rows, stats, alloc)
}

// weights recomputes every miner's weight from the store's history and
// allocations (ours and those other validators share), with penalties
// applied. It fails only when the history cannot be read; allocations that
// cannot be read are logged and count as none.
func (v *Validator) weights(ctx context.Context) ([]WeightRow, map[string]score.Stats, map[string]bool, error) {
	stats, err := v.store.Stats(ctx, v.now())
	if err != nil {
		return nil, nil, nil, err
	}
	alloc, err := v.store.Allocated(ctx, v.now())
	if err != nil {
		v.log.Warn("reading allocations failed; scores and weights count no allocation", "err", err)
	}
	alloc = v.withShared(alloc)
	rows := applyPenalties(v.cfg, ComputeWeights(v.cfg, v.mg, v.self, stats, alloc), v.penalisedHotkeys(ctx))
	return rows, stats, alloc, nil
}

func (v *Validator) publish(rows []WeightRow, stats map[string]score.Stats, alloc map[string]bool) {
	miners := make([]MinerState, 0, len(rows))
	for _, r := range rows {
		st := stats[r.Hotkey]
		o := v.lastOutcome[r.Hotkey]
		miners = append(miners, MinerState{
			UID: r.UID, Hotkey: r.Hotkey, Difficulty: v.lastDiff[r.Hotkey], Result: o.Result, Elapsed: o.Elapsed,
			Attempts: st.Attempts, Successes: st.Successes, Score: r.Score.Normalized, Weight: r.Weight,
			Allocated: alloc[r.Hotkey], Penalised: r.Penalised, Skipped: r.Skipped,
		})
	}
	v.setState(func(s *State) { s.Miners = miners })
}

// setWeights computes the weights at block b and sends them as the chain
// asks: set in the clear, or committed for the chain to reveal.
func (v *Validator) setWeights(ctx context.Context, b uint64) {
	rows, stats, alloc, err := v.weights(ctx)
	if err != nil {
		v.log.Warn("reading history failed; weights wait", "err", err)
		v.weightsRetry = b + 1
		return
	}
	v.publish(rows, stats, alloc)
	sent, err := SendWeights(ctx, v.cfg, v.chain, v.hotkey, rows, v.now, nil)
	var limited *RateLimitedError
	switch {
	case errors.Is(err, ErrNoWeights):
		v.metrics.WeightsSet.WithLabelValues("skipped").Inc()
		v.log.Info("weights not set: no miner has a score yet", "block", b)
		// Try again after the next round (afterRound pulls it forward).
		v.weightsRetry = b + v.cfg.ChallengeMaxBlocks
	case errors.As(err, &limited):
		// Our last weights are more recent than we knew (another process, or a
		// restart): wait for the chain's limit, without a failed attempt.
		v.metrics.WeightsSet.WithLabelValues("skipped").Inc()
		v.weightsRetry = limited.Until
		v.log.Info("weights wait for the chain's rate limit", "block", b, "next_block", limited.Until)
	case errors.Is(err, chain.ErrNoValidatorPermit):
		// A new or lightly staked validator: the chain grants permits by stake at each epoch.
		v.metrics.WeightsSet.WithLabelValues("failed").Inc()
		v.weightsRetry = b + max(v.cfg.WeightsEvery/4, 1)
		v.log.Warn("weights not set: no validator permit yet (the chain grants permits by stake at each epoch)",
			"block", b, "retry_block", v.weightsRetry)
		v.setState(func(s *State) { s.WeightsError = err.Error() })
	case err != nil:
		v.metrics.WeightsSet.WithLabelValues("failed").Inc()
		retry := max(v.cfg.WeightsEvery/4, 1)
		v.weightsRetry = b + retry
		v.log.Error("setting weights failed", "block", b, "mode", sent.Mode, "err", err, "retry_block", v.weightsRetry)
		v.setState(func(s *State) { s.WeightsError = err.Error() })
	default:
		v.metrics.WeightsSet.WithLabelValues("ok").Inc()
		v.lastWeights, v.weightsRetry = max(b, sent.Block), 0
		v.weightsSets++
		rec := v.recordWeights(ctx, sent)
		if sent.Mode == store.WeightsModeCommit {
			v.metrics.Commits.Inc()
			v.log.Info("weights committed", "commit_block", sent.Block, "reveal_round", sent.RevealRound,
				"expected_reveal_block", sent.RevealBlock, "version_key", v.cfg.VersionKey)
		} else {
			v.log.Info("weights set", "block", sent.Block, "version_key", v.cfg.VersionKey)
		}
		v.setState(func(s *State) {
			s.WeightsBlock, s.WeightsError = v.lastWeights, ""
			s.WeightsSets++
			s.LastWeights = &rec
		})
		v.writeWeightsTable(sent, rows)
	}
}

// recordWeights logs a submission in the store (a failure is only logged:
// the weights are on chain either way) and tracks a commit until revealed.
func (v *Validator) recordWeights(ctx context.Context, sent Sent) store.WeightsRecord {
	rec := store.WeightsRecord{
		Netuid: v.cfg.Netuid, Hotkey: v.self, Mode: sent.Mode, Block: sent.Block,
		RevealRound: sent.RevealRound, RevealBlock: sent.RevealBlock, UIDs: sent.UIDs, Weights: sent.Weights,
		VersionKey: v.cfg.VersionKey, Status: store.WeightsStatusSet, CreatedAt: v.now(),
	}
	if sent.Mode == store.WeightsModeCommit {
		rec.Status = store.WeightsStatusPending
	}
	id, err := v.store.RecordWeights(ctx, rec)
	if err != nil {
		v.log.Warn("recording the weights in the store failed", "err", err)
		return rec
	}
	rec.ID = id
	if rec.Status == store.WeightsStatusPending {
		v.pending = append(v.pending, rec)
	}
	return rec
}

// loadWeightsLog restores, after a restart, the block of our last weights
// (so that an interval is not sent twice) and the commits awaiting reveal.
func (v *Validator) loadWeightsLog(ctx context.Context) error {
	last, err := v.store.LastWeights(ctx, v.cfg.Netuid, v.self)
	if err != nil {
		return err
	}
	if last != nil {
		v.lastWeights = max(v.lastWeights, last.Block)
		v.setState(func(s *State) { s.LastWeights = last; s.WeightsBlock = last.Block })
	}
	v.pending, err = v.store.PendingWeights(ctx, v.cfg.Netuid, v.self)
	return err
}

// revealGrace is how long after its expected reveal block a commit may
// still show up on chain before it counts as missed.
func (v *Validator) revealGrace() uint64 {
	tempo := uint64(360)
	if v.hyper != nil && v.hyper.Tempo > 0 {
		tempo = uint64(v.hyper.Tempo)
	}
	return 2*(tempo+1) + 10
}

// checkReveals reads our weights back from the chain for every commit whose
// reveal block has come, and records whether the chain revealed it.
func (v *Validator) checkReveals(ctx context.Context, b uint64) {
	me := v.mg.ByHotkey(v.self)
	if me == nil {
		return
	}
	type row struct{ uids, ws []uint16 }
	got, err := call(ctx, v, func(c context.Context) (row, error) {
		u, w, err := v.chain.Weights(c, v.cfg.Netuid, me.UID)
		return row{u, w}, err
	})
	if err != nil {
		v.log.Warn("reading our weights back from the chain failed", "err", err)
		return
	}
	// The chain applies due commits in order, so the row shows the latest
	// revealed one; earlier commits due by then were applied and replaced.
	matched := -1
	for i, rec := range v.pending {
		if b >= rec.RevealBlock && sameWeights(got.uids, got.ws, rec.UIDs, rec.Weights) {
			matched = i
		}
	}
	keep := make([]store.WeightsRecord, 0, len(v.pending))
	for i, rec := range v.pending {
		status := ""
		switch {
		case i == matched:
			status = store.WeightsStatusRevealed
		case matched >= 0 && i < matched && rec.RevealBlock <= v.pending[matched].RevealBlock:
			status = store.WeightsStatusSuperseded
		case b > rec.RevealBlock+v.revealGrace():
			status = store.WeightsStatusMissed
		}
		if status == "" {
			keep = append(keep, rec)
			continue
		}
		v.metrics.Reveals.WithLabelValues(status).Inc()
		if err := v.store.MarkWeights(ctx, rec.ID, status, b); err != nil {
			v.log.Warn("recording the reveal failed", "err", err)
		}
		rec.Status, rec.RevealedBlock = status, b
		switch status {
		case store.WeightsStatusRevealed:
			v.log.Info("committed weights revealed by the chain", "commit_block", rec.Block, "reveal_round", rec.RevealRound,
				"expected_reveal_block", rec.RevealBlock, "seen_at_block", b, "uids", len(rec.UIDs))
		case store.WeightsStatusSuperseded:
			v.log.Debug("committed weights replaced by a later commit revealed with them", "commit_block", rec.Block,
				"expected_reveal_block", rec.RevealBlock)
		default:
			v.log.Warn("committed weights were not revealed in time", "commit_block", rec.Block, "reveal_round", rec.RevealRound,
				"expected_reveal_block", rec.RevealBlock, "block", b)
		}
		v.setState(func(s *State) {
			if s.LastWeights != nil && s.LastWeights.ID == rec.ID {
				r := rec
				s.LastWeights = &r
			}
		})
	}
	v.pending = keep
}

// sameWeights reports whether the chain's row holds exactly the weights sent.
func sameWeights(chainUIDs, chainWs, uids, ws []uint16) bool {
	if len(chainUIDs) != len(chainWs) {
		return false
	}
	have := make(map[uint16]uint16, len(chainUIDs))
	for i, u := range chainUIDs {
		if chainWs[i] != 0 {
			have[u] = chainWs[i]
		}
	}
	n := 0
	for i, u := range uids {
		if ws[i] == 0 {
			continue
		}
		if have[u] != ws[i] {
			return false
		}
		n++
	}
	return n == len(have)
}

func (v *Validator) setState(f func(*State)) {
	v.mu.Lock()
	defer v.mu.Unlock()
	f(&v.state)
}

// MaxAnswerBytes bounds one miner's answer as the validator reads it. Honest
// answers (a password, a specs report, allocation credentials) are a few KB;
// with a whole batch of miners answering at once, the bound keeps a hostile
// batch from holding hundreds of MiB of the validator's memory.
const MaxAnswerBytes = 1 << 20
