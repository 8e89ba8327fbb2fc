package score

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// ErrInvalidConfig is wrapped by every error of [Config.Validate].
var ErrInvalidConfig = errors.New("score: invalid configuration")

// ErrInvalidInputs is wrapped by every error of [Inputs.Validate].
var ErrInvalidInputs = errors.New("score: invalid inputs")

// Config holds every weight and bound of the formula. The zero value is not
// usable; start from [DefaultConfig].
type Config struct {
	ResolutionWeight float64 // weight of the success rate component
	DifficultyWeight float64 // weight of the difficulty component
	TimeWeight       float64 // weight of the elapsed time component
	PenaltyWeight    float64 // weight of the failure penalty (subtracted)
	AllocationWeight float64 // weight of the allocation bonus

	MinDifficulty int           // lowest difficulty a challenge may have
	MaxDifficulty int           // highest difficulty a challenge may have
	Timeout       time.Duration // challenge timeout; an average at or above it scores 0 on time

	// FailureWindow is the number of recent challenges the penalty looks at
	// (the divisor of the failure rate, even when fewer were sent).
	FailureWindow int
	// ZeroFailures is the number of failures within FailureWindow at which
	// the score becomes zero.
	ZeroFailures int
}

// DefaultConfig returns the Compute Subnet's values: weights 1.0, 1.0, 0.5,
// 0.5, 0.4; difficulty 7..12; timeout 30 s; zero at 10 failures of the last 20.
func DefaultConfig() Config {
	return Config{
		ResolutionWeight: 1.0,
		DifficultyWeight: 1.0,
		TimeWeight:       0.5,
		PenaltyWeight:    0.5,
		AllocationWeight: 0.4,
		MinDifficulty:    7,
		MaxDifficulty:    12,
		Timeout:          30 * time.Second,
		FailureWindow:    20,
		ZeroFailures:     10,
	}
}

// Validate reports the first setting that makes the formula meaningless.
func (c Config) Validate() error {
	weights := []struct {
		name string
		v    float64
	}{
		{"resolution weight", c.ResolutionWeight},
		{"difficulty weight", c.DifficultyWeight},
		{"time weight", c.TimeWeight},
		{"penalty weight", c.PenaltyWeight},
		{"allocation weight", c.AllocationWeight},
	}
	for _, w := range weights {
		if math.IsNaN(w.v) || math.IsInf(w.v, 0) || w.v < 0 {
			return fmt.Errorf("%w: %s must be a finite number >= 0, got %v", ErrInvalidConfig, w.name, w.v)
		}
	}
	if c.MinDifficulty < 1 {
		return fmt.Errorf("%w: minimum difficulty must be at least 1, got %d", ErrInvalidConfig, c.MinDifficulty)
	}
	if c.MaxDifficulty < c.MinDifficulty {
		return fmt.Errorf("%w: maximum difficulty %d is below the minimum %d", ErrInvalidConfig, c.MaxDifficulty, c.MinDifficulty)
	}
	if c.Timeout <= 0 {
		return fmt.Errorf("%w: timeout must be positive, got %v", ErrInvalidConfig, c.Timeout)
	}
	if c.FailureWindow < 1 {
		return fmt.Errorf("%w: failure window must be at least 1, got %d", ErrInvalidConfig, c.FailureWindow)
	}
	if c.ZeroFailures < 1 || c.ZeroFailures > c.FailureWindow {
		return fmt.Errorf("%w: zero-score failure count must be between 1 and the failure window %d, got %d",
			ErrInvalidConfig, c.FailureWindow, c.ZeroFailures)
	}
	if c.MaxScore() <= 0 {
		return fmt.Errorf("%w: at least one of the resolution, difficulty, time and allocation weights must be positive", ErrInvalidConfig)
	}
	return nil
}

