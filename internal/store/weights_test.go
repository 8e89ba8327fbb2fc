package store

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestWeightsLog(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v.db")
	v, err := OpenValidator(ctx, path, DefaultValidatorConfig())
	if err != nil {
		t.Fatal(err)
	}
	at := time.UnixMilli(1_700_000_000_000)
	recs := []WeightsRecord{
		{Netuid: 27, Hotkey: "hk", Mode: WeightsModeSet, Block: 100, UIDs: []uint16{1, 2}, Weights: []uint16{65535, 100}, VersionKey: 142, Status: WeightsStatusSet, CreatedAt: at},
		{Netuid: 27, Hotkey: "hk", Mode: WeightsModeCommit, Block: 200, RevealRound: 9_000_000, RevealBlock: 560, UIDs: []uint16{1}, Weights: []uint16{65535}, VersionKey: 142, Status: WeightsStatusPending, CreatedAt: at},
		{Netuid: 27, Hotkey: "other", Mode: WeightsModeCommit, Block: 201, UIDs: []uint16{}, Weights: []uint16{}, Status: WeightsStatusPending, CreatedAt: at},
		{Netuid: 15, Hotkey: "hk", Mode: WeightsModeCommit, Block: 202, UIDs: nil, Weights: nil, Status: WeightsStatusPending, CreatedAt: at},
	}
	var ids []int64
	for _, r := range recs {
		id, err := v.RecordWeights(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if _, err := v.RecordWeights(ctx, WeightsRecord{Netuid: 1, Hotkey: "x", Mode: "set", Status: "set", UIDs: []uint16{1}}); err == nil {
		t.Error("uids without weights were recorded")
	}
	if _, err := v.RecordWeights(ctx, WeightsRecord{Netuid: 1, Hotkey: "x", Mode: "bogus", Status: "set"}); err == nil {
		t.Error("an unknown mode was recorded")
	}
	pending, err := v.PendingWeights(ctx, 27, "hk")
	if err != nil || len(pending) != 1 || pending[0].ID != ids[1] || pending[0].RevealRound != 9_000_000 || pending[0].RevealBlock != 560 {
		t.Fatalf("pending = %+v, %v", pending, err)
	}
	if err := v.MarkWeights(ctx, ids[1], WeightsStatusRevealed, 561); err != nil {
		t.Fatal(err)
	}
	if err := v.MarkWeights(ctx, 9999, WeightsStatusRevealed, 1); err == nil {
		t.Error("marking a missing record succeeded")
	}
	// Reopen: the log survives.
	v.Close()
	v, err = OpenValidator(ctx, path, DefaultValidatorConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	last, err := v.LastWeights(ctx, 27, "hk")
	if err != nil || last == nil {
		t.Fatalf("last = %v, %v", last, err)
	}
	if last.Status != WeightsStatusRevealed || last.RevealedBlock != 561 || !slices.Equal(last.Weights, []uint16{65535}) || !last.CreatedAt.Equal(at) {
		t.Errorf("last = %+v", last)
	}
	log, err := v.WeightsLog(ctx, 27, "hk", 10)
	if err != nil || len(log) != 2 || log[1].Mode != WeightsModeSet || !slices.Equal(log[1].UIDs, []uint16{1, 2}) {
		t.Errorf("log = %+v, %v", log, err)
	}
	if none, err := v.LastWeights(ctx, 3, "hk"); err != nil || none != nil {
		t.Errorf("no record: %v, %v", none, err)
	}
}
