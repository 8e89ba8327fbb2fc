package sharedstate

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/sn27/compute/internal/chain"
)

// Source is one validator's record as read from the chain.
type Source struct {
	Validator string // hotkey
	UID       uint16
	StakeRao  uint64
	Record    Record
}

// Problem is a record that was read but not used, and why; callers log it.
type Problem struct {
	Validator string
	Reason    string
}

// ReadAll reads the records of every permitted validator of mg (self
// included, so that its own published state counts like the others').
// A validator without a commitment is skipped; one whose commitment is not a
// valid record is reported as a Problem, never used. Chain errors other than
// "not found" stop the read.
func ReadAll(ctx context.Context, c chain.Chain, mg *chain.Metagraph) ([]Source, []Problem, error) {
	var (
		out      []Source
		problems []Problem
	)
	for _, n := range mg.Neurons {
		if !n.ValidatorPermit {
			continue
		}
		cm, err := c.Commitment(ctx, mg.Netuid, n.Hotkey)
		switch {
		case errors.Is(err, chain.ErrNotFound):
			continue
		case err != nil:
			return out, problems, fmt.Errorf("read the shared-state record of %s: %w", n.Hotkey, err)
		}
		rec, err := Decode(cm.Data)
		if errors.Is(err, ErrNotRecord) {
			continue // the commitment is used for something else
		}
		if err != nil {
			problems = append(problems, Problem{Validator: n.Hotkey, Reason: err.Error()})
			continue
		}
		out = append(out, Source{Validator: n.Hotkey, UID: n.UID, StakeRao: n.StakeRao, Record: rec})
	}
	return out, problems, nil
}

// MergeConfig sets how records are merged.
type MergeConfig struct {
	// MaxAge drops records whose block is more than MaxAge blocks old.
	MaxAge uint64
	// PenaltyShare: a uid counts as penalised when validators holding more
	// than this share of the permitted validators' stake penalise it.
	PenaltyShare float64
}

// DefaultMergeConfig: records up to 3 days old (21600 blocks of 12 s), and
// penalised by validators holding more than half of the stake.
func DefaultMergeConfig() MergeConfig {
	return MergeConfig{MaxAge: 21600, PenaltyShare: 0.5}
}

// View is the merged state of a subnet at a block.
type View struct {
	Block uint64
	// Allocated maps a leased uid to the validators whose records lease it.
	Allocated map[uint16][]string
	// PenaltyShare maps a uid to the share of permitted stake penalising it;
	// Penalised holds those above MergeConfig.PenaltyShare.
	PenaltyShare map[uint16]float64
	Penalised    map[uint16]bool
	// Used counts the records merged; Problems lists the records dropped.
	Used     int
	Problems []Problem
}

// AllocatedHotkeys returns the hotkeys of the allocated uids in mg.
func (v View) AllocatedHotkeys(mg *chain.Metagraph) map[string]bool {
	out := map[string]bool{}
	for _, n := range mg.Neurons {
		if len(v.Allocated[n.UID]) > 0 {
			out[n.Hotkey] = true
		}
	}
	return out
}

// Merge combines the records of permitted validators into a View at mg's
// block: records from validators without a permit, from the future or
// older than MaxAge are dropped, and so are bits for uids that do not exist
// or were registered after the record's block (a new miner does not inherit
// its predecessor's lease or penalty).
func Merge(cfg MergeConfig, mg *chain.Metagraph, sources []Source) View {
	v := View{Block: mg.Block, Allocated: map[uint16][]string{}, PenaltyShare: map[uint16]float64{}, Penalised: map[uint16]bool{}}
	byUID := make(map[uint16]*chain.Neuron, len(mg.Neurons))
	var totalStake float64
	for i := range mg.Neurons {
		n := &mg.Neurons[i]
		byUID[n.UID] = n
		if n.ValidatorPermit {
			totalStake += float64(n.StakeRao)
		}
	}
	penalty := map[uint16]float64{}
	for _, s := range sources {
		n := byUID[s.UID]
		switch {
		case n == nil || n.Hotkey != s.Validator || !n.ValidatorPermit:
			v.Problems = append(v.Problems, Problem{s.Validator, "not a permitted validator of the subnet"})
			continue
		case s.Record.Block > mg.Block:
			v.Problems = append(v.Problems, Problem{s.Validator, fmt.Sprintf("record block %d is after the head %d", s.Record.Block, mg.Block)})
			continue
		case cfg.MaxAge > 0 && mg.Block-s.Record.Block > cfg.MaxAge:
			v.Problems = append(v.Problems, Problem{s.Validator, fmt.Sprintf("record of block %d is older than %d blocks", s.Record.Block, cfg.MaxAge)})
			continue
		}
		v.Used++
		valid := func(uid uint16) bool {
			m := byUID[uid]
			return m != nil && m.BlockAtRegistered <= s.Record.Block
		}
		for _, u := range s.Record.Leased {
			if valid(u) && !slices.Contains(v.Allocated[u], s.Validator) {
				v.Allocated[u] = append(v.Allocated[u], s.Validator)
			}
		}
		for _, u := range s.Record.Penalised {
			if valid(u) {
				penalty[u] += float64(n.StakeRao)
			}
		}
	}
	for u, st := range penalty {
		share := 0.0
		if totalStake > 0 {
			share = st / totalStake
		}
		v.PenaltyShare[u] = share
		if share > cfg.PenaltyShare {
			v.Penalised[u] = true
		}
	}
	return v
}

// Publisher decides when a validator publishes its record: only when it
// changed, and at most once per tempo.
type Publisher struct {
	last      *Record
	lastBlock uint64
}

// Due reports whether rec should be published at block, given the tempo.
func (p *Publisher) Due(rec Record, block uint64, tempo uint16) bool {
	if p.last != nil && p.last.Equal(rec) {
		return false
	}
	return p.last == nil || block >= p.lastBlock+uint64(tempo)
}

// Published records that rec went on chain at block.
func (p *Publisher) Published(rec Record, block uint64) {
	r := rec.Normalize()
	p.last, p.lastBlock = &r, block
}

// Seed tells a fresh Publisher what is already on chain (after a restart),
// so an unchanged record is not published again.
func (p *Publisher) Seed(rec Record) { p.Published(rec, rec.Block) }
