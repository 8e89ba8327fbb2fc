package main

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sn27/compute/internal/score"
)

// ScoreFormulaOptions are the weights and bounds of the scoring formula.
type ScoreFormulaOptions struct {
	ResolutionWeight float64
	DifficultyWeight float64
	TimeWeight       float64
	PenaltyWeight    float64
	AllocationWeight float64
	MinDifficulty    int
	MaxDifficulty    int
	Timeout          time.Duration
	FailureWindow    int
	ZeroFailures     int
}

func (o *ScoreFormulaOptions) AddFlags(fs *pflag.FlagSet) {
	d := score.DefaultConfig()
	fs.Float64Var(&o.ResolutionWeight, "weight.resolution", d.ResolutionWeight, "weight of the success rate component")
	fs.Float64Var(&o.DifficultyWeight, "weight.difficulty", d.DifficultyWeight, "weight of the difficulty component")
	fs.Float64Var(&o.TimeWeight, "weight.time", d.TimeWeight, "weight of the elapsed time component")
	fs.Float64Var(&o.PenaltyWeight, "weight.penalty", d.PenaltyWeight, "weight of the failure penalty (subtracted)")
	fs.Float64Var(&o.AllocationWeight, "weight.allocation", d.AllocationWeight, "weight of the allocation bonus")
	fs.IntVar(&o.MinDifficulty, "difficulty.min", d.MinDifficulty, "minimum challenge difficulty")
	fs.IntVar(&o.MaxDifficulty, "difficulty.max", d.MaxDifficulty, "maximum challenge difficulty (the difficulty component's 100)")
	fs.DurationVar(&o.Timeout, "timeout", d.Timeout, "challenge timeout (an average at or above it scores 0 on time)")
	fs.IntVar(&o.FailureWindow, "failure.window", d.FailureWindow, "number of recent challenges the failure rate is taken over")
	fs.IntVar(&o.ZeroFailures, "failure.zero", d.ZeroFailures, "failures within the window at which the score becomes 0")
}

// Config turns the flags into a validated score configuration.
func (o *ScoreFormulaOptions) Config() (score.Config, error) {
	cfg := score.Config{
		ResolutionWeight: o.ResolutionWeight,
		DifficultyWeight: o.DifficultyWeight,
		TimeWeight:       o.TimeWeight,
		PenaltyWeight:    o.PenaltyWeight,
		AllocationWeight: o.AllocationWeight,
		MinDifficulty:    o.MinDifficulty,
		MaxDifficulty:    o.MaxDifficulty,
		Timeout:          o.Timeout,
		FailureWindow:    o.FailureWindow,
		ZeroFailures:     o.ZeroFailures,
	}
	if err := cfg.Validate(); err != nil {
		return score.Config{}, scoreUsageError{err}
	}
	return cfg, nil
}

// ScoreOptions are the flags of `compute score`.
type ScoreOptions struct {
	Formula ScoreFormulaOptions
	Inputs  score.Inputs
	JSON    bool
}

func (o *ScoreOptions) AddFlags(fs *pflag.FlagSet) {
	fs.Float64Var(&o.Inputs.Resolution, "resolution", 0, "percentage of challenges solved in the last 12 hours (0..100)")
	fs.Float64Var(&o.Inputs.Difficulty, "difficulty", 0, "average difficulty of the recent successful challenges")
	fs.Float64Var(&o.Inputs.Elapsed, "elapsed", 0, "average seconds of the successful challenges")
	fs.Float64Var(&o.Inputs.Failure, "failure", 0, "percentage of failures among the recent challenges (0..100)")
	fs.BoolVar(&o.Inputs.Allocated, "allocated", false, "the miner's machine is allocated to a renter")
	fs.BoolVar(&o.JSON, "json", false, "print the result as JSON")
	o.Formula.AddFlags(fs)
}

// scoreUsageError marks bad flag values (exit code 2).
type scoreUsageError struct{ err error }

func (e scoreUsageError) Error() string { return e.err.Error() }
func (e scoreUsageError) Unwrap() error { return e.err }
func (e scoreUsageError) ExitCode() int { return exitUsage }

