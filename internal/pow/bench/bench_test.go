package bench_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sn27/compute/internal/pow"
	"github.com/sn27/compute/internal/pow/bench"
	"github.com/sn27/compute/internal/pow/cpu"
)

func TestParseDifficulties(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"6", "[7]"},
		{"7 8 9", "[7 8 9]"},
		{"10, 11, 12", "[10 11 12]"},
		{"all", "[7 8 9 10 11 12]"},
		{"ALL", "[7 8 9 10 11 12]"},
		{"3 15", "[7 12]"},
		{"x, 9", "[7 9]"},
		{"", "[7]"},
		{"-5", "[7]"},
	}
	for _, tc := range tests {
		if got := fmt.Sprint(bench.ParseDifficulties(tc.in, 7, 12)); got != tc.want {
			t.Errorf("%q: %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestParseAnswers(t *testing.T) {
	for in, want := range map[string]int{"2": 2, "0": 1, "x": 1, "": 1, " 5 ": 5} {
		if got := bench.ParseCount(in); got != want {
			t.Errorf("count %q: %d, want %d", in, got, want)
		}
	}
	for in, want := range map[string]int{"1": 1, "4": 4, "5": 3, "": 3, "fast": 3} {
		if got := bench.ParseProfile(in); got != want {
			t.Errorf("profile %q: %d, want %d", in, got, want)
		}
	}
	for in, want := range map[string]string{"": "-O", "None": "None", "none": "None", "-O --force": "-O --force"} {
		if got := bench.ParseExtendedOptions(in); got != want {
			t.Errorf("options %q: %q, want %q", in, got, want)
		}
	}
}

func TestPrompt(t *testing.T) {
	var out bytes.Buffer
	a, err := bench.Prompt(strings.NewReader("6, 7 8\n2\n9\nNone\n"), &out, bench.PromptOptions{Hashcat: true})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(a.Difficulties) != "[7 7 8]" || a.Count != 2 || a.WorkloadProfile != 3 || a.ExtendedOptions != "None" {
		t.Errorf("answers %+v", a)
	}
	if fmt.Sprint(a.Expand()) != "[7 7 7 7 8 8]" {
		t.Errorf("expand %v", a.Expand())
	}
	for _, q := range []string{"difficulties", "How many benchmarks", "workload profile", "extra hashcat options"} {
		if !strings.Contains(out.String(), q) {
			t.Errorf("question %q not asked:\n%s", q, out.String())
		}
	}
	// End of input: every answer takes its default.
	a, err = bench.Prompt(strings.NewReader(""), &out, bench.PromptOptions{Hashcat: true})
	if err != nil || fmt.Sprint(a.Difficulties) != "[7]" || a.Count != 1 || a.WorkloadProfile != 3 || a.ExtendedOptions != "-O" {
		t.Errorf("defaults %+v %v", a, err)
	}
}

// TestPromptWithoutHashcat: for a solver other than hashcat only the
// difficulties and the count are asked; piped answers are echoed.
func TestPromptWithoutHashcat(t *testing.T) {
	var out bytes.Buffer
	a, err := bench.Prompt(strings.NewReader("8 9\n3\n"), &out, bench.PromptOptions{Echo: true})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(a.Difficulties) != "[8 9]" || a.Count != 3 || a.WorkloadProfile != 0 || a.ExtendedOptions != "" {
		t.Errorf("answers %+v", a)
	}
	s := out.String()
	if strings.Contains(s, "hashcat") || strings.Contains(s, "workload") {
		t.Errorf("hashcat questions asked:\n%s", s)
	}
	if !strings.Contains(s, "> 8 9\n") || !strings.Contains(s, "> 3\n") || !strings.Contains(s, "Benchmarks to perform = 3") {
		t.Errorf("answers not echoed:\n%s", s)
	}
}

func TestRun(t *testing.T) {
	s, err := cpu.New(cpu.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var progress bytes.Buffer
	rs, err := bench.Run(context.Background(), pow.WithTimeout(s, 30*time.Second), bench.Config{Difficulties: []int{3, 4}, Count: 3, Progress: &progress})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 || rs[0].Runs != 3 || rs[0].Successes != 3 || rs[1].Successes != 3 || rs[1].Mean <= 0 || rs[1].HashRate <= 0 || rs[1].Estimated {
		t.Fatalf("results %+v", rs)
	}
	if !strings.Contains(progress.String(), "6/6") {
		t.Errorf("progress %q", progress.String())
	}
	var table, js bytes.Buffer
	if err := bench.WriteTable(&table, "cpu", rs); err != nil || !strings.Contains(table.String(), "hash rate") {
		t.Errorf("table %q %v", table.String(), err)
	}
	if err := bench.WriteJSON(&js, "cpu", rs); err != nil {
		t.Fatal(err)
	}
	var back struct {
		Results []bench.Result `json:"results"`
	}
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || back.Results[1].Successes != 3 {
		t.Errorf("json %s %v", js.String(), err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := bench.Run(ctx, s, bench.Config{Difficulties: []int{5}, Count: 1}); err == nil {
		t.Error("cancelled run: want an error")
	}
	if _, err := bench.Run(context.Background(), s, bench.Config{Difficulties: []int{5}}); err == nil {
		t.Error("zero count: want an error")
	}
}

func TestThroughput(t *testing.T) {
	s, _ := cpu.New(cpu.Options{})
	r, err := bench.Throughput(context.Background(), pow.WithTimeout(s, time.Second), 100*time.Millisecond)
	if err != nil || r <= 0 {
		t.Fatalf("throughput %v, %v", r, err)
	}
}
