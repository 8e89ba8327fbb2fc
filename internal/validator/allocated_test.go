package validator

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/sn27/compute/internal/store"
)

// TestAllocationRecordedByRenterCounts: an allocation written to the
// validator's store (what `compute allocate` does, in the same file) gives
// that miner the allocated branch in the running loop and a larger weight
// than its identical twin; once released the branch goes away.
func TestAllocationRecordedByRenterCounts(t *testing.T) {
	n := newTestNet(t, 100*time.Millisecond, 10)
	rented := mustKey(t, "//Rented//hot")
	twin := mustKey(t, "//Twin//hot")
	n.addMiner("Rented", startAxon(t, rented, cpuSolve(t, 0)))
	n.addMiner("Twin", startAxon(t, twin, cpuSolve(t, 0)))
	err := n.store.SaveAllocation(n.ctx, store.Allocation{Hotkey: rented.SS58Address(),
		Details: json.RawMessage(`{"resource":"test"}`), CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	v, err := New(n.config(), Deps{Chain: n.chain, Hotkey: n.val, Store: n.store, Log: testLog()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(n.ctx)
	done := make(chan error, 1)
	go func() { done <- v.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	miner := func(hk string) MinerState {
		for _, m := range v.State().Miners {
			if m.Hotkey == hk {
				return m
			}
		}
		return MinerState{}
	}
	waitFor(t, 20*time.Second, "weights with both miners scored", func() bool {
		return v.State().WeightsSets >= 1 && miner(twin.SS58Address()).Score > 0
	})
	r, tw := miner(rented.SS58Address()), miner(twin.SS58Address())
	if !r.Allocated || tw.Allocated {
		t.Fatalf("allocated flags: rented %v, twin %v", r.Allocated, tw.Allocated)
	}
	if !(r.Score > tw.Score && r.Weight > tw.Weight) {
		t.Fatalf("rented score %v weight %v, twin score %v weight %v: the allocation does not count", r.Score, r.Weight, tw.Score, tw.Weight)
	}
	if _, err := n.store.DeleteAllocation(n.ctx, rented.SS58Address()); err != nil {
		t.Fatal(err)
	}
	rounds := v.State().Rounds
	waitFor(t, 20*time.Second, "the release to be seen", func() bool {
		return v.State().Rounds > rounds && !miner(rented.SS58Address()).Allocated
	})
}
