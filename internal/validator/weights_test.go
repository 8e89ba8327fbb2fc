package validator

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/sn27/compute/internal/chain"
	"github.com/sn27/compute/internal/score"
	"github.com/sn27/compute/internal/store"
	"github.com/sn27/compute/internal/wallet"
)

func TestComputeWeights(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Filter.BlacklistHotkeys = []string{"black"}
	good := score.Stats{Attempts: 10, Successes: 10, AvgElapsed: 3, RecentAvgDifficulty: 10}
	half := score.Stats{Attempts: 10, Successes: 10, AvgElapsed: 15, RecentAvgDifficulty: 8, RecentFailures: 2}
	mg := &chain.Metagraph{Neurons: []chain.Neuron{
		neuron(3, "fast", "", "1.1.1.1", 1, 142, 0),
		neuron(0, "self", "", "1.1.1.2", 1, 142, 9000),
		neuron(1, "slow", "", "1.1.1.3", 1, 142, 0),
		neuron(2, "val", "", "1.1.1.4", 1, 142, 2000),
		neuron(4, "black", "", "1.1.1.5", 1, 142, 0),
		neuron(5, "fresh", "", "1.1.1.6", 1, 142, 0),
		neuron(6, "failing", "", "1.1.1.7", 1, 142, 0),
		neuron(7, "rented", "", "0.0.0.0", 0, 142, 0),
	}}
	stats := map[string]score.Stats{
		"fast": good, "slow": half, "val": good, "black": good, "self": good,
		"failing": {Attempts: 20, Successes: 5, RecentFailures: 15, RecentAvgDifficulty: 7},
		"rented":  {Attempts: 2, Successes: 1, AvgElapsed: 20, RecentAvgDifficulty: 7, RecentFailures: 1},
	}
	rows := ComputeWeights(cfg, mg, "self", stats, map[string]bool{"rented": true})
	if len(rows) != 8 {
		t.Fatalf("%d rows", len(rows))
	}
	byHot := map[string]WeightRow{}
	sum := 0.0
	for i, r := range rows {
		if int(r.UID) != i {
			t.Fatalf("rows not in uid order: %+v", rows)
		}
		byHot[r.Hotkey] = r
		sum += r.Weight
	}
	if math.Abs(sum-1) > 1e-9 {
		t.Fatalf("weights sum to %v", sum)
	}
	for hk, why := range map[string]Exclusion{"self": ExcludedSelf, "val": ExcludedValidator, "black": ExcludedBlacklisted} {
		if r := byHot[hk]; r.Weight != 0 || r.Skipped != why {
			t.Errorf("%s: weight %v skipped %q, want 0 and %q", hk, r.Weight, r.Skipped, why)
		}
	}
	for _, hk := range []string{"fresh", "failing"} {
		if byHot[hk].Weight != 0 {
			t.Errorf("%s has weight %v", hk, byHot[hk].Weight)
		}
	}
	if !(byHot["rented"].Weight > byHot["fast"].Weight && byHot["fast"].Weight > byHot["slow"].Weight && byHot["slow"].Weight > 0) {
		t.Fatalf("want rented > fast > slow > 0: %+v", rows)
	}
	if !byHot["rented"].Score.Allocated {
		t.Fatal("allocation not passed to the score")
	}
	// The weight is the normalised score, L1-normalised.
	want := byHot["fast"].Score.Normalized / (byHot["fast"].Score.Normalized + byHot["slow"].Score.Normalized + byHot["rented"].Score.Normalized)
	if math.Abs(byHot["fast"].Weight-want) > 1e-12 {
		t.Fatalf("fast weight %v, want %v", byHot["fast"].Weight, want)
	}
	if ComputeWeights(cfg, nil, "", nil, nil) != nil {
		t.Fatal("nil metagraph gave rows")
	}
}

// weightsChain fails SetWeights with the queued errors, then succeeds.
type weightsChain struct {
	chain.Chain
	errs  []error
	calls int
	got   struct {
		uids, weights []uint16
		key           uint64
	}
}

func (c *weightsChain) WeightsInfo(ctx context.Context, netuid uint16, hotkey string) (*chain.WeightsInfo, error) {
	return &chain.WeightsInfo{Netuid: netuid, Block: 1000, Tempo: 360}, nil
}

func (c *weightsChain) SetWeights(ctx context.Context, netuid uint16, hk chain.Signer, uids, weights []uint16, key uint64) error {
	c.calls++
	if len(c.errs) > 0 {
		err := c.errs[0]
		c.errs = c.errs[1:]
		return err
	}
	c.got.uids, c.got.weights, c.got.key = uids, weights, key
	return nil
}

