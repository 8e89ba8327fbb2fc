package validator

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/sn27/compute/internal/chain"
	"github.com/sn27/compute/internal/score"
	"github.com/sn27/compute/internal/sharedstate"
)

// SharedConfig sets the allocation and penalty state validators share
// through the chain (package sharedstate, docs/shared-state.md).
type SharedConfig struct {
	// Publish turns on publishing this validator's record as its
	// commitment (true). Reading the others' records is always on.
	Publish bool
	// MaxAgeBlocks: records older than this are dropped (21600, 3 days);
	// an unchanged record is published again at half this age.
	MaxAgeBlocks uint64
	// PenaltyShare: a miner counts as penalised when validators holding more
	// than this share of the permitted stake penalise it (0.5).
	PenaltyShare float64
	// Penalty is the fraction of its score a penalised miner loses (1: all),
	// the same cut whether the miner failed this validator's own checks or
	// the shared state penalises it.
	Penalty float64
}

// DefaultSharedConfig: publish, records up to 3 days old, penalties by more
// than half of the stake, and a penalised miner loses its whole score.
func DefaultSharedConfig() SharedConfig {
	d := sharedstate.DefaultMergeConfig()
	return SharedConfig{Publish: true, MaxAgeBlocks: d.MaxAge, PenaltyShare: d.PenaltyShare, Penalty: 1}
}

// Validate names the flag of the first setting that cannot work.
func (c SharedConfig) Validate() error {
	switch {
	case c.MaxAgeBlocks < 1:
		return errors.New("flag 'validator.shared.age.blocks' must be at least 1")
	case !(c.PenaltyShare >= 0 && c.PenaltyShare < 1):
		return fmt.Errorf("flag 'validator.shared.penalty.share' must be in [0, 1), got %v", c.PenaltyShare)
	case !(c.Penalty >= 0 && c.Penalty <= 1):
		return fmt.Errorf("flag 'validator.shared.penalty' must be in [0, 1], got %v", c.Penalty)
	}
	return nil
}

// PenaltySource reports the miners this validator penalises on its own
// evidence (the canary leases' failures): hotkey -> reason code.
// *store.Validator implements it (its failed canary verdicts), and is used
// when Deps.Penalties is nil. These miners go into this validator's
// published record; they, and the miners the shared state penalises, lose
// cfg.Shared.Penalty of their score in applyPenalties, the one place a
// penalty is applied.
type PenaltySource interface {
	Unverified(ctx context.Context) (map[string]string, error)
}

// SharedStatus is the shared state as the validator last read it.
type SharedStatus struct {
	ReadBlock uint64 // block of the last read (0: never)
	// Used records merged; Dropped records read but not used.
	Used, Dropped int
	// Allocated and Penalised count the uids the merged records hold.
	Allocated, Penalised int
	// Published is the block of this validator's last published record
	// (0: none yet); PublishError the last failure, if any.
	Published    uint64
	PublishError string
}

// sharedLoop is the shared-state part of the loop state, owned by Run.
type sharedLoop struct {
	pub      sharedstate.Publisher
	seeded   bool
	view     *sharedstate.View
	viewMG   *chain.Metagraph // the metagraph view was merged at
	problems map[string]string
	// lastCounts are the last read's records, dropped, allocated and
	// penalised counts (logged at info level when they change).
	lastCounts [4]int
	logged     bool
}

// syncShared reads and merges every permitted validator's record, then
// publishes this validator's own record when it is due. Failures are logged;
// the loop goes on with the last view.
func (v *Validator) syncShared(ctx context.Context) {
	sh := &v.shared
	if sh.problems == nil {
		sh.problems = map[string]string{}
		sh.pub.RefreshAfter = max(v.cfg.Shared.MaxAgeBlocks/2, 1)
	}
	mg := v.mg
	cfg := sharedstate.MergeConfig{MaxAge: v.cfg.Shared.MaxAgeBlocks, PenaltyShare: v.cfg.Shared.PenaltyShare}
	view, err := call(ctx, v, func(c context.Context) (sharedstate.View, error) { return sharedstate.Read(c, v.chain, mg, cfg) })
	if err != nil {
		v.metrics.Shared.Reads.WithLabelValues("failed").Inc()
		v.log.Warn("reading the validators' shared state failed; keeping the last view", "err", err)
	} else {
		v.metrics.Shared.Reads.WithLabelValues("ok").Inc()
		sh.view, sh.viewMG = &view, mg
		v.setSharedAllocated(view.AllocatedHotkeys(mg))
		v.logSharedView(view)
	}
	if v.cfg.Shared.Publish {
		v.publishShared(ctx)
	}
}

