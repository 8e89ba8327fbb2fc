package bench

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/sn27/compute/internal/pow"
)

// Answers are the interactive flow's results.
type Answers struct {
	Difficulties    []int
	Count           int
	WorkloadProfile int
	// ExtendedOptions is "-O" for an empty answer and "None" for none, as the
	// hashcat solver's option takes them.
	ExtendedOptions string
}

// ParseDifficulties reads "7 8 9", "10, 11, 12" or "all" (every difficulty
// from min to max). An entry that is not a number or is out of range becomes
// the closer of min and max (min for non-numbers).
func ParseDifficulties(s string, lo, hi int) []int {
	s = strings.TrimSpace(s)
	if strings.EqualFold(s, "all") {
		var ds []int
		for d := lo; d <= hi; d++ {
			ds = append(ds, d)
		}
		return ds
	}
	var ds []int
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == ';' }) {
		n, err := strconv.Atoi(f)
		switch {
		case err != nil:
			n = lo
		case n < lo:
			n = lo
		case n > hi:
			n = hi
		}
		ds = append(ds, n)
	}
	if len(ds) == 0 {
		ds = []int{lo}
	}
	return ds
}

// ParseCount reads a positive count; anything else gives 1.
func ParseCount(s string) int {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n <= 0 {
		return 1
	}
	return n
}

// ParseProfile reads a workload profile 1..4; anything else gives 3.
func ParseProfile(s string) int {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 1 || n > 4 {
		return 3
	}
	return n
}

// ParseExtendedOptions: empty gives "-O", "None" gives none (returned as
// "None"), anything else is kept.
func ParseExtendedOptions(s string) string {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "-O"
	case strings.EqualFold(s, "none"):
		return "None"
	}
	return s
}

// PromptOptions change the interactive flow.
type PromptOptions struct {
	// Hashcat asks the two hashcat questions (workload profile, extra
	// options); without it they are skipped and their answers left zero.
	Hashcat bool
	// Echo writes each answer after its prompt, for answers piped in
	// rather than typed on a terminal, so that the output reads as a
	// dialogue.
	Echo bool
}

// Prompt asks the seed README's questions on out and reads the answers from
// in, one line each (end of input counts as empty answers): difficulties,
// count and, with opts.Hashcat, the hashcat workload profile and options.
func Prompt(in io.Reader, out io.Writer, opts PromptOptions) (Answers, error) {
	r := bufio.NewReader(in)
	ask := func(q string) (string, error) {
		if _, err := fmt.Fprintf(out, "%s\n> ", q); err != nil {
			return "", err
		}
		line, err := r.ReadString('\n')
		if err != nil && err != io.EOF {
			return "", fmt.Errorf("read answer: %w", err)
		}
		line = strings.TrimSpace(line)
		if opts.Echo {
			fmt.Fprintln(out, line)
		}
		return line, nil
	}
	var a Answers
	s, err := ask(fmt.Sprintf("What challenge difficulties would you like to benchmark? (%d to %d, e.g. \"7 8 9\", \"10, 11, 12\" or \"all\")", pow.MinDifficulty, pow.MaxDifficulty))
	if err != nil {
		return a, err
	}
	a.Difficulties = ParseDifficulties(s, pow.MinDifficulty, pow.MaxDifficulty)
	if s, err = ask("How many benchmarks would you like to perform?"); err != nil {
		return a, err
	}
	a.Count = ParseCount(s)
	if !opts.Hashcat {
		fmt.Fprintf(out, "\nDifficulties = %v\nBenchmarks to perform = %d\n", a.Difficulties, a.Count)
		return a, nil
	}
	if s, err = ask("What hashcat workload profile (1, 2, 3, or 4) would you like to use?"); err != nil {
		return a, err
	}
	a.WorkloadProfile = ParseProfile(s)
	if s, err = ask("Enter any extra hashcat options to use. Leave this empty to use the recommended -O option. Enter None for no extended options."); err != nil {
		return a, err
	}
	a.ExtendedOptions = ParseExtendedOptions(s)
	fmt.Fprintf(out, "\nDifficulties = %v\nBenchmarks to perform = %d\n", a.Difficulties, a.Count)
	return a, nil
}

// Expand lists the challenges a benchmark performs: each difficulty Count times.
func (a Answers) Expand() []int {
	var ds []int
	for _, d := range a.Difficulties {
		for range a.Count {
			ds = append(ds, d)
		}
	}
	return ds
}
