package validator

import (
	"math"
	"testing"

	"github.com/sn27/compute/internal/score"
)

func TestNextDifficulty(t *testing.T) {
	cfg := score.DefaultConfig() // 7..12, window 20
	tests := []struct {
		name  string
		stats score.Stats
		want  int
	}{
		{"new miner", score.Stats{}, 7},
		{"four successes stay at min", score.Stats{Successes: 4, RecentAvgDifficulty: 10}, 7},
		{"no failures: +2", score.Stats{Successes: 5, RecentAvgDifficulty: 7}, 9},
		{"ceil of the average", score.Stats{Successes: 20, RecentAvgDifficulty: 8.2}, 11},
		{"float noise does not ceil up", score.Stats{Successes: 20, RecentAvgDifficulty: 9.0000000001}, 11},
		{"1 failure = 5 %: +2", score.Stats{Successes: 20, RecentFailures: 1, RecentAvgDifficulty: 8}, 10},
		{"2 failures = 10 %: +1", score.Stats{Successes: 20, RecentFailures: 2, RecentAvgDifficulty: 8}, 9},
		{"3 failures = 15 %: +1", score.Stats{Successes: 20, RecentFailures: 3, RecentAvgDifficulty: 8}, 9},
		{"4 failures = 20 %: same", score.Stats{Successes: 20, RecentFailures: 4, RecentAvgDifficulty: 8}, 8},
		{"5 failures = 25 %: same", score.Stats{Successes: 20, RecentFailures: 5, RecentAvgDifficulty: 8}, 8},
		{"6 failures = 30 %: -1", score.Stats{Successes: 20, RecentFailures: 6, RecentAvgDifficulty: 8}, 7},
		{"lowering clamped at min", score.Stats{Successes: 20, RecentFailures: 15, RecentAvgDifficulty: 7}, 7},
		{"raising clamped at max", score.Stats{Successes: 20, RecentAvgDifficulty: 11.5}, 12},
		{"average above max", score.Stats{Successes: 20, RecentFailures: 8, RecentAvgDifficulty: 40}, 11},
		{"no recent success uses min", score.Stats{Successes: 6, RecentFailures: 20}, 7},
		{"average below min uses min", score.Stats{Successes: 6, RecentFailures: 1, RecentAvgDifficulty: 3}, 9},
		{"nan average uses min", score.Stats{Successes: 6, RecentFailures: 6, RecentAvgDifficulty: math.NaN()}, 7},
		{"inf average uses min", score.Stats{Successes: 6, RecentAvgDifficulty: math.Inf(1)}, 9},
		{"negative failures", score.Stats{Successes: 6, RecentFailures: -3, RecentAvgDifficulty: 8}, 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := NextDifficulty(cfg, tc.stats); got != tc.want {
				t.Fatalf("NextDifficulty = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestNextDifficultyCustomBounds(t *testing.T) {
	cfg := score.DefaultConfig()
	cfg.MinDifficulty, cfg.MaxDifficulty, cfg.FailureWindow = 6, 8, 10
	tests := []struct {
		name  string
		stats score.Stats
		want  int
	}{
		{"start", score.Stats{Successes: 1}, 6},
		{"1 of 10 = 10 %: +1", score.Stats{Successes: 9, RecentFailures: 1, RecentAvgDifficulty: 6}, 7},
		{"3 of 10 = 30 %: -1", score.Stats{Successes: 9, RecentFailures: 3, RecentAvgDifficulty: 8}, 7},
		{"clamped to 8", score.Stats{Successes: 9, RecentAvgDifficulty: 8}, 8},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := NextDifficulty(cfg, tc.stats); got != tc.want {
				t.Fatalf("NextDifficulty = %d, want %d", got, tc.want)
			}
		})
	}
}
