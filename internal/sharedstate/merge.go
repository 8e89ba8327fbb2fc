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
	Validator string `json:"validator"`
	// Kind is a short code for metrics: one of the Drop* constants.
	Kind   string `json:"kind"`
	Reason string `json:"reason"`
}

// Kinds of Problem.
const (
	DropNotRecord = "not_record" // the commitment holds something else
	DropMalformed = "malformed"  // a record that does not decode (oversized included)
	DropNoPermit  = "no_permit"  // the publisher is not a permitted validator
	DropFuture    = "future"     // the record's block is after the head
	DropStale     = "stale"      // older than MergeConfig.MaxAge
)

// ReadAll reads the records of every permitted validator of mg (self
// included, so that its own published state counts like the others').
// A validator without a commitment is skipped; one whose commitment is not a
// valid record (another use of the commitment, garbage, or a malformed or
// oversized record) is reported as a Problem, never used. Chain errors other than
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
		if err != nil {
			kind := DropMalformed
			if errors.Is(err, ErrNotRecord) {
				kind = DropNotRecord
			}
			problems = append(problems, Problem{Validator: n.Hotkey, Kind: kind,
				Reason: fmt.Sprintf("%v (%d bytes at block %d)", err, len(cm.Data), cm.Block)})
			continue
		}
		out = append(out, Source{Validator: n.Hotkey, UID: n.UID, StakeRao: n.StakeRao, Record: rec})
	}
	return out, problems, nil
}

// FutureSlack is how many blocks ahead of the reader's head a record may be:
// the publisher's node may be a little ahead of the reader's.
const FutureSlack = 10

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
	// Used counts the records merged (Sources holds them); Problems lists
	// the records dropped.
	Used     int
	Sources  []Source
	Problems []Problem
}

// Read reads every permitted validator's record on mg's subnet and merges
// them: ReadAll's problems come first in the View's Problems.
func Read(ctx context.Context, c chain.Chain, mg *chain.Metagraph, cfg MergeConfig) (View, error) {
	sources, problems, err := ReadAll(ctx, c, mg)
	if err != nil {
		return View{}, err
	}
	v := Merge(cfg, mg, sources)
	v.Problems = append(problems, v.Problems...)
	return v, nil
}

// PenalisedHotkeys returns the hotkeys of the penalised uids in mg.
func (v View) PenalisedHotkeys(mg *chain.Metagraph) map[string]bool {
	out := map[string]bool{}
	for _, n := range mg.Neurons {
		if v.Penalised[n.UID] {
			out[n.Hotkey] = true
		}
	}
	return out
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
// block: records from validators without a permit, from the future (beyond
// FutureSlack) or older than MaxAge are dropped, and so are bits for uids
// that do not exist or were registered after the record's block (a new
// miner does not inherit its predecessor's lease or penalty).
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
			v.Problems = append(v.Problems, Problem{s.Validator, DropNoPermit, "not a permitted validator of the subnet"})
			continue
		case s.Record.Block > mg.Block+FutureSlack:
			v.Problems = append(v.Problems, Problem{s.Validator, DropFuture, fmt.Sprintf("record block %d is after the head %d", s.Record.Block, mg.Block)})
			continue
		case cfg.MaxAge > 0 && mg.Block > s.Record.Block && mg.Block-s.Record.Block > cfg.MaxAge:
			v.Problems = append(v.Problems, Problem{s.Validator, DropStale, fmt.Sprintf("record of block %d is older than %d blocks", s.Record.Block, cfg.MaxAge)})
			continue
		}
		v.Used++
		v.Sources = append(v.Sources, s)
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
// changed, and at most once per tempo. An unchanged record is published
// again once it is RefreshAfter blocks old (when RefreshAfter > 0), so that
// readers dropping old records keep seeing a long lease. An empty record is
// never the first one published: there is nothing to withdraw.
type Publisher struct {
	// RefreshAfter is the age, in blocks, at which an unchanged record is
	// published again (0: never).
	RefreshAfter uint64

	last      *Record
	lastBlock uint64
}

// Due reports whether rec should be published at block, given the tempo.
func (p *Publisher) Due(rec Record, block uint64, tempo uint16) bool {
	if p.last == nil {
		return len(rec.Leased) > 0 || len(rec.Penalised) > 0
	}
	if block < p.lastBlock+uint64(tempo) {
		return false
	}
	if !p.last.Equal(rec) {
		return true
	}
	return p.RefreshAfter > 0 && block >= p.lastBlock+p.RefreshAfter
}

// Published records that rec went on chain at block.
func (p *Publisher) Published(rec Record, block uint64) {
	r := rec.Normalize()
	p.last, p.lastBlock = &r, block
}

// Seed tells a fresh Publisher what is already on chain (after a restart),
// so an unchanged record is not published again.
func (p *Publisher) Seed(rec Record) { p.Published(rec, rec.Block) }

// Last returns the last record published or seeded, if any.
func (p *Publisher) Last() (Record, bool) {
	if p.last == nil {
		return Record{}, false
	}
	return *p.last, true
}
