package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sn27/compute/internal/pow"
)

// Result summarises the runs of one difficulty.
type Result struct {
	Difficulty int           `json:"difficulty"`
	Runs       int           `json:"runs"`
	Successes  int           `json:"successes"`
	Mean       time.Duration `json:"-"`
	Median     time.Duration `json:"-"`
	MeanS      float64       `json:"mean_seconds"`
	MedianS    float64       `json:"median_seconds"`
	// HashRate is hashes per second: counted by the solver when it can,
	// else estimated as half the keyspace per successful solve.
	HashRate  float64  `json:"hashes_per_second"`
	Estimated bool     `json:"hash_rate_estimated"`
	Errors    []string `json:"errors,omitempty"`
}

// Config is one benchmark.
type Config struct {
	Difficulties []int // each is run Count times, in order
	Count        int
	// Progress receives a progress bar (stderr); nil for none.
	Progress io.Writer
}

// hashCounter is implemented by solvers that count the hashes they compute.
type hashCounter interface{ Hashes() uint64 }

// Run solves Count fresh challenges of every difficulty with s.
func Run(ctx context.Context, s pow.Solver, cfg Config) ([]Result, error) {
	if cfg.Count <= 0 {
		return nil, fmt.Errorf("benchmark: count must be > 0, got %d", cfg.Count)
	}
	if len(cfg.Difficulties) == 0 {
		return nil, errors.New("benchmark: no difficulties to run")
	}
	counter, _ := pow.Unwrap(s).(hashCounter)
	total := len(cfg.Difficulties) * cfg.Count
	done := 0
	var results []Result
	for _, d := range cfg.Difficulties {
		r := Result{Difficulty: d, Estimated: counter == nil}
		var times []time.Duration
		var hashes float64
		var busy time.Duration
		for range cfg.Count {
			progress(cfg.Progress, done, total, d)
			c, pw, err := pow.New(d)
			if err != nil {
				return results, fmt.Errorf("benchmark: %w", err)
			}
			job, err := c.Job()
			if err != nil {
				return results, fmt.Errorf("benchmark: %w", err)
			}
			var before uint64
			if counter != nil {
				before = counter.Hashes()
			}
			t0 := time.Now()
			got, err := s.Solve(ctx, job)
			el := time.Since(t0)
			busy += el
			if ctx.Err() != nil {
				endProgress(cfg.Progress)
				return results, fmt.Errorf("benchmark interrupted: %w", context.Cause(ctx))
			}
			r.Runs++
			if counter != nil {
				hashes += float64(counter.Hashes() - before)
			}
			switch {
			case err != nil:
				r.Errors = append(r.Errors, err.Error())
			case !pow.Verify(c, got):
				r.Errors = append(r.Errors, fmt.Sprintf("wrong password %q (want %q)", got, pw))
			default:
				r.Successes++
				times = append(times, el)
				if counter == nil {
					hashes += float64(job.Keyspace()) / 2
				}
			}
			done++
		}
		if len(times) > 0 {
			r.Mean, r.Median = meanMedian(times)
		}
		if counter != nil && busy > 0 {
			r.HashRate = hashes / busy.Seconds()
		} else if len(times) > 0 {
			var sum time.Duration
			for _, t := range times {
				sum += t
			}
			r.HashRate = hashes / sum.Seconds()
		}
		r.MeanS, r.MedianS = r.Mean.Seconds(), r.Median.Seconds()
		results = append(results, r)
	}
	progress(cfg.Progress, done, total, 0)
	endProgress(cfg.Progress)
	return results, nil
}

func meanMedian(ts []time.Duration) (time.Duration, time.Duration) {
	s := slices.Clone(ts)
	slices.Sort(s)
	var sum time.Duration
	for _, t := range s {
		sum += t
	}
	mean := sum / time.Duration(len(s))
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return mean, med
}

func progress(w io.Writer, done, total, d int) {
	if w == nil || total == 0 {
		return
	}
	const width = 30
	n := done * width / total
	label := "done"
	if d > 0 {
		label = fmt.Sprintf("difficulty %d", d)
	}
	fmt.Fprintf(w, "\r[%s%s] %d/%d %-14s", strings.Repeat("#", n), strings.Repeat(".", width-n), done, total, label)
}

func endProgress(w io.Writer) {
	if w != nil {
		fmt.Fprintln(w)
	}
}

// WriteTable prints one row per difficulty.
func WriteTable(w io.Writer, solver string, rs []Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "difficulty\truns\tsuccesses\tmean\tmedian\thash rate\t\n")
	for _, r := range rs {
		rate := FormatRate(r.HashRate)
		if r.Estimated && r.HashRate > 0 {
			rate += " (est.)"
		}
		mean, med := "-", "-"
		if r.Successes > 0 {
			mean, med = r.Mean.Round(time.Millisecond).String(), r.Median.Round(time.Millisecond).String()
		}
		fmt.Fprintf(tw, "%d\t%d\t%d\t%s\t%s\t%s\t\n", r.Difficulty, r.Runs, r.Successes, mean, med, rate)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "solver: %s\n", solver)
	for _, r := range rs {
		for _, e := range r.Errors {
			fmt.Fprintf(w, "difficulty %d: %s\n", r.Difficulty, e)
		}
	}
	return nil
}

// WriteJSON prints the results as a JSON document.
func WriteJSON(w io.Writer, solver string, rs []Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Solver  string   `json:"solver"`
		Results []Result `json:"results"`
	}{solver, rs})
}

// FormatRate prints hashes per second with a unit.
func FormatRate(h float64) string {
	switch {
	case h <= 0:
		return "-"
	case h >= 1e9:
		return fmt.Sprintf("%.2f GH/s", h/1e9)
	case h >= 1e6:
		return fmt.Sprintf("%.2f MH/s", h/1e6)
	case h >= 1e3:
		return fmt.Sprintf("%.2f kH/s", h/1e3)
	}
	return fmt.Sprintf("%.0f H/s", h)
}

// Throughput measures the raw hash rate of s over d.
func Throughput(ctx context.Context, s pow.Solver, d time.Duration) (float64, error) {
	tp, ok := pow.Unwrap(s).(pow.Throughputer)
	if !ok {
		return 0, fmt.Errorf("benchmark: solver %s cannot measure raw throughput", s.Name())
	}
	return tp.Throughput(ctx, d)
}
