package score

import (
	"errors"
	"math"
	"testing"
	"time"
)

const eps = 0.005

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestComputeWorkedExamples(t *testing.T) {
	cfg := DefaultConfig()
	tests := []struct {
		name string
		in   Inputs
		want Result
	}{
		{
			// README Miner B: 92 + 75 + 0.5*46.67 - 0.5*3.1 = 188.78; /290 = 0.651.
			name: "miner B not allocated",
			in:   Inputs{Resolution: 92, Difficulty: 9, Elapsed: 16, Failure: 3.1},
			want: Result{Resolution: 92, Difficulty: 75, Time: 46.667, Penalty: 3.1, Allocation: 75,
				Raw: 188.783, Total: 188.783, Normalized: 0.651},
		},
		{
			// README Miner A: 250 + 0.4*58.33 = 273.33; /290 = 0.943.
			name: "miner A allocated",
			in:   Inputs{Resolution: 95, Difficulty: 7, Elapsed: 4.6, Failure: 2.6, Allocated: true},
			want: Result{Resolution: 95, Difficulty: 58.333, Time: 84.667, Penalty: 2.6, Allocation: 58.333,
				Allocated: true, Raw: 273.333, Total: 273.333, Normalized: 0.943},
		},
		{
			// Miner A's figures without allocation: 95 + 58.33 + 42.33 - 1.3 = 194.37.
			name: "miner A not allocated",
			in:   Inputs{Resolution: 95, Difficulty: 7, Elapsed: 4.6, Failure: 2.6},
			want: Result{Resolution: 95, Difficulty: 58.333, Time: 84.667, Penalty: 2.6, Allocation: 58.333,
				Raw: 194.367, Total: 194.367, Normalized: 0.670},
		},
		{
			name: "perfect not allocated",
			in:   Inputs{Resolution: 100, Difficulty: 12, Elapsed: 0},
			want: Result{Resolution: 100, Difficulty: 100, Time: 100, Allocation: 100,
				Raw: 250, Total: 250, Normalized: 0.862},
		},
		{
			name: "perfect allocated reaches 1",
			in:   Inputs{Resolution: 100, Difficulty: 12, Elapsed: 0.5, Allocated: true},
			want: Result{Resolution: 100, Difficulty: 100, Time: 98.333, Allocation: 100, Allocated: true,
				Raw: 290, Total: 290, Normalized: 1},
		},
		{
			name: "difficulty and time clamped",
			in:   Inputs{Resolution: 50, Difficulty: 3, Elapsed: 45, Failure: 0},
			want: Result{Resolution: 50, Difficulty: 58.333, Time: 0, Allocation: 58.333,
				Raw: 108.333, Total: 108.333, Normalized: 0.374},
		},
		{
			name: "difficulty above max clamped",
			in:   Inputs{Resolution: 10, Difficulty: 15, Elapsed: 29.97, Failure: 45},
			want: Result{Resolution: 10, Difficulty: 100, Time: 0.1, Penalty: 45, Allocation: 100,
				Raw: 87.55, Total: 87.55, Normalized: 0.302},
		},
		{
			name: "zero rule: ten failures of twenty",
			in:   Inputs{Resolution: 90, Difficulty: 10, Elapsed: 3, Failure: 50},
			want: Result{Resolution: 90, Difficulty: 83.333, Time: 90, Penalty: 50, Allocation: 83.333,
				Raw: 193.333, Zero: ZeroTooManyFail},
		},
		{
			name: "zero rule applies to allocated miners",
			in:   Inputs{Resolution: 90, Difficulty: 10, Elapsed: 3, Failure: 55, Allocated: true},
			want: Result{Resolution: 90, Difficulty: 83.333, Time: 90, Penalty: 55, Allocation: 83.333,
				Allocated: true, Raw: 283.333, Zero: ZeroTooManyFail},
		},
		{
			name: "zero rule: no success",
			in:   Inputs{Resolution: 0, Difficulty: 0, Elapsed: 0, Failure: 20, Allocated: true},
			want: Result{Difficulty: 58.333, Time: 100, Penalty: 20, Allocation: 58.333,
				Allocated: true, Raw: 273.333, Zero: ZeroNoSuccess},
		},
		{
			name: "non-finite input",
			in:   Inputs{Resolution: math.NaN(), Difficulty: 9},
			want: Result{Zero: ZeroInvalid},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Compute(cfg, tc.in)
			checks := []struct {
				name      string
				got, want float64
			}{
				{"resolution", got.Resolution, tc.want.Resolution},
				{"difficulty", got.Difficulty, tc.want.Difficulty},
				{"time", got.Time, tc.want.Time},
				{"penalty", got.Penalty, tc.want.Penalty},
				{"allocation", got.Allocation, tc.want.Allocation},
				{"raw", got.Raw, tc.want.Raw},
				{"total", got.Total, tc.want.Total},
				{"normalized", got.Normalized, tc.want.Normalized},
			}
			for _, c := range checks {
				if !near(c.got, c.want, eps) {
					t.Errorf("%s = %.4f, want %.4f", c.name, c.got, c.want)
				}
			}
			if got.Zero != tc.want.Zero || got.Allocated != tc.want.Allocated {
				t.Errorf("zero=%q allocated=%v, want %q %v", got.Zero, got.Allocated, tc.want.Zero, tc.want.Allocated)
			}
		})
	}
}

