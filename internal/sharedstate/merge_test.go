package sharedstate

import (
	"slices"
	"testing"

	"github.com/sn27/compute/internal/chain"
)

func TestMerge(t *testing.T) {
	mg := &chain.Metagraph{Netuid: 27, Block: 1000, Neurons: []chain.Neuron{
		{UID: 0, Hotkey: "valA", ValidatorPermit: true, StakeRao: 600},
		{UID: 1, Hotkey: "valB", ValidatorPermit: true, StakeRao: 300},
		{UID: 2, Hotkey: "valC", ValidatorPermit: true, StakeRao: 100},
		{UID: 3, Hotkey: "nopermit", StakeRao: 5000},
		{UID: 4, Hotkey: "m4", BlockAtRegistered: 10},
		{UID: 5, Hotkey: "m5", BlockAtRegistered: 10},
		{UID: 6, Hotkey: "m6-new", BlockAtRegistered: 900}, // re-registered after B's record
	}}
	sources := []Source{
		{Validator: "valA", UID: 0, StakeRao: 600, Record: Record{Block: 950, Leased: []uint16{4}, Penalised: []uint16{5, 6}}},
		{Validator: "valB", UID: 1, StakeRao: 300, Record: Record{Block: 800, Leased: []uint16{6, 99}, Penalised: []uint16{4}}},
		{Validator: "valC", UID: 2, StakeRao: 100, Record: Record{Block: 10, Leased: []uint16{5}}},          // too old
		{Validator: "nopermit", UID: 3, StakeRao: 5000, Record: Record{Block: 999, Penalised: []uint16{4}}}, // no permit
		{Validator: "valB", UID: 2, StakeRao: 300, Record: Record{Block: 999}},                              // uid/hotkey mismatch
		{Validator: "valC", UID: 2, StakeRao: 100, Record: Record{Block: 2000}},                             // future
		{Validator: "valB", UID: 1, StakeRao: 300, Record: Record{Block: 1000 + FutureSlack}},               // a node a little ahead
	}
	v := Merge(MergeConfig{MaxAge: 500, PenaltyShare: 0.5}, mg, sources)
	if v.Used != 3 || len(v.Problems) != 4 {
		t.Fatalf("used %d, problems %+v", v.Used, v.Problems)
	}
	if got := v.Allocated[4]; len(got) != 1 || got[0] != "valA" {
		t.Errorf("uid 4 allocated by %v", got)
	}
	if len(v.Allocated[6]) != 0 || len(v.Allocated[5]) != 0 || len(v.Allocated[99]) != 0 {
		t.Errorf("allocated %v: a re-registered, stale or missing uid inherited a lease", v.Allocated)
	}
	// A holds 60% of the permitted stake: its penalty on 5 counts; 6 was
	// registered after... A's record (950 > 900), so it counts too; B's 30%
	// on 4 does not reach half.
	if !v.Penalised[5] || !v.Penalised[6] || v.Penalised[4] || v.PenaltyShare[4] != 0.3 {
		t.Errorf("penalised %v, shares %v", v.Penalised, v.PenaltyShare)
	}
	hk := v.AllocatedHotkeys(mg)
	if !hk["m4"] || len(hk) != 1 {
		t.Errorf("allocated hotkeys %v", hk)
	}
}

func TestPublisher(t *testing.T) {
	var p Publisher
	a := Record{Block: 100, Leased: []uint16{1}}
	if !p.Due(a, 100, 10) {
		t.Fatal("first record not due")
	}
	p.Published(a, 100)
	same := Record{Block: 200, Leased: []uint16{1}}
	changed := Record{Block: 105, Leased: []uint16{1, 2}}
	for _, tc := range []struct {
		name  string
		rec   Record
		block uint64
		want  bool
	}{
		{"unchanged is never due", same, 500, false},
		{"changed within the tempo waits", changed, 105, false},
		{"changed after a tempo", changed, 110, true},
	} {
		if got := p.Due(tc.rec, tc.block, 10); got != tc.want {
			t.Errorf("%s: due %v", tc.name, got)
		}
	}
	var fresh Publisher
	fresh.Seed(a)
	if fresh.Due(same, 1000, 10) {
		t.Error("a restarted publisher republished an unchanged record")
	}
	var empty Publisher
	if empty.Due(Record{Block: 5}, 5, 10) {
		t.Error("an empty first record is due")
	}
	refresh := Publisher{RefreshAfter: 300}
	refresh.Published(a, 100)
	if refresh.Due(same, 399, 10) || !refresh.Due(same, 400, 10) {
		t.Error("an unchanged record is not refreshed after 300 blocks")
	}
	if last, ok := refresh.Last(); !ok || !last.Equal(a) {
		t.Errorf("last = %+v, %v", last, ok)
	}
}

func TestMergeProblemKinds(t *testing.T) {
	mg := &chain.Metagraph{Netuid: 1, Block: 100, Neurons: []chain.Neuron{
		{UID: 0, Hotkey: "v", ValidatorPermit: true, StakeRao: 1},
		{UID: 1, Hotkey: "w", StakeRao: 1},
	}}
	v := Merge(MergeConfig{MaxAge: 10}, mg, []Source{
		{Validator: "v", UID: 0, Record: Record{Block: 50}},
		{Validator: "v", UID: 0, Record: Record{Block: 100 + FutureSlack + 1}},
		{Validator: "w", UID: 1, Record: Record{Block: 100}},
	})
	var kinds []string
	for _, p := range v.Problems {
		kinds = append(kinds, p.Kind)
	}
	if want := []string{DropStale, DropFuture, DropNoPermit}; !slices.Equal(kinds, want) {
		t.Errorf("kinds %v, want %v", kinds, want)
	}
}