// logSharedView logs the read, and each record dropped: a new or changed
// problem as a warning, the same problem again at debug level.
func (v *Validator) logSharedView(view sharedstate.View) {
	sh := &v.shared
	seen := map[string]bool{}
	for _, p := range view.Problems {
		v.metrics.Shared.Dropped.WithLabelValues(p.Kind).Inc()
		seen[p.Validator] = true
		lvl := v.log.Warn
		if sh.problems[p.Validator] == p.Reason {
			lvl = v.log.Debug
		}
		sh.problems[p.Validator] = p.Reason
		lvl("shared-state record ignored", "validator", p.Validator, "kind", p.Kind, "reason", p.Reason)
	}
	for hk := range sh.problems {
		if !seen[hk] {
			delete(sh.problems, hk)
		}
	}
	v.metrics.Shared.Used.Add(float64(view.Used))
	v.metrics.Shared.Allocated.Set(float64(len(view.Allocated)))
	v.metrics.Shared.Penalised.Set(float64(len(view.Penalised)))
	// Info when the counts change, debug while they stay the same.
	counts := [4]int{view.Used, len(view.Problems), len(view.Allocated), len(view.Penalised)}
	lvl := v.log.Debug
	if !sh.logged || counts != sh.lastCounts {
		lvl = v.log.Info
	}
	sh.logged, sh.lastCounts = true, counts
	lvl("shared state read", "block", view.Block, "records", view.Used, "dropped", len(view.Problems),
		"allocated", len(view.Allocated), "penalised", len(view.Penalised))
	v.setState(func(s *State) {
		s.Shared.ReadBlock, s.Shared.Used, s.Shared.Dropped = view.Block, view.Used, len(view.Problems)
		s.Shared.Allocated, s.Shared.Penalised = len(view.Allocated), len(view.Penalised)
	})
}

// ownRecord is what this validator would publish at the current block: the
// uids of its unexpired allocations and of the miners it penalises itself.
func (v *Validator) ownRecord(ctx context.Context) (sharedstate.Record, error) {
	rec := sharedstate.Record{Block: v.block}
	alloc, err := v.store.Allocated(ctx, v.now())
	if err != nil {
		return rec, err
	}
	pen, err := v.ownPenalties(ctx)
	if err != nil {
		return rec, err
	}
	for _, n := range v.mg.Neurons {
		if alloc[n.Hotkey] {
			rec.Leased = append(rec.Leased, n.UID)
		}
		if pen[n.Hotkey] {
			rec.Penalised = append(rec.Penalised, n.UID)
		}
	}
	return rec.Normalize(), nil
}

func (v *Validator) ownPenalties(ctx context.Context) (map[string]bool, error) {
	if v.penalties == nil {
		return nil, nil
	}
	pen, err := v.penalties.Unverified(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the miners this validator penalises: %w", err)
	}
	out := make(map[string]bool, len(pen))
	for hk := range pen {
		out[hk] = true
	}
	return out, nil
}