// MaxChallengeScore is the best score a miner can reach without an
// allocation: 100 * (resolution + difficulty + time weights); 250 by default.
// An allocated miner receives it in full.
func (c Config) MaxChallengeScore() float64 {
	return 100 * (c.ResolutionWeight + c.DifficultyWeight + c.TimeWeight)
}

// MaxScore is the largest possible total, the divisor of the normalised
// score: MaxChallengeScore + 100 * allocation weight; 290 by default.
func (c Config) MaxScore() float64 {
	return c.MaxChallengeScore() + 100*c.AllocationWeight
}

// ZeroFailurePercent is the failure percentage at which the score becomes
// zero: 100 * ZeroFailures / FailureWindow; 50 by default.
func (c Config) ZeroFailurePercent() float64 {
	return failurePercent(c.ZeroFailures, c.FailureWindow)
}

func failurePercent(failures, window int) float64 {
	return 100 * float64(failures) / float64(window)
}

// Stats are the raw figures the validator keeps per miner.
type Stats struct {
	Attempts   int     // challenges sent in the last 12 hours
	Successes  int     // challenges solved in the last 12 hours
	AvgElapsed float64 // average seconds of the successful ones among them; 0 when none

	RecentFailures      int     // failures among the miner's last FailureWindow challenges
	RecentAvgDifficulty float64 // average difficulty of the successes among them; 0 when none
}

// Inputs are the aggregated figures the formula reads; the `compute score`
// command takes them directly.
type Inputs struct {
	Resolution float64 `json:"resolution"` // percentage of successful challenges, 0..100
	Difficulty float64 `json:"difficulty"` // average difficulty of recent successes
	Elapsed    float64 `json:"elapsed"`    // average seconds of successful challenges
	Failure    float64 `json:"failure"`    // percentage of failures in the recent window, 0..100
	Allocated  bool    `json:"allocated"`  // the miner's machine is allocated to a renter
}

// FromStats aggregates stats into inputs: resolution = 100*successes/attempts
// (0 without attempts), failure = 100*failures/window.
func FromStats(cfg Config, s Stats, allocated bool) Inputs {
	in := Inputs{
		Difficulty: s.RecentAvgDifficulty,
		Elapsed:    s.AvgElapsed,
		Allocated:  allocated,
	}
	if s.Attempts > 0 && s.Successes > 0 {
		in.Resolution = 100 * float64(s.Successes) / float64(s.Attempts)
	}
	if cfg.FailureWindow > 0 && s.RecentFailures > 0 {
		in.Failure = failurePercent(s.RecentFailures, cfg.FailureWindow)
	}
	return in
}

// Validate checks inputs that come from outside the validator (flags).
func (in Inputs) Validate() error {
	check := func(name string, v, lo, hi float64) error {
		if math.IsNaN(v) || v < lo || v > hi {
			return fmt.Errorf("%w: %s must be between %v and %v, got %v", ErrInvalidInputs, name, lo, hi, v)
		}
		return nil
	}
	if err := check("resolution (percent)", in.Resolution, 0, 100); err != nil {
		return err
	}
	if err := check("failure (percent)", in.Failure, 0, 100); err != nil {
		return err
	}
	if err := check("difficulty", in.Difficulty, 0, math.MaxFloat64); err != nil {
		return err
	}
	return check("elapsed (seconds)", in.Elapsed, 0, math.MaxFloat64)
}

// ZeroReason says why a score was forced to zero; empty when it was not.
type ZeroReason string

const (
	NotZero         ZeroReason = ""
	ZeroNoSuccess   ZeroReason = "no successful challenge"
	ZeroTooManyFail ZeroReason = "too many recent failures"
	ZeroInvalid     ZeroReason = "invalid figures"
)