func TestNegativeTotalIsZero(t *testing.T) {
	cfg := DefaultConfig()
	cfg.PenaltyWeight = 5
	// 10 + 58.33 + 0 - 5*45 < 0.
	got := Compute(cfg, Inputs{Resolution: 10, Difficulty: 7, Elapsed: 30, Failure: 45})
	if got.Raw >= 0 || got.Total != 0 || got.Normalized != 0 || got.Zero != NotZero {
		t.Fatalf("got %+v, want negative raw floored at 0", got)
	}
}

func TestScoreFromStats(t *testing.T) {
	cfg := DefaultConfig()
	tests := []struct {
		name      string
		stats     Stats
		allocated bool
		total     float64
		zero      ZeroReason
	}{
		// 46/50 = 92 %, avg difficulty 9 -> 75, 16 s -> 46.67, 1/20 = 5 % -> 92+75+23.33-2.5.
		{"hand computed", Stats{Attempts: 50, Successes: 46, AvgElapsed: 16, RecentFailures: 1, RecentAvgDifficulty: 9}, false, 187.833, NotZero},
		{"allocated", Stats{Attempts: 4, Successes: 1, AvgElapsed: 29, RecentFailures: 3, RecentAvgDifficulty: 8.5}, true, 250 + 0.4*100*8.5/12, NotZero},
		{"nine failures still scores", Stats{Attempts: 20, Successes: 11, AvgElapsed: 6, RecentFailures: 9, RecentAvgDifficulty: 12}, false, 55 + 100 + 40 - 22.5, NotZero},
		{"ten failures", Stats{Attempts: 20, Successes: 10, AvgElapsed: 6, RecentFailures: 10, RecentAvgDifficulty: 12}, false, 0, ZeroTooManyFail},
		{"no attempts", Stats{}, false, 0, ZeroNoSuccess},
		{"no successes", Stats{Attempts: 7, RecentFailures: 7}, true, 0, ZeroNoSuccess},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Score(cfg, tc.stats, tc.allocated)
			if !near(got.Total, tc.total, eps) || got.Zero != tc.zero {
				t.Fatalf("total %.4f zero %q, want %.4f %q", got.Total, got.Zero, tc.total, tc.zero)
			}
		})
	}
}

func TestCustomConfig(t *testing.T) {
	cfg := Config{
		ResolutionWeight: 2, DifficultyWeight: 0, TimeWeight: 1, PenaltyWeight: 1, AllocationWeight: 1,
		MinDifficulty: 6, MaxDifficulty: 10, Timeout: 20 * time.Second, FailureWindow: 10, ZeroFailures: 3,
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if cfg.MaxChallengeScore() != 300 || cfg.MaxScore() != 400 {
		t.Fatalf("max %v / %v, want 300 / 400", cfg.MaxChallengeScore(), cfg.MaxScore())
	}
	// 2*80 + 1*(100*(20-5)/20 = 75) - 1*20 = 215; /400.
	got := Score(cfg, Stats{Attempts: 10, Successes: 8, AvgElapsed: 5, RecentFailures: 2, RecentAvgDifficulty: 8}, false)
	if !near(got.Total, 215, 1e-9) || !near(got.Normalized, 215.0/400, 1e-9) {
		t.Fatalf("got %+v", got)
	}
	if got := Score(cfg, Stats{Attempts: 10, Successes: 8, AvgElapsed: 5, RecentFailures: 3}, false); got.Zero != ZeroTooManyFail {
		t.Fatalf("3 of 10 failures: zero = %q", got.Zero)
	}
	// allocated: 300 + 1 * 100*8/10.
	if got := Score(cfg, Stats{Attempts: 10, Successes: 8, RecentAvgDifficulty: 8}, true); !near(got.Total, 380, 1e-9) {
		t.Fatalf("allocated total %v, want 380", got.Total)
	}
}

func TestConfigValidate(t *testing.T) {
	mod := func(f func(*Config)) Config { c := DefaultConfig(); f(&c); return c }
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"default", DefaultConfig(), true},
		{"negative weight", mod(func(c *Config) { c.TimeWeight = -1 }), false},
		{"nan weight", mod(func(c *Config) { c.PenaltyWeight = math.NaN() }), false},
		{"inf weight", mod(func(c *Config) { c.AllocationWeight = math.Inf(1) }), false},
		{"min zero", mod(func(c *Config) { c.MinDifficulty = 0 }), false},
		{"max below min", mod(func(c *Config) { c.MaxDifficulty = 6 }), false},
		{"no timeout", mod(func(c *Config) { c.Timeout = 0 }), false},
		{"no window", mod(func(c *Config) { c.FailureWindow = 0 }), false},
		{"zero failures above window", mod(func(c *Config) { c.ZeroFailures = 21 }), false},
		{"all weights zero", mod(func(c *Config) {
			c.ResolutionWeight, c.DifficultyWeight, c.TimeWeight, c.AllocationWeight = 0, 0, 0, 0
		}), false},
		{"min equals max", mod(func(c *Config) { c.MinDifficulty, c.MaxDifficulty = 9, 9 }), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if (err == nil) != tc.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("error %v does not wrap ErrInvalidConfig", err)
			}
		})
	}
}