func TestSetWeightsRetries(t *testing.T) {
	hot, err := wallet.FromURI("//Validator")
	if err != nil {
		t.Fatal(err)
	}
	rows := []WeightRow{{UID: 1, Weight: 0.75}, {UID: 2, Weight: 0.25}, {UID: 3, Weight: 0}}
	transient := fmt.Errorf("submit: %w", chain.ErrConnection)
	tests := []struct {
		name      string
		errs      []error
		rows      []WeightRow
		wantCalls int
		wantErr   error
	}{
		{"first try", nil, rows, 1, nil},
		{"transient then ok", []error{transient, errors.New("i/o timeout")}, rows, 3, nil},
		{"transient exhausts attempts", []error{transient, transient, transient, transient}, rows, 3, chain.ErrConnection},
		{"invalid weights not retried", []error{fmt.Errorf("x: %w", chain.ErrInvalidWeights)}, rows, 1, chain.ErrInvalidWeights},
		{"version key not retried", []error{chain.ErrVersionKey}, rows, 1, chain.ErrVersionKey},
		{"rate limit not retried", []error{chain.ErrRateLimited}, rows, 1, chain.ErrRateLimited},
		{"permit not retried", []error{chain.ErrNoValidatorPermit}, rows, 1, chain.ErrNoValidatorPermit},
		{"nothing to send", nil, []WeightRow{{UID: 1}}, 0, ErrNoWeights},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.WeightsAttempts, cfg.WeightsBackoff = 3, time.Millisecond
			c := &weightsChain{errs: tc.errs}
			sent, err := SendWeights(context.Background(), cfg, c, hot, tc.rows, nil, nil)
			u, w := sent.UIDs, sent.Weights
			if c.calls != tc.wantCalls {
				t.Fatalf("%d calls, want %d", c.calls, tc.wantCalls)
			}
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.got.key != 142 || len(u) != 2 || u[0] != 1 || u[1] != 2 || w[0] != 65535 || w[1] != 21845 {
				t.Fatalf("sent uids %v weights %v key %d", u, w, c.got.key)
			}
		})
	}
}

func TestSetWeightsStopsOnCancel(t *testing.T) {
	hot, _ := wallet.FromURI("//Validator")
	cfg := DefaultConfig()
	cfg.WeightsAttempts, cfg.WeightsBackoff = 10, time.Hour
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	c := &weightsChain{errs: []error{chain.ErrConnection}}
	start := time.Now()
	_, err := SendWeights(ctx, cfg, c, hot, []WeightRow{{UID: 1, Weight: 1}}, nil, nil)
	if err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("err %v after %v", err, time.Since(start))
	}
}

// TestWeightsTableNotes: a miner left out of the rounds shows why, not "no
// successful challenge".
func TestWeightsTableNotes(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Filter.BlacklistHotkeys = []string{"black"}
	mg := &chain.Metagraph{Neurons: []chain.Neuron{
		neuron(0, "self", "", "1.1.1.1", 1, 142, 9000),
		neuron(1, "first", "", "2.2.2.2", 1, 142, 0),
		neuron(2, "dup", "", "2.2.2.2", 1, 142, 0),
		neuron(3, "black", "", "3.3.3.3", 1, 142, 0),
		neuron(4, "val", "", "4.4.4.4", 1, 142, 2000),
		neuron(5, "unserved", "", "0.0.0.0", 0, 142, 0),
		neuron(6, "rented", "", "0.0.0.0", 0, 142, 0),
		neuron(7, "fresh", "", "5.5.5.5", 1, 142, 0),
	}}
	stats := map[string]score.Stats{"rented": {Attempts: 2, Successes: 1, AvgElapsed: 20, RecentAvgDifficulty: 7}}
	rows := ComputeWeights(cfg, mg, "self", stats, map[string]bool{"rented": true})
	var buf bytes.Buffer
	v := &Validator{tables: &buf}
	v.writeWeightsTable(Sent{Mode: store.WeightsModeSet, Block: 10}, rows)
	lines := strings.Split(buf.String(), "\n")
	tests := []struct {
		uid  int
		want string
	}{
		{0, "this validator"},
		{1, "no successful challenge"},
		{2, "not challenged: duplicate IP"},
		{3, "blacklisted"},
		{4, "validator (stake at or above"},
		{5, "not challenged: no axon served (0.0.0.0"},
		{6, "allocated"},
		{7, "no successful challenge"},
	}
	for _, tc := range tests {
		line := lines[tc.uid+2] // title and header first
		if !strings.HasPrefix(line, fmt.Sprint(tc.uid)+" ") || !strings.Contains(line, tc.want) {
			t.Errorf("uid %d: line %q lacks %q", tc.uid, line, tc.want)
		}
	}
	t.Logf("\n%s", buf.String())
}

func TestWeightRowNote(t *testing.T) {
	tests := []struct {
		name string
		row  WeightRow
		want string
	}{
		{"queried, no success", WeightRow{Score: score.Result{Zero: score.ZeroNoSuccess}}, "no successful challenge"},
		{"outdated", WeightRow{Excluded: ExcludedOutdated, Score: score.Result{Zero: score.ZeroNoSuccess}}, "not challenged: outdated miner version"},
		{"skipped wins", WeightRow{Skipped: ExcludedBlacklisted, Excluded: ExcludedBlacklisted}, "blacklisted"},
		{"allocated wins", WeightRow{Excluded: ExcludedNoAxon, Score: score.Result{Allocated: true}}, "allocated"},
		{"scored", WeightRow{Score: score.Result{Total: 50}}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.row.Note(); got != tc.want {
				t.Fatalf("note %q, want %q", got, tc.want)
			}
		})
	}
}