func newScoreCommand() *cobra.Command {
	opts := &ScoreOptions{}
	cmd := &cobra.Command{
		Use:   "score",
		Short: "Compute a miner score from its statistics",
		Long: `score applies the validator's scoring formula to a miner's figures and prints every
component, its weight, the total and the normalised score (total / largest possible total).

Not allocated: resolution*w + difficulty*w + time*w - penalty*w
Allocated:     100*(resolution w + difficulty w + time w) + allocation*w
The score is 0 when the failure rate reaches failure.zero/failure.window or nothing
was solved (checked first), and negative totals become 0.`,
		Example: `  compute score --resolution 92 --difficulty 9 --elapsed 16 --failure 3.1
  compute score --resolution 95 --difficulty 7 --elapsed 4.6 --failure 2.6 --allocated --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runScore(opts, cmd.OutOrStdout())
		},
	}
	opts.AddFlags(cmd.Flags())
	return cmd
}

// scoreRow is one line of the printed table and of the JSON "components".
type scoreRow struct {
	Name     string  `json:"name"`
	Value    float64 `json:"value"`
	Weight   float64 `json:"weight"`
	Weighted float64 `json:"weighted"`
	Counted  bool    `json:"counted"`
}

// scoreReport is the JSON form of `compute score`.
type scoreReport struct {
	Inputs            score.Inputs `json:"inputs"`
	Components        []scoreRow   `json:"components"`
	MaxChallengeScore float64      `json:"max_challenge_score"`
	MaxScore          float64      `json:"max_score"`
	Zero              string       `json:"zero_reason,omitempty"`
	Raw               float64      `json:"raw"`
	Total             float64      `json:"total"`
	Normalized        float64      `json:"normalized"`
}

func runScore(opts *ScoreOptions, w io.Writer) error {
	cfg, err := opts.Formula.Config()
	if err != nil {
		return err
	}
	if err := opts.Inputs.Validate(); err != nil {
		return scoreUsageError{err}
	}
	r := score.Compute(cfg, opts.Inputs)
	alloc := opts.Inputs.Allocated
	rows := []scoreRow{
		{"resolution", r.Resolution, cfg.ResolutionWeight, r.Resolution * cfg.ResolutionWeight, !alloc},
		{"difficulty", r.Difficulty, cfg.DifficultyWeight, r.Difficulty * cfg.DifficultyWeight, !alloc},
		{"time", r.Time, cfg.TimeWeight, r.Time * cfg.TimeWeight, !alloc},
		{"penalty", r.Penalty, cfg.PenaltyWeight, -r.Penalty * cfg.PenaltyWeight, !alloc},
		{"allocation", r.Allocation, cfg.AllocationWeight, r.Allocation * cfg.AllocationWeight, alloc},
	}
	if opts.JSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(scoreReport{
			Inputs:            opts.Inputs,
			Components:        rows,
			MaxChallengeScore: cfg.MaxChallengeScore(),
			MaxScore:          cfg.MaxScore(),
			Zero:              string(r.Zero),
			Raw:               r.Raw,
			Total:             r.Total,
			Normalized:        r.Normalized,
		})
	}
	const line = "%-20s %8s %8s %10s\n"
	fmt.Fprintf(w, line, "component", "value", "weight", "weighted")
	for _, row := range rows {
		weighted := fmt.Sprintf("%+.2f", row.Weighted)
		if !row.Counted {
			weighted = "-"
		}
		fmt.Fprintf(w, line, row.Name, fmt.Sprintf("%.2f", row.Value), fmt.Sprintf("%.2f", row.Weight), weighted)
	}
	if alloc {
		fmt.Fprintf(w, line, "max challenge score", "", "", fmt.Sprintf("%+.2f", cfg.MaxChallengeScore()))
	}
	if r.Zero != score.NotZero {
		fmt.Fprintf(w, "%-20s %s (weighted sum %.2f)\n", "zero rule", r.Zero, r.Raw)
	} else if r.Raw < 0 {
		fmt.Fprintf(w, "%-20s %.2f -> 0\n", "negative total", r.Raw)
	}
	fmt.Fprintf(w, line, "total", "", "", fmt.Sprintf("%.2f", r.Total))
	fmt.Fprintf(w, line, "normalised", "", "", fmt.Sprintf("%.3f", r.Normalized))
	_, err = fmt.Fprintf(w, "(normalised = total / %.2f%s)\n", cfg.MaxScore(), allocNote(alloc))
	return err
}

func allocNote(alloc bool) string {
	if alloc {
		return "; allocated: the maximum challenge score plus the weighted allocation"
	}
	return "; not allocated: the sum of the weighted components"
}
