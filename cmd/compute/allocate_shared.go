package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"

	"github.com/sn27/compute/internal/chain"
	"github.com/sn27/compute/internal/sharedstate"
)

// sharedHolder is a validator whose shared record leases a miner.
type sharedHolder struct {
	UID         uint16 `json:"uid"`
	Hotkey      string `json:"hotkey"`
	RecordBlock uint64 `json:"record_block"`
}

// sharedAllocation is one leased miner and who holds it.
type sharedAllocation struct {
	UID        uint16         `json:"uid"`
	Hotkey     string         `json:"hotkey"`
	Validators []sharedHolder `json:"validators"`
}

// sharedListing is `compute allocate list --all`: the merged state of the
// subnet's shared records at a block.
type sharedListing struct {
	Netuid      uint16                `json:"netuid"`
	Block       uint64                `json:"block"`
	Records     int                   `json:"records"`
	Allocations []sharedAllocation    `json:"allocations"`
	Penalised   []uint16              `json:"penalised"`
	Ignored     []sharedstate.Problem `json:"ignored"`
}

// readShared reads the subnet's metagraph and every permitted validator's
// shared record, merged with the validators' defaults (records up to
// maxAge blocks old).
func readShared(ctx context.Context, c chain.Chain, netuid uint16, maxAge uint64) (*chain.Metagraph, sharedstate.View, error) {
	mg, err := c.Metagraph(ctx, netuid)
	if err != nil {
		return nil, sharedstate.View{}, fmt.Errorf("read metagraph of netuid %d: %w", netuid, err)
	}
	cfg := sharedstate.DefaultMergeConfig()
	cfg.MaxAge = maxAge
	v, err := sharedstate.Read(ctx, c, mg, cfg)
	if err != nil {
		return nil, sharedstate.View{}, fmt.Errorf("read the validators' shared records on netuid %d: %w", netuid, err)
	}
	return mg, v, nil
}

// newSharedListing lays out a merged view by miner uid.
func newSharedListing(mg *chain.Metagraph, v sharedstate.View) sharedListing {
	l := sharedListing{Netuid: mg.Netuid, Block: v.Block, Records: v.Used, Ignored: v.Problems,
		Allocations: []sharedAllocation{}, Penalised: []uint16{}}
	if l.Ignored == nil {
		l.Ignored = []sharedstate.Problem{}
	}
	recordBlock := map[string]uint64{}
	for _, s := range v.Sources {
		recordBlock[s.Validator] = s.Record.Block
	}
	for _, n := range mg.Neurons {
		holders := v.Allocated[n.UID]
		if len(holders) > 0 {
			a := sharedAllocation{UID: n.UID, Hotkey: n.Hotkey}
			for _, hk := range holders {
				h := sharedHolder{Hotkey: hk, RecordBlock: recordBlock[hk]}
				if vn := mg.ByHotkey(hk); vn != nil {
					h.UID = vn.UID
				}
				a.Validators = append(a.Validators, h)
			}
			slices.SortFunc(a.Validators, func(x, y sharedHolder) int { return int(x.UID) - int(y.UID) })
			l.Allocations = append(l.Allocations, a)
		}
		if v.Penalised[n.UID] {
			l.Penalised = append(l.Penalised, n.UID)
		}
	}
	slices.SortFunc(l.Allocations, func(x, y sharedAllocation) int { return int(x.UID) - int(y.UID) })
	slices.Sort(l.Penalised)
	return l
}

func printSharedListing(w io.Writer, l sharedListing, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(l)
	}
	fmt.Fprintf(w, "Shared allocations on netuid %d at block %d: %d validator records read, %d ignored\n",
		l.Netuid, l.Block, l.Records, len(l.Ignored))
	if len(l.Allocations) == 0 {
		fmt.Fprintln(w, "no miner is leased according to the validators' records")
	} else {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "UID\tMINER\tVALIDATOR UID\tVALIDATOR\tRECORD BLOCK")
		for _, a := range l.Allocations {
			for _, h := range a.Validators {
				fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%d\n", a.UID, a.Hotkey, h.UID, h.Hotkey, h.RecordBlock)
			}
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(l.Penalised) > 0 {
		fmt.Fprintf(w, "penalised by more than half of the permitted stake: uids %v\n", l.Penalised)
	}
	for _, p := range l.Ignored {
		fmt.Fprintf(w, "ignored record of %s (%s): %s\n", p.Validator, p.Kind, p.Reason)
	}
	return nil
}
