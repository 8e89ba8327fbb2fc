package validator

import (
	"math"

	"github.com/sn27/compute/internal/score"
)

// Difficulty controller thresholds.
const (
	// minSuccessesToAdapt: the difficulty stays at the minimum until a miner
	// has more successes than this in the stats window.
	minSuccessesToAdapt = 4
	// Failure rates (failures / window) that move the difficulty.
	raiseTwoBelow = 0.10 // below: base + 2
	raiseOneBelow = 0.20 // below: base + 1
	lowerAbove    = 0.25 // above: base - 1
)

// NextDifficulty chooses the difficulty of a miner's next challenge from its
// stats: the configured minimum until the miner has more than 4 successes;
// then base = ceil(average difficulty of its recent successes) (the minimum
// when there is none), moved by its failure rate over the last
// cfg.FailureWindow challenges: below 10 % +2, below 20 % +1, above 25 % -1,
// otherwise unchanged; always clamped to [MinDifficulty, MaxDifficulty].
func NextDifficulty(cfg score.Config, s score.Stats) int {
	lo, hi := cfg.MinDifficulty, cfg.MaxDifficulty
	if hi < lo {
		hi = lo
	}
	if s.Successes <= minSuccessesToAdapt {
		return lo
	}
	base := lo
	if avg := s.RecentAvgDifficulty; avg > 0 && !math.IsInf(avg, 0) {
		// Averages come from SQL as floats: 9.000000001 must stay 9.
		c := math.Ceil(avg - 1e-9)
		switch {
		case c > float64(hi):
			base = hi
		case c > float64(lo):
			base = int(c)
		}
	}
	window := cfg.FailureWindow
	if window < 1 {
		window = 1
	}
	rate := float64(max(s.RecentFailures, 0)) / float64(window)
	switch {
	case rate < raiseTwoBelow:
		base += 2
	case rate < raiseOneBelow:
		base++
	case rate > lowerAbove:
		base--
	}
	return min(max(base, lo), hi)
}
