package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
)

func TestScoreCommand(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		contains []string
		exit     int
	}{
		{"miner B", []string{"--resolution", "92", "--difficulty", "9", "--elapsed", "16", "--failure", "3.1"},
			[]string{"+23.33", "188.78", "0.651"}, 0},
		{"miner A allocated", []string{"--resolution", "95", "--difficulty", "7", "--elapsed", "4.6", "--failure", "2.6", "--allocated"},
			[]string{"+250.00", "273.33", "0.943"}, 0},
		// time 100*(20-16)/20 = 20; 92 + 75 + 0.5*20 - 0.5*3.1 = 175.45; max 250 + 100 = 350.
		{"custom weights", []string{"--resolution", "92", "--difficulty", "9", "--elapsed", "16", "--failure", "3.1", "--weight.allocation", "1", "--timeout", "20s"},
			[]string{"+10.00", "175.45", "0.501", "total / 350.00"}, 0},
		{"bad input", []string{"--resolution", "120"}, nil, exitUsage},
		{"bad config", []string{"--resolution", "90", "--difficulty.min", "13"}, nil, exitUsage},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd := newScoreCommand()
			var out bytes.Buffer
			cmd.SetOut(&out)
			cmd.SetErr(&out)
			cmd.SetArgs(tc.args)
			err := cmd.Execute()
			if tc.exit != 0 {
				var ec exitCoder
				if !errors.As(err, &ec) || ec.ExitCode() != tc.exit {
					t.Fatalf("err %v, want exit code %d", err, tc.exit)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range tc.contains {
				if !strings.Contains(out.String(), s) {
					t.Errorf("output lacks %q:\n%s", s, out.String())
				}
			}
		})
	}
}

func TestScoreCommandJSON(t *testing.T) {
	cmd := newScoreCommand()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"--resolution", "92", "--difficulty", "9", "--elapsed", "16", "--failure", "3.1", "--json"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	var rep scoreReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("decode %s: %v", out.String(), err)
	}
	if math.Abs(rep.Total-188.783) > 0.001 || rep.MaxScore != 290 || len(rep.Components) != 5 {
		t.Fatalf("report %+v", rep)
	}
}
