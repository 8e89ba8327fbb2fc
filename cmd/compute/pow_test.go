package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/sn27/compute/internal/pow"
)

func runPowCommand(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	root := newRootCommand()
	var out, errb bytes.Buffer
	root.SetArgs(args)
	root.SetIn(strings.NewReader(stdin))
	root.SetOut(&out)
	root.SetErr(&errb)
	err := root.ExecuteContext(context.Background())
	return out.String(), errb.String(), err
}

func TestChallengeNewSolve(t *testing.T) {
	out, _, err := runPowCommand(t, "", "challenge", "new", "--difficulty", "5", "--json", "--reveal")
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		pow.Challenge
		Password string `json:"password"`
	}
	if err := json.Unmarshal([]byte(out), &c); err != nil || !pow.Verify(c.Challenge, c.Password) {
		t.Fatalf("challenge %s: %v", out, err)
	}
	out, _, err = runPowCommand(t, "", "challenge", "solve", "--hash", c.Hash, "--salt", c.Salt, "--chars", c.Chars, "--mask", c.Mask, "--solver", "cpu")
	if err != nil || strings.TrimSpace(out) != c.Password {
		t.Fatalf("solve: %q, %v; want %q", out, err, c.Password)
	}
	_, _, err = runPowCommand(t, "", "challenge", "solve", "--hash", "$BLAKE2$00", "--salt", c.Salt, "--chars", c.Chars, "--mask", c.Mask, "--solver", "cpu")
	var ec exitCoder
	if err == nil || !asExitCoder(err, &ec) || ec.ExitCode() != exitUsage {
		t.Fatalf("bad hash: %v", err)
	}
	if _, _, err := runPowCommand(t, "", "challenge", "new", "--difficulty", "0"); err == nil {
		t.Fatal("difficulty 0 accepted")
	}
}

func asExitCoder(err error, ec *exitCoder) bool {
	e, ok := err.(exitCoder)
	if ok {
		*ec = e
	}
	return ok
}

// TestBenchmarkInteractive feeds the seed README's answers through stdin.
func TestBenchmarkInteractive(t *testing.T) {
	cmd := &cobra.Command{}
	var out, errb bytes.Buffer
	cmd.SetIn(strings.NewReader("3, 4\n2\n7\n\n"))
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetContext(context.Background())
	o := &benchmarkOptions{Count: 1, Difficulties: "7"}
	o.Solver = "cpu"
	o.Timeout = pow.DefaultTimeout
	o.Duration = 0
	if err := runBenchmark(cmd, &globalOptions{}, o, true); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{"What challenge difficulties", "Benchmarks performed: [7 7 7 7]", "difficulty", "median", "cpu ("} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "hashcat") {
		t.Errorf("hashcat questions asked for the cpu solver:\n%s", s)
	}
	if o.WorkloadProfile != 0 || o.ExtendedOptions != "" {
		t.Errorf("profile %d options %q changed for the cpu solver", o.WorkloadProfile, o.ExtendedOptions)
	}
}

// TestBenchmarkPipedAnswers: answers piped in are read without
// --interactive; a flag that answers turns the questions off.
func TestBenchmarkPipedAnswers(t *testing.T) {
	out, _, err := runPowCommand(t, "8\n2\n", "benchmark", "--solver", "cpu")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"What challenge difficulties", "> 8\n", "Benchmarks performed: [8 8]", "median"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "hashcat") {
		t.Errorf("hashcat questions asked for --solver cpu:\n%s", out)
	}
	out, _, err = runPowCommand(t, "9\n5\n", "benchmark", "--solver", "cpu", "--difficulties", "7")
	if err != nil || strings.Contains(out, "What challenge") || strings.Contains(out, "Benchmarks performed") {
		t.Fatalf("questions asked despite --difficulties: %v\n%s", err, out)
	}
}

func TestAnswersOnStdin(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	file := filepath.Join(t.TempDir(), "answers")
	if err := os.WriteFile(file, []byte("7\n1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	for name, tc := range map[string]struct {
		r    io.Reader
		want bool
	}{
		"pipe": {r, true}, "file": {f, true}, "/dev/null": {null, false}, "in-process reader": {strings.NewReader(""), true},
	} {
		if got := answersOnStdin(tc.r); got != tc.want {
			t.Errorf("%s: %v, want %v", name, got, tc.want)
		}
	}
}

// TestBenchmarkInteractiveFlag: --interactive asks the questions on piped
// stdin, alongside other flags; an out-of-range difficulty and an invalid
// profile take the original's defaults.
func TestBenchmarkInteractiveFlag(t *testing.T) {
	out, _, err := runPowCommand(t, "5\n2\n9\nNone\n", "benchmark", "--interactive", "--solver", "cpu")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"How many benchmarks", "Benchmarks performed: [7 7]", "median", "cpu ("} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestBenchmarkFlags(t *testing.T) {
	out, _, err := runPowCommand(t, "", "benchmark", "--difficulties", "7", "--count", "1", "--solver", "cpu", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Solver  string `json:"solver"`
		Results []struct {
			Difficulty, Runs, Successes int
		} `json:"results"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil || len(r.Results) != 1 || r.Results[0].Successes != 1 {
		t.Fatalf("json %s: %v", out, err)
	}
	out, _, err = runPowCommand(t, "", "benchmark", "--throughput", "--solver", "cpu", "--duration", "200ms")
	if err != nil || !strings.Contains(out, "H/s") {
		t.Fatalf("throughput %q: %v", out, err)
	}
}

// TestChallengeNewCopyable: the printed solve command quotes the mask (a glob
// to the shell), and the JSON keeps the charset's < > & unescaped.
func TestChallengeNewCopyable(t *testing.T) {
	for range 20 {
		out := runCLI(t, context.Background(), "challenge", "new", "--difficulty", "4")
		if !strings.Contains(out, "--mask '?1?1?1?1'\n") {
			t.Fatalf("solve command does not quote the mask:\n%s", out)
		}
		js := runCLI(t, context.Background(), "challenge", "new", "--difficulty", "4", "--json")
		if strings.Contains(js, `\u00`) {
			t.Fatalf("JSON escapes characters of the charset:\n%s", js)
		}
	}
}