// publishShared commits this validator's record when it changed (at most
// once per tempo) or is about to age out. Only a permitted validator
// publishes: the others' records are not read.
func (v *Validator) publishShared(ctx context.Context) {
	sh := &v.shared
	me := v.mg.ByHotkey(v.self)
	if me == nil || !me.ValidatorPermit {
		return
	}
	if !sh.seeded {
		// After a restart, what is already on chain need not be sent again.
		cm, err := call(ctx, v, func(c context.Context) (*chain.Commitment, error) {
			return v.chain.Commitment(c, v.cfg.Netuid, v.self)
		})
		switch {
		case err == nil:
			if rec, err := sharedstate.Decode(cm.Data); err == nil {
				sh.pub.Seed(rec)
			}
		case !errors.Is(err, chain.ErrNotFound):
			v.log.Warn("reading this validator's published record failed", "err", err)
			return
		}
		sh.seeded = true
	}
	rec, err := v.ownRecord(ctx)
	if err != nil {
		v.log.Warn("shared-state record not built", "err", err)
		return
	}
	tempo := uint16(360)
	if v.hyper != nil && v.hyper.Tempo > 0 {
		tempo = v.hyper.Tempo
	}
	if !sh.pub.Due(rec, v.block, tempo) {
		return
	}
	data, err := rec.Encode()
	if err != nil {
		// More uids than the commitment holds: publish what fits, leases first.
		v.log.Warn("shared-state record truncated to fit the commitment", "leased", len(rec.Leased), "penalised", len(rec.Penalised), "err", err)
		rec, data = fitRecord(rec)
	}
	_, err = call(ctx, v, func(c context.Context) (struct{}, error) {
		return struct{}{}, v.chain.Commit(c, v.cfg.Netuid, v.hotkey, data)
	})
	if err != nil {
		v.metrics.Shared.Published.WithLabelValues("failed").Inc()
		v.log.Warn("publishing the shared-state record failed; retrying at the next status check", "block", v.block, "err", err)
		v.setState(func(s *State) { s.Shared.PublishError = err.Error() })
		return
	}
	sh.pub.Published(rec, v.block)
	v.metrics.Shared.Published.WithLabelValues("ok").Inc()
	v.log.Info("shared-state record published", "block", v.block, "leased", rec.Leased, "penalised", rec.Penalised, "bytes", len(data))
	v.setState(func(s *State) { s.Shared.Published, s.Shared.PublishError = v.block, "" })
}

// fitRecord drops penalised uids, then leased ones, from the end until the
// record encodes within the commitment's room.
func fitRecord(rec sharedstate.Record) (sharedstate.Record, []byte) {
	for {
		data, err := rec.Encode()
		if err == nil {
			return rec, data
		}
		if n := len(rec.Penalised); n > 0 {
			rec.Penalised = rec.Penalised[:n-1]
		} else {
			rec.Leased = rec.Leased[:len(rec.Leased)-1]
		}
	}
}

// withShared adds to alloc (this validator's own allocations, by hotkey) the
// miners a permitted validator's record leases; alloc is not modified.
func (v *Validator) withShared(alloc map[string]bool) map[string]bool {
	sh := &v.shared
	if sh.view == nil {
		return alloc
	}
	out := make(map[string]bool, len(alloc)+len(sh.view.Allocated))
	for hk, ok := range alloc {
		out[hk] = ok
	}
	// By the hotkeys of the metagraph the view was merged at: a uid that
	// changed hands since keeps no bit.
	for hk := range sh.view.AllocatedHotkeys(sh.viewMG) {
		out[hk] = true
	}
	return out
}

// penalisedHotkeys is the union of this validator's own penalties and the
// shared state's.
func (v *Validator) penalisedHotkeys(ctx context.Context) map[string]bool {
	own, err := v.ownPenalties(ctx)
	if err != nil {
		v.log.Warn("penalties not applied this time", "err", err)
	}
	out := make(map[string]bool, len(own))
	for hk, ok := range own {
		if ok {
			out[hk] = true
		}
	}
	if sh := &v.shared; sh.view != nil {
		for hk := range sh.view.PenalisedHotkeys(sh.viewMG) {
			out[hk] = true
		}
	}
	return out
}

// applyPenalties cuts cfg.Shared.Penalty of the score of every penalised
// miner and normalises the weights again.
func applyPenalties(cfg Config, rows []WeightRow, penalised map[string]bool) []WeightRow {
	if len(penalised) == 0 || cfg.Shared.Penalty == 0 {
		return rows
	}
	rows = slices.Clone(rows)
	scores := make([]float64, len(rows))
	for i := range rows {
		if penalised[rows[i].Hotkey] && rows[i].Skipped == "" {
			rows[i].Penalised = true
			rows[i].Score.Normalized *= 1 - cfg.Shared.Penalty
		}
		scores[i] = rows[i].Score.Normalized
	}
	w := score.Weights(scores)
	for i := range rows {
		rows[i].Weight = w[i]
	}
	return rows
}

// penaltySource is deps.Penalties, else the store when it keeps verdicts.
func penaltySource(deps Deps) PenaltySource {
	if deps.Penalties != nil {
		return deps.Penalties
	}
	if ps, ok := deps.Store.(PenaltySource); ok {
		return ps
	}
	return nil
}