// Result is a computed score with every component.
type Result struct {
	// Components, each 0..100 before weighting.
	Resolution float64 `json:"resolution"`
	Difficulty float64 `json:"difficulty"`
	Time       float64 `json:"time"`
	Penalty    float64 `json:"penalty"`
	Allocation float64 `json:"allocation"`

	Allocated bool       `json:"allocated"`
	Zero      ZeroReason `json:"zero_reason,omitempty"`
	// Raw is the weighted sum before the zero rule and the floor at zero.
	Raw float64 `json:"raw"`
	// Total is the score: Raw, or 0 under the zero rule or when negative.
	Total float64 `json:"total"`
	// Normalized is Total / MaxScore, in 0..1.
	Normalized float64 `json:"normalized"`
}

// Compute applies the formula. cfg must be valid (see [Config.Validate]);
// inputs out of range are clamped, and non-finite ones give a zero score.
func Compute(cfg Config, in Inputs) Result {
	r := Result{Allocated: in.Allocated}
	for _, v := range []float64{in.Resolution, in.Difficulty, in.Elapsed, in.Failure} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			r.Zero = ZeroInvalid
			return r
		}
	}
	r.Resolution = clamp(in.Resolution, 0, 100)
	r.Difficulty = DifficultyComponent(cfg, in.Difficulty)
	r.Time = TimeComponent(cfg, in.Elapsed)
	r.Penalty = clamp(in.Failure, 0, 100)
	r.Allocation = r.Difficulty

	if in.Allocated {
		r.Raw = cfg.MaxChallengeScore() + r.Allocation*cfg.AllocationWeight
	} else {
		r.Raw = r.Resolution*cfg.ResolutionWeight + r.Difficulty*cfg.DifficultyWeight +
			r.Time*cfg.TimeWeight - r.Penalty*cfg.PenaltyWeight
	}

	// The zero rule comes first, whatever the allocation.
	switch {
	case in.Failure >= cfg.ZeroFailurePercent():
		r.Zero = ZeroTooManyFail
	case in.Resolution <= 0:
		r.Zero = ZeroNoSuccess
	}
	if r.Zero == NotZero && r.Raw > 0 {
		r.Total = r.Raw
	}
	if maxScore := cfg.MaxScore(); maxScore > 0 {
		r.Normalized = r.Total / maxScore
	}
	return r
}

// Score is Compute(cfg, FromStats(cfg, s, allocated)).
func Score(cfg Config, s Stats, allocated bool) Result {
	return Compute(cfg, FromStats(cfg, s, allocated))
}

// DifficultyComponent is 100 * clamp(avg, min, max) / max.
func DifficultyComponent(cfg Config, avg float64) float64 {
	if cfg.MaxDifficulty <= 0 {
		return 0
	}
	d := clamp(avg, float64(cfg.MinDifficulty), float64(cfg.MaxDifficulty))
	return 100 * d / float64(cfg.MaxDifficulty)
}

// TimeComponent is 100 * (timeout - avg) / timeout clamped to 0..100, and
// 100 when the average is 0.
func TimeComponent(cfg Config, avgSeconds float64) float64 {
	if avgSeconds <= 0 {
		return 100
	}
	timeout := cfg.Timeout.Seconds()
	if timeout <= 0 {
		return 0
	}
	return clamp(100*(timeout-avgSeconds)/timeout, 0, 100)
}

// Weights L1-normalises scores so that they sum to 1: negative and non-finite
// scores count as 0, and when every score is 0 all weights are 0 (the chain
// then receives no weights). The result has the length of scores.
func Weights(scores []float64) []float64 {
	out := make([]float64, len(scores))
	maxScore := 0.0
	for i, s := range scores {
		if math.IsNaN(s) || math.IsInf(s, 0) || s <= 0 {
			continue
		}
		out[i] = s
		maxScore = math.Max(maxScore, s)
	}
	if maxScore == 0 {
		return out
	}
	// Scale by the largest first so that the sum cannot overflow.
	sum := 0.0
	for i := range out {
		out[i] /= maxScore
		sum += out[i]
	}
	for i := range out {
		out[i] /= sum
	}
	return out
}

func clamp(v, lo, hi float64) float64 {
	return math.Max(lo, math.Min(hi, v))
}
