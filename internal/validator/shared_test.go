package validator

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sn27/compute/internal/chain/devchain"
	"github.com/sn27/compute/internal/sharedstate"
	"github.com/sn27/compute/internal/store"
	"github.com/sn27/compute/internal/wallet"
)

// logBuffer is a slog text sink tests can read while the loop writes.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// fixedPenalties penalises a fixed set of hotkeys.
type fixedPenalties map[string]string

func (f fixedPenalties) Unverified(context.Context) (map[string]string, error) { return f, nil }

// addValidator registers //name//hot with stakeTAO and opens its own store.
func (n *testNet) addValidator(name string, stakeTAO uint64) (*wallet.Keypair, *store.Validator) {
	n.t.Helper()
	cold, hot := mustKey(n.t, "//"+name), mustKey(n.t, "//"+name+"//hot")
	if err := n.chain.Fund(n.ctx, cold.SS58Address(), (stakeTAO+10)*devchain.RaoPerTAO); err != nil {
		n.t.Fatal(err)
	}
	if _, err := n.chain.Register(n.ctx, testNetuid, cold, hot.SS58Address()); err != nil {
		n.t.Fatal(err)
	}
	if err := n.chain.AddStake(n.ctx, cold, hot.SS58Address(), stakeTAO*devchain.RaoPerTAO); err != nil {
		n.t.Fatal(err)
	}
	st, err := store.OpenValidator(n.ctx, filepath.Join(n.t.TempDir(), "validator.db"), store.DefaultValidatorConfig())
	if err != nil {
		n.t.Fatal(err)
	}
	n.t.Cleanup(func() { st.Close() })
	return hot, st
}

// waitPermits waits until every hotkey holds a validator permit.
func (n *testNet) waitPermits(hks ...*wallet.Keypair) {
	n.t.Helper()
	waitFor(n.t, 20*time.Second, "validator permits", func() bool {
		mg, err := n.chain.Metagraph(n.ctx, testNetuid)
		if err != nil {
			return false
		}
		for _, hk := range hks {
			if nr := mg.ByHotkey(hk.SS58Address()); nr == nil || !nr.ValidatorPermit {
				return false
			}
		}
		return true
	})
}

// runValidator runs a validator loop until the test ends.
func runValidator(t *testing.T, ctx context.Context, cfg Config, deps Deps) *Validator {
	t.Helper()
	v, err := New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- v.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return v
}

func minerState(v *Validator, hk string) MinerState {
	for _, m := range v.State().Miners {
		if m.Hotkey == hk {
			return m
		}
	}
	return MinerState{}
}

