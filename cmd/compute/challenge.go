package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sn27/compute/internal/pow"
	"github.com/sn27/compute/internal/pow/hashcat"
	"github.com/sn27/compute/internal/pow/pick"
)

// PowSolverOptions are the flags that choose and configure a proof-of-work
// solver (shared by `challenge solve` and `benchmark`).
type PowSolverOptions struct {
	Solver          string
	Timeout         time.Duration
	HashcatPath     string
	WorkloadProfile int
	ExtendedOptions string
}

// AddFlags registers the solver flags.
func (o *PowSolverOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Solver, "solver", "auto", "proof-of-work solver: auto, cpu, cuda or hashcat")
	fs.DurationVar(&o.Timeout, "timeout", pow.DefaultTimeout, "time limit per challenge (0 = none)")
	fs.StringVar(&o.HashcatPath, "miner.hashcat.path", hashcat.DefaultPath, "hashcat binary")
	fs.IntVar(&o.WorkloadProfile, "miner.hashcat.workload.profile", hashcat.DefaultWorkloadProfile, "hashcat workload profile (1-4)")
	fs.StringVar(&o.ExtendedOptions, "miner.hashcat.extended.options", hashcat.DefaultExtendedOptions, `extra hashcat options ("None" for none)`)
}

// check refuses an unknown --solver before anything starts.
func (o *PowSolverOptions) check() error {
	if !slices.Contains(pick.Names, o.Solver) {
		return powUsageError{fmt.Errorf("flag 'solver': %q is unknown (want one of %s)", o.Solver, strings.Join(pick.Names, ", "))}
	}
	return nil
}

// PickOptions converts the flags for pick.New.
func (o *PowSolverOptions) PickOptions() pick.Options {
	t := o.Timeout
	if t == 0 {
		t = -1 // no limit
	}
	return pick.Options{
		Timeout: t,
		Hashcat: hashcat.Options{Path: o.HashcatPath, WorkloadProfile: o.WorkloadProfile, ExtendedOptions: o.ExtendedOptions},
	}
}

type powUsageError struct{ err error }

func (e powUsageError) Error() string { return e.err.Error() }
func (e powUsageError) Unwrap() error { return e.err }
func (e powUsageError) ExitCode() int { return exitUsage }

func newChallengeCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "challenge",
		Short: "Create and solve proof-of-work challenges",
		Long: `challenge makes and cracks the subnet's proof-of-work challenges: BLAKE2b-512 of
password+salt (hashcat mode 610), the password drawn from 10 characters chosen at random.`,
	}
	cmd.AddCommand(newChallengeNewCommand(), newChallengeSolveCommand(g))
	return cmd
}

type challengeNewOptions struct {
	Difficulty int
	Reveal     bool
	JSON       bool
}

func newChallengeNewCommand() *cobra.Command {
	o := &challengeNewOptions{}
	cmd := &cobra.Command{
		Use:     "new",
		Short:   "Create a challenge as a validator would",
		Example: "  compute challenge new --difficulty 7 --reveal\n  compute challenge new --difficulty 9 --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runChallengeNew(o, cmd.OutOrStdout())
		},
	}
	cmd.Flags().IntVar(&o.Difficulty, "difficulty", pow.MinDifficulty, "password length (1..18)")
	cmd.Flags().BoolVar(&o.Reveal, "reveal", false, "also print the password")
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print the challenge as synapse JSON")
	return cmd
}

func runChallengeNew(o *challengeNewOptions, w io.Writer) error {
	c, pw, err := pow.New(o.Difficulty)
	if err != nil {
		return powUsageError{fmt.Errorf("flag 'difficulty': %w", err)}
	}
	if o.JSON {
		v := struct {
			pow.Challenge
			Password string `json:"password,omitempty"`
		}{Challenge: c}
		if o.Reveal {
			v.Password = pw
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false) // the charset's < > & as they are, not \u003c
		return enc.Encode(v)
	}
	fmt.Fprintf(w, "hash:       %s\nsalt:       %s\nmode:       %s\nchars:      %s\nmask:       %s\ndifficulty: %d\n",
		c.Hash, c.Salt, c.Mode, c.Chars, c.Mask, c.Difficulty)
	if o.Reveal {
		fmt.Fprintf(w, "password:   %s\n", pw)
	}
	fmt.Fprintf(w, "solve with: compute challenge solve --hash '%s' --salt %s --chars '%s' --mask '%s'\n", c.Hash, c.Salt, c.Chars, c.Mask)
	return nil
}

