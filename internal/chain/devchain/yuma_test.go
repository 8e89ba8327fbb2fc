package devchain

import (
	"math"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// base returns an input with validators 0..v-1 (stakes) and miners after them.
func base(stakes []float64, miners int) EpochInput {
	n := len(stakes) + miners
	in := EpochInput{
		Block: 100, Stake: make([]float64, n), LastUpdate: make([]uint64, n), RegisteredAt: make([]uint64, n),
		ValidatorPermit: make([]bool, n), Weights: newMatrix(n), Bonds: newMatrix(n),
		Kappa: 0.5, BondsMovingAverage: 0.9, ActivityCutoff: 5000, MaxValidators: 64, MinValidatorStake: 1,
		Emission: 1000,
	}
	for i, s := range stakes {
		in.Stake[i], in.LastUpdate[i], in.ValidatorPermit[i] = s, 50, true
	}
	for j := len(stakes); j < n; j++ {
		in.RegisteredAt[j] = 1
	}
	return in
}

func TestEpochHandComputed(t *testing.T) {
	type want struct {
		incentive, dividends, consensus, emission, vtrust []float64
		permit                                            []bool
	}
	tests := []struct {
		name  string
		input func() EpochInput
		want  want
	}{{
		// Two validators agree: miner 2 at 0.75, miner 3 at 0.25.
		name: "miner weighted higher earns more",
		input: func() EpochInput {
			in := base([]float64{3000, 1000}, 2)
			in.Weights[0][2], in.Weights[0][3] = 0.75, 0.25
			in.Weights[1][2], in.Weights[1][3] = 0.75, 0.25
			return in
		},
		want: want{
			incentive: []float64{0, 0, 0.75, 0.25},
			dividends: []float64{0.75, 0.25, 0, 0},
			consensus: []float64{0, 0, 0.75, 0.25},
			emission:  []float64{375, 125, 375, 125},
			vtrust:    []float64{1, 1, 0, 0},
			permit:    []bool{true, true, false, false},
		},
	}, {
		// Validators 0 and 1 back miner 3; validator 2 alone backs miner 4.
		name: "lone outlier is clipped to zero",
		input: func() EpochInput {
			in := base([]float64{1, 1, 1}, 2)
			in.Weights[0][3], in.Weights[1][3], in.Weights[2][4] = 1, 1, 1
			return in
		},
		want: want{
			incentive: []float64{0, 0, 0, 1, 0},
			dividends: []float64{0.5, 0.5, 0, 0, 0},
			consensus: []float64{0, 0, 0, 1, 0},
			emission:  []float64{250, 250, 0, 500, 0},
			vtrust:    []float64{1, 1, 0, 0, 0},
			permit:    []bool{true, true, true, false, false},
		},
	}, {
		// Validator 1 has no permit: its weights on miner 3 do not count.
		name: "weights without a permit are ignored",
		input: func() EpochInput {
			in := base([]float64{2, 2}, 2)
			in.ValidatorPermit[1] = false
			in.Weights[0][2] = 1
			in.Weights[1][3] = 1
			return in
		},
		want: want{
			incentive: []float64{0, 0, 1, 0},
			dividends: []float64{1, 0, 0, 0},
			consensus: []float64{0, 0, 1, 0},
			emission:  []float64{500, 0, 500, 0},
			vtrust:    []float64{1, 0, 0, 0},
			permit:    []bool{true, true, false, false},
		},
	}, {
		// Miner 3 registered after the validator's last update: weight dropped.
		name: "weights older than the target's registration are masked",
		input: func() EpochInput {
			in := base([]float64{5}, 2)
			in.Weights[0][1], in.Weights[0][2] = 1, 1
			in.RegisteredAt[2] = 60
			return in
		},
		want: want{
			incentive: []float64{0, 1, 0},
			dividends: []float64{1, 0, 0},
			consensus: []float64{0, 1, 0},
			emission:  []float64{500, 500, 0},
			vtrust:    []float64{1, 0, 0},
			permit:    []bool{true, false, false},
		},
	}, {
		// No weights at all: emission follows stake; stake under
		// MinValidatorStake counts as zero (no permit, no share), as on subtensor.
		name: "no weights: emission by stake, permit needs min stake",
		input: func() EpochInput {
			in := base([]float64{3, 1}, 1)
			in.MinValidatorStake = 2
			return in
		},
		want: want{
			incentive: []float64{0, 0, 0},
			dividends: []float64{0, 0, 0},
			consensus: []float64{0, 0, 0},
			emission:  []float64{1000, 0, 0},
			vtrust:    []float64{0, 0, 0},
			permit:    []bool{true, false, false},
		},
	}, {
		// Uid 1 has stake but held no permit last epoch: its (zero) weights do
		// not vote, so it cannot pull the consensus on miner 2 down to 0.
		name: "stake without a permit does not vote",
		input: func() EpochInput {
			in := base([]float64{1, 3}, 1)
			in.ValidatorPermit[1] = false
			in.Weights[0][2] = 1
			return in
		},
		want: want{
			incentive: []float64{0, 0, 1},
			dividends: []float64{1, 0, 0},
			consensus: []float64{0, 0, 1},
			emission:  []float64{500, 0, 500},
			vtrust:    []float64{1, 0, 0},
			permit:    []bool{true, true, false},
		},
	}, {
		// Incentive and dividends share one normalisation: two validators
		// split 3:1, miner 2 at 0.6, miner 3 at 0.4.
		name: "emission split on incentive plus dividends",
		input: func() EpochInput {
			in := base([]float64{3, 1}, 2)
			in.Weights[0][2], in.Weights[0][3] = 0.6, 0.4
			in.Weights[1][2], in.Weights[1][3] = 0.6, 0.4
			return in
		},
		want: want{
			incentive: []float64{0, 0, 0.6, 0.4},
			dividends: []float64{0.75, 0.25, 0, 0},
			consensus: []float64{0, 0, 0.6, 0.4},
			emission:  []float64{375, 125, 300, 200},
			vtrust:    []float64{1, 1, 0, 0},
			permit:    []bool{true, true, false, false},
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := Epoch(tc.input())
			check := func(field string, got, want []float64) {
				t.Helper()
				if len(got) != len(want) {
					t.Fatalf("%s: len %d, want %d", field, len(got), len(want))
				}
				for i := range want {
					if !near(got[i], want[i]) {
						t.Errorf("%s[%d] = %v, want %v (all %v)", field, i, got[i], want[i], got)
					}
				}
			}
			check("incentive", out.Incentive, tc.want.incentive)
			check("dividends", out.Dividends, tc.want.dividends)
			check("consensus", out.Consensus, tc.want.consensus)
			check("emission", out.Emission, tc.want.emission)
			check("validator_trust", out.ValidatorTrust, tc.want.vtrust)
			check("rank (= incentive)", out.Rank, tc.want.incentive)
			for i, p := range tc.want.permit {
				if out.ValidatorPermit[i] != p {
					t.Errorf("permit[%d] = %v, want %v", i, out.ValidatorPermit[i], p)
				}
			}
		})
	}
}

func TestEpochBondsEMA(t *testing.T) {
	// One validator, one miner, previous bond 0 on the miner: the EMA moves a
	// tenth of the way, and column normalisation makes it the whole column.
	in := base([]float64{1}, 1)
	in.Weights[0][1] = 1
	out := Epoch(in)
	if !near(out.Bonds[0][1], 1) {
		t.Fatalf("bond = %v, want 1 after column normalisation", out.Bonds[0][1])
	}
	// Two validators, equal stake: the newcomer's bond grows by 10% of the delta.
	in = base([]float64{1, 1}, 1)
	in.Weights[0][2], in.Weights[1][2] = 1, 1
	in.Bonds[0][2] = 1 // validator 0 held the whole column before
	out = Epoch(in)
	// delta = [0.5, 0.5]; ema = 0.1*delta + 0.9*[1, 0] = [0.95, 0.05]
	if !near(out.Bonds[0][2], 0.95) || !near(out.Bonds[1][2], 0.05) {
		t.Fatalf("bonds = %v, %v; want 0.95, 0.05", out.Bonds[0][2], out.Bonds[1][2])
	}
	if !near(out.Dividends[0], 0.95) {
		t.Fatalf("dividends = %v, want 0.95 for the older bond holder", out.Dividends)
	}
}

func TestEpochBondsResetForNewcomers(t *testing.T) {
	// Miner 1 re-registered within the last tempo: the old bond on its column
	// is dropped, so the bond is this epoch's delta alone.
	in := base([]float64{1, 1}, 1)
	in.Tempo = 10
	in.RegisteredAt[2] = 95 // block 100 - tempo 10 = 90 <= 95
	in.LastUpdate[0], in.LastUpdate[1] = 99, 99
	in.Weights[0][2], in.Weights[1][2] = 1, 1
	in.Bonds[0][2] = 1
	out := Epoch(in)
	if !near(out.Bonds[0][2], 0.5) || !near(out.Bonds[1][2], 0.5) {
		t.Fatalf("bonds = %v, %v; want 0.5, 0.5 after the reset", out.Bonds[0][2], out.Bonds[1][2])
	}
	// Registered before the last tempo: the old bond is kept in the EMA.
	in.RegisteredAt[2] = 80
	out = Epoch(in)
	if !near(out.Bonds[0][2], 0.95) {
		t.Fatalf("bond = %v, want 0.95 with the old bond kept", out.Bonds[0][2])
	}
}

func TestTopKNonZero(t *testing.T) {
	tests := []struct {
		name string
		v    []float64
		k    int
		want []bool
	}{
		{"fewer than k: all non-zero", []float64{0.5, 0, 0.5}, 4, []bool{true, false, true}},
		{"top two", []float64{0.1, 0.5, 0.4}, 2, []bool{false, true, true}},
		{"tie goes to the higher uid", []float64{0.5, 0.5}, 1, []bool{false, true}},
		{"zero never marked", []float64{1, 0}, 2, []bool{true, false}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := topKNonZero(tc.v, tc.k)
			for i := range tc.want {
				if got[i] != tc.want[i] {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
}

func TestWeightedMedianCol(t *testing.T) {
	tests := []struct {
		name   string
		stake  []float64
		col    []float64
		kappa  float64
		expect float64
	}{
		{"unanimous", []float64{1, 1}, []float64{0.4, 0.4}, 0.5, 0.4},
		{"majority by stake wins", []float64{3, 1}, []float64{0.2, 0.9}, 0.5, 0.2},
		{"rich outlier above kappa", []float64{1, 3}, []float64{0.2, 0.9}, 0.5, 0.9},
		{"exactly kappa supports the higher value", []float64{1, 1}, []float64{0.2, 0.9}, 0.5, 0.9},
		{"minority only", []float64{1, 1, 1}, []float64{0, 0, 1}, 0.5, 0},
		{"zero stake ignored", []float64{0, 1}, []float64{1, 0.3}, 0.5, 0.3},
		{"no stake", []float64{0, 0}, []float64{1, 1}, 0.5, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newMatrix(len(tc.stake))
			for i, v := range tc.col {
				w[i][0] = v
			}
			if got := weightedMedianCol(tc.stake, w, 0, tc.kappa); !near(got, tc.expect) {
				t.Fatalf("got %v, want %v", got, tc.expect)
			}
		})
	}
}

func TestEpochEmpty(t *testing.T) {
	out := Epoch(EpochInput{})
	if len(out.Incentive) != 0 {
		t.Fatal("empty subnet produced output")
	}
}