func TestInputsValidate(t *testing.T) {
	tests := []struct {
		name string
		in   Inputs
		ok   bool
	}{
		{"ok", Inputs{Resolution: 95, Difficulty: 7, Elapsed: 4.6, Failure: 2.6}, true},
		{"resolution above 100", Inputs{Resolution: 101}, false},
		{"negative failure", Inputs{Failure: -1}, false},
		{"negative elapsed", Inputs{Elapsed: -0.1}, false},
		{"nan difficulty", Inputs{Difficulty: math.NaN()}, false},
		{"inf elapsed", Inputs{Elapsed: math.Inf(1)}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.in.Validate()
			if (err == nil) != tc.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalidInputs) {
				t.Fatalf("error %v does not wrap ErrInvalidInputs", err)
			}
		})
	}
}

func TestComponents(t *testing.T) {
	cfg := DefaultConfig()
	for _, tc := range []struct {
		name string
		f    func(Config, float64) float64
		in   float64
		want float64
	}{
		{"difficulty min", DifficultyComponent, 7, 58.3333},
		{"difficulty mid", DifficultyComponent, 9.5, 79.1667},
		{"difficulty below", DifficultyComponent, 0, 58.3333},
		{"difficulty above", DifficultyComponent, 99, 100},
		{"time zero average", TimeComponent, 0, 100},
		{"time half", TimeComponent, 15, 50},
		{"time at timeout", TimeComponent, 30, 0},
		{"time over timeout", TimeComponent, 31, 0},
		{"time negative average", TimeComponent, -3, 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.f(cfg, tc.in); !near(got, tc.want, 1e-4) {
				t.Fatalf("got %.4f, want %.4f", got, tc.want)
			}
		})
	}
}

func TestWeights(t *testing.T) {
	tests := []struct {
		name   string
		scores []float64
		want   []float64
	}{
		{"empty", nil, []float64{}},
		{"all zero", []float64{0, 0}, []float64{0, 0}},
		{"negatives dropped", []float64{-5, 100, 300}, []float64{0, 0.25, 0.75}},
		{"non-finite dropped", []float64{math.NaN(), math.Inf(1), 2, 2}, []float64{0, 0, 0.5, 0.5}},
		{"single", []float64{0.7}, []float64{1}},
		{"huge values do not overflow", []float64{math.MaxFloat64, math.MaxFloat64}, []float64{0.5, 0.5}},
		{"normalised scores", []float64{188.783 / 290, 273.333 / 290}, []float64{188.783 / 462.116, 273.333 / 462.116}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Weights(tc.scores)
			if len(got) != len(tc.want) {
				t.Fatalf("len %d, want %d", len(got), len(tc.want))
			}
			sum := 0.0
			for i := range got {
				if !near(got[i], tc.want[i], 1e-9) {
					t.Errorf("weight %d = %v, want %v", i, got[i], tc.want[i])
				}
				sum += got[i]
			}
			if sum != 0 && !near(sum, 1, 1e-12) {
				t.Errorf("sum %v, want 1", sum)
			}
		})
	}
}

func FuzzCompute(f *testing.F) {
	f.Add(92.0, 9.0, 16.0, 3.1, false)
	f.Add(95.0, 7.0, 4.6, 2.6, true)
	f.Add(0.0, 0.0, 0.0, 100.0, false)
	f.Add(-1.0, 1e300, -1e300, 50.0, true)
	cfg := DefaultConfig()
	f.Fuzz(func(t *testing.T, res, diff, elapsed, fail float64, allocated bool) {
		r := Compute(cfg, Inputs{Resolution: res, Difficulty: diff, Elapsed: elapsed, Failure: fail, Allocated: allocated})
		if math.IsNaN(r.Total) || r.Total < 0 || r.Total > cfg.MaxScore()+1e-9 {
			t.Fatalf("total %v out of [0, %v]", r.Total, cfg.MaxScore())
		}
		if r.Normalized < 0 || r.Normalized > 1+1e-12 {
			t.Fatalf("normalized %v out of [0, 1]", r.Normalized)
		}
	})
}