type challengeSolveOptions struct {
	PowSolverOptions
	Hash, Salt, Chars, Mask string
	Custom                  [3]string
	JSON                    bool
}

func newChallengeSolveCommand(g *globalOptions) *cobra.Command {
	o := &challengeSolveOptions{}
	cmd := &cobra.Command{
		Use:   "solve",
		Short: "Crack a challenge with a solver",
		Long: `solve cracks a mode-610 challenge. The mask is a hashcat mask: ?1..?4 (custom charsets
from --chars and --custom-charset2..4), ?l ?u ?d ?h ?H ?s ?a ?b, literal characters and ?? for '?'.
Exit code 1 when the password is not found or the time limit is reached.`,
		Example: `  compute challenge solve --hash '$BLAKE2$…' --salt 0123456789abcdef --chars 'a1b2c3d4e5' --mask '?1?1?1?1?1?1?1'
  compute challenge solve … --solver hashcat --miner.hashcat.workload.profile 4`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runChallengeSolve(cmd, g, o)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.Hash, "hash", "", `challenge hash, "$BLAKE2$" + 128 hex characters`)
	fs.StringVar(&o.Salt, "salt", "", "challenge salt (hex)")
	fs.StringVar(&o.Chars, "chars", "", "custom charset ?1")
	fs.StringVar(&o.Mask, "mask", "", "hashcat mask, e.g. ?1?1?1?1?1?1?1")
	for i := range o.Custom {
		fs.StringVar(&o.Custom[i], fmt.Sprintf("custom-charset%d", i+2), "", fmt.Sprintf("custom charset ?%d", i+2))
	}
	fs.BoolVar(&o.JSON, "json", false, "print the answer as JSON (the synapse's output field)")
	o.PowSolverOptions.AddFlags(fs)
	for _, f := range []string{"hash", "salt", "mask"} {
		_ = cmd.MarkFlagRequired(f)
	}
	return cmd
}

func runChallengeSolve(cmd *cobra.Command, g *globalOptions, o *challengeSolveOptions) error {
	ctx := cmd.Context()
	log := g.QuietLogger(cmd.ErrOrStderr())
	if err := o.check(); err != nil {
		return err
	}
	custom := append([]string{o.Chars}, o.Custom[:]...)
	sets, err := pow.ParseMask(o.Mask, custom...)
	if err != nil {
		return powUsageError{fmt.Errorf("flag 'mask': %w", err)}
	}
	c := pow.Challenge{Hash: o.Hash, Salt: o.Salt, Mode: pow.DefaultMode, Chars: o.Chars, Mask: "?1", Difficulty: 1}
	one, err := c.Job() // validates hash and salt
	if err != nil {
		return powUsageError{err}
	}
	job := &pow.Job{Target: one.Target, Salt: one.Salt, Charsets: sets}
	if job.Keyspace() >= 1<<63 {
		return powUsageError{fmt.Errorf("flag 'mask': %w: keyspace exceeds 2^63", pow.ErrInvalidChallenge)}
	}
	s, err := pick.New(ctx, o.Solver, o.PickOptions(), log)
	if err != nil {
		return err
	}
	defer s.Close()
	t0 := time.Now()
	pw, err := s.Solve(ctx, job)
	el := time.Since(t0)
	if o.JSON {
		out := map[string]any{"password": nil, "local_execution_time": el.Seconds(), "error": nil}
		if err != nil {
			out["error"] = err.Error()
		} else {
			out["password"] = pw
		}
		if e := json.NewEncoder(cmd.OutOrStdout()).Encode(out); e != nil {
			return e
		}
		return err
	}
	if err != nil {
		if errors.Is(err, pow.ErrNotFound) {
			return fmt.Errorf("%w (searched %d candidates in %v)", err, job.Keyspace(), el.Round(time.Millisecond))
		}
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s\n", pw)
	log.Info("solved", "solver", s.Name(), "elapsed", el.Round(time.Microsecond))
	return nil
}