// TestSharedStateBetweenValidators: validator A's allocation (recorded in
// A's store, as `compute allocate` does) and its own penalty reach
// validator B through A's commitment: B gives the rented miner the
// allocated branch and cuts the penalised miner's weight, with nothing in
// B's own store. A hostile validator's garbage and oversized commitments are
// ignored with a log line. A's release reaches B a tempo later.
func TestSharedStateBetweenValidators(t *testing.T) {
	n := newTestNet(t, 100*time.Millisecond, 10)
	valB, storeB := n.addValidator("ValidatorB", 2000)
	hostile, _ := n.addValidator("Hostile", 1500)
	rented, twin, bad := mustKey(t, "//Rented//hot"), mustKey(t, "//Twin//hot"), mustKey(t, "//Bad//hot")
	n.addMiner("Rented", startAxon(t, rented, cpuSolve(t, 0)))
	n.addMiner("Twin", startAxon(t, twin, cpuSolve(t, 0)))
	n.addMiner("Bad", startAxon(t, bad, cpuSolve(t, 0)))
	n.waitPermits(n.val, valB, hostile)
	if err := n.chain.Commit(n.ctx, testNetuid, hostile, []byte("\x00\x01 definitely not a record \xff")); err != nil {
		t.Fatal(err)
	}
	err := n.store.SaveAllocation(n.ctx, store.Allocation{Hotkey: rented.SS58Address(),
		Details: json.RawMessage(`{"resource":"test"}`), CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}

	cfgA := n.config()
	a := runValidator(t, n.ctx, cfgA, Deps{Chain: n.chain, Hotkey: n.val, Store: n.store, Log: testLog(),
		Penalties: fixedPenalties{bad.SS58Address(): "cpu_mismatch"}})
	var logB logBuffer
	cfgB := n.config()
	cfgB.Shared.PenaltyShare = 0.3 // A holds 2000 of 5500 permitted TAO
	b := runValidator(t, n.ctx, cfgB, Deps{Chain: n.chain, Hotkey: valB, Store: storeB, Log: logB.logger()})

	waitFor(t, 30*time.Second, "B to score the rented miner as allocated and the penalised one as penalised", func() bool {
		return minerState(b, rented.SS58Address()).Allocated && minerState(b, bad.SS58Address()).Penalised &&
			minerState(b, twin.SS58Address()).Score > 0
	})
	if own, _ := storeB.Allocated(n.ctx, time.Now()); len(own) != 0 {
		t.Fatalf("B's own store holds allocations %v", own)
	}
	r, tw, p := minerState(b, rented.SS58Address()), minerState(b, twin.SS58Address()), minerState(b, bad.SS58Address())
	if tw.Allocated || tw.Penalised || r.Penalised {
		t.Fatalf("B: rented %+v, twin %+v", r, tw)
	}
	if p.Weight != 0 {
		t.Errorf("B gives the penalised miner weight %v", p.Weight)
	}
	if st := a.State().Shared; st.Published == 0 || st.PublishError != "" {
		t.Errorf("A's shared status %+v", st)
	}
	st := b.State().Shared
	if st.Used < 1 || st.Dropped < 1 || st.Allocated != 1 || st.Penalised != 1 {
		t.Errorf("B's shared status %+v", st)
	}
	cm, err := n.chain.Commitment(n.ctx, testNetuid, n.val.SS58Address())
	if err != nil {
		t.Fatal(err)
	}
	rec, err := sharedstate.Decode(cm.Data)
	if err != nil || len(rec.Leased) != 1 || len(rec.Penalised) != 1 {
		t.Fatalf("A's record %+v, %v", rec, err)
	}
	waitFor(t, 10*time.Second, "B's log line for the hostile record", func() bool {
		return strings.Contains(logB.String(), "shared-state record ignored") &&
			strings.Contains(logB.String(), "validator="+hostile.SS58Address()) && strings.Contains(logB.String(), "kind=not_record")
	})

	// An oversized record with a valid header (the dev chain takes 1 KiB).
	big := append([]byte{'C', 'S', sharedstate.Version}, bytes.Repeat([]byte{0xff}, 500)...)
	if err := n.chain.Commit(n.ctx, testNetuid, hostile, big); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "B's log line for the oversized record", func() bool {
		return strings.Contains(logB.String(), "kind=malformed")
	})
	if !minerState(b, rented.SS58Address()).Allocated {
		t.Fatal("the hostile record changed B's view")
	}

	// A releases: its next record (a tempo later) no longer leases the miner.
	if _, err := n.store.DeleteAllocation(n.ctx, rented.SS58Address()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "B to see the release", func() bool {
		return !minerState(b, rented.SS58Address()).Allocated
	})
}

func TestApplyPenalties(t *testing.T) {
	cfg := DefaultConfig()
	rows := []WeightRow{{UID: 0, Hotkey: "a"}, {UID: 1, Hotkey: "b"}, {UID: 2, Hotkey: "v", Skipped: ExcludedValidator}}
	rows[0].Score.Normalized, rows[1].Score.Normalized = 1, 1
	tests := []struct {
		name    string
		penalty float64
		pen     map[string]bool
		want    []float64
	}{
		{"none", 1, nil, []float64{0, 0, 0}}, // rows pass through untouched
		{"whole score", 1, map[string]bool{"b": true, "v": true}, []float64{1, 0, 0}},
		{"half", 0.5, map[string]bool{"b": true}, []float64{2.0 / 3, 1.0 / 3, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg.Shared.Penalty = tc.penalty
			got := applyPenalties(cfg, rows, tc.pen)
			for i, w := range tc.want {
				if d := got[i].Weight - w; d > 1e-9 || d < -1e-9 {
					t.Errorf("row %d weight %v, want %v", i, got[i].Weight, w)
				}
			}
			if tc.pen["v"] && got[2].Penalised {
				t.Error("a skipped row is marked penalised")
			}
			if rows[1].Penalised || rows[1].Score.Normalized != 1 {
				t.Error("the input rows changed")
			}
		})
	}
}

func TestFitRecord(t *testing.T) {
	var many []uint16
	for i := 0; i < 300; i++ {
		many = append(many, uint16(i*13))
	}
	rec, data := fitRecord(sharedstate.Record{Block: 1, Leased: many[:100], Penalised: many[100:]})
	// 100 leases and 84 penalties fill the 384 bytes sparsely; the leases stay whole.
	if len(data) > sharedstate.MaxSize || len(rec.Leased) != 100 || len(rec.Penalised) != 84 {
		t.Fatalf("%d bytes, %d leased, %d penalised", len(data), len(rec.Leased), len(rec.Penalised))
	}
}
