package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/sn27/compute/internal/plot"
	"github.com/sn27/compute/internal/pow"
	"github.com/sn27/compute/internal/pow/bench"
	"github.com/sn27/compute/internal/pow/cpu"
	"github.com/sn27/compute/internal/pow/pick"
)

type benchmarkOptions struct {
	PowSolverOptions
	Difficulties string
	Count        int
	JSON         bool
	Throughput   bool
	Duration     time.Duration
	Workers      int
	Kernel       string
	Interactive  bool
	Plot         string
}

func newBenchmarkCommand(g *globalOptions) *cobra.Command {
	o := &benchmarkOptions{}
	cmd := &cobra.Command{
		Use:   "benchmark",
		Short: "Benchmark the proof-of-work solvers",
		Long: `benchmark solves fresh challenges of the chosen difficulties and prints, per difficulty,
runs, successes, mean and median time and hash rate. Run without flags on a terminal (or with
--interactive, which also reads piped answers) it asks the questions of the original
benchmark script (difficulties, count, and for --solver hashcat the workload profile and
extra hashcat options). Answers piped in are read the same way, without --interactive, unless
a flag already answers (--difficulties, --count, --json, --throughput, or a hashcat option).
--throughput measures the raw hash rate instead, like
'hashcat -b -m 610'.`,
		Example: `  compute benchmark
  printf '7 8\n2\n' | compute benchmark --solver cpu
  compute benchmark --difficulties 7,8,9 --count 3 --solver cpu --json
  compute benchmark --throughput --solver cpu --duration 10s`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBenchmark(cmd, g, o, o.Interactive || !answeredByFlags(cmd) && answersOnStdin(cmd.InOrStdin()))
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.Difficulties, "difficulties", fmt.Sprint(pow.MinDifficulty), `difficulties, e.g. "7,8,9", "10 11 12" or "all"`)
	fs.IntVar(&o.Count, "count", 1, "runs per difficulty")
	fs.BoolVar(&o.JSON, "json", false, "print results as JSON")
	fs.BoolVar(&o.Interactive, "interactive", false, "ask the original benchmark questions on stdin even with other flags or without a terminal")
	fs.StringVar(&o.Plot, "plot", "", "also write a bar chart to this SVG file (mean solve time per difficulty, or the hash rate with --throughput)")
	fs.BoolVar(&o.Throughput, "throughput", false, "measure the raw hash rate instead of solving challenges")
	fs.DurationVar(&o.Duration, "duration", 10*time.Second, "how long --throughput measures (the cpu solver)")
	fs.IntVar(&o.Workers, "cpu.workers", 0, "cpu solver goroutines (0 = GOMAXPROCS)")
	fs.StringVar(&o.Kernel, "cpu.kernel", "auto", "cpu solver kernel: auto, avx512, avx2 or generic")
	o.PowSolverOptions.AddFlags(fs)
	return cmd
}

// answerFlags are the benchmark flags that answer the interactive questions
// or make the output machine-read; any of them turns the questions off.
var answerFlags = []string{"difficulties", "count", "json", "throughput", "miner.hashcat.workload.profile", "miner.hashcat.extended.options"}

func answeredByFlags(cmd *cobra.Command) bool {
	for _, f := range answerFlags {
		if cmd.Flags().Changed(f) {
			return true
		}
	}
	return false
}

// answersOnStdin reports whether the questions can be answered on r: a
// terminal, a pipe or a file; not a device such as /dev/null. A reader
// that is not a file (set in process) counts as answers.
func answersOnStdin(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return true
	}
	if term.IsTerminal(int(f.Fd())) {
		return true
	}
	st, err := f.Stat()
	if err != nil {
		return false
	}
	return st.Mode()&os.ModeNamedPipe != 0 || st.Mode().IsRegular()
}

// typed reports whether r is a terminal (answers are typed, not piped).
func typed(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func runBenchmark(cmd *cobra.Command, g *globalOptions, o *benchmarkOptions, interactive bool) error {
	ctx := cmd.Context()
	stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
	log := g.QuietLogger(stderr)
	if o.Count <= 0 {
		return powUsageError{fmt.Errorf("flag 'count' must be > 0, got %d", o.Count)}
	}
	if err := o.check(); err != nil {
		return err
	}
	difficulties := bench.ParseDifficulties(o.Difficulties, pow.MinDifficulty, pow.MaxDifficulty)
	if interactive {
		hashcat := o.Solver == "hashcat"
		a, err := bench.Prompt(cmd.InOrStdin(), stdout, bench.PromptOptions{Hashcat: hashcat, Echo: !typed(cmd.InOrStdin())})
		if err != nil {
			return err
		}
		difficulties, o.Count = a.Difficulties, a.Count
		if hashcat {
			o.WorkloadProfile, o.ExtendedOptions = a.WorkloadProfile, a.ExtendedOptions
		}
		fmt.Fprintf(stdout, "Benchmarks performed: %v\n\n", a.Expand())
	}
	popts := o.PickOptions()
	popts.CPU = cpu.Options{Workers: o.Workers, Kernel: o.Kernel}
	s, err := pick.New(ctx, o.Solver, popts, log)
	if err != nil {
		return err
	}
	defer s.Close()
	name := solverLabel(s)
	if o.Throughput {
		rate, err := bench.Throughput(ctx, s, o.Duration)
		if err != nil {
			return err
		}
		if o.JSON {
			_, err = fmt.Fprintf(stdout, "{\"solver\": %q, \"hashes_per_second\": %.0f}\n", name, rate)
		} else {
			_, err = fmt.Fprintf(stdout, "%s: %s\n", name, bench.FormatRate(rate))
		}
		if err != nil {
			return err
		}
		return writeBenchmarkPlot(o, stdout, stderr, bench.ThroughputChart(name, rate))
	}
	results, err := bench.Run(ctx, s, bench.Config{Difficulties: difficulties, Count: o.Count, Progress: stderr})
	if len(results) > 0 {
		var werr error
		if o.JSON {
			werr = bench.WriteJSON(stdout, name, results)
		} else {
			werr = bench.WriteTable(stdout, name, results)
		}
		if err == nil {
			err = werr
		}
		if perr := writeBenchmarkPlot(o, stdout, stderr, bench.Chart(name, results)); err == nil {
			err = perr
		}
	}
	return err
}

// writeBenchmarkPlot writes --plot and says so (on stderr when stdout is JSON).
func writeBenchmarkPlot(o *benchmarkOptions, stdout, stderr io.Writer, ch plot.Chart) error {
	if o.Plot == "" {
		return nil
	}
	if err := plot.WriteFile(o.Plot, ch); err != nil {
		return err
	}
	if o.JSON {
		stdout = stderr
	}
	fmt.Fprintf(stdout, "plot written to %s\n", o.Plot)
	return nil
}

func solverLabel(s pow.Solver) string {
	inner := pow.Unwrap(s)
	var extra []string
	if c, ok := inner.(*cpu.Solver); ok {
		extra = append(extra, c.Kernel(), fmt.Sprintf("%d workers", c.Workers()))
	}
	if h, ok := inner.(interface{ DeviceTypes() string }); ok {
		extra = append(extra, "-D "+h.DeviceTypes())
	}
	if len(extra) == 0 {
		return s.Name()
	}
	return s.Name() + " (" + strings.Join(extra, ", ") + ")"
}
