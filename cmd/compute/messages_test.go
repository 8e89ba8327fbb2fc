package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/sn27/compute/internal/wallet"
)

func TestOperatorMessage(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{errors.New("container: invalid device requirement: cpu.count must be between 1 and 4096, got 0"), "invalid device requirement: cpu.count must be between 1 and 4096, got 0"},
		{fmt.Errorf("flag 'requirement': %w", errors.New("container: invalid device requirement: x")), "flag 'requirement': invalid device requirement: x"},
		{fmt.Errorf("hotkey: %w", errors.New("wallet: key file not found: /w/default/hotkeys/default")), "hotkey: key file not found: /w/default/hotkeys/default"},
		{fmt.Errorf("open commit: %w", fmt.Errorf("tlock: %w", errors.New("tlock: bad"))), "open commit: bad"},
		{errors.New("renter: no miner meets the requirement"), "no miner meets the requirement"},
		{errors.New("read the container: image missing"), "read the container: image missing"}, // a word, not a prefix
		{errors.New("subcontainer: x"), "subcontainer: x"},
	}
	for _, tc := range tests {
		if got := operatorMessage(tc.err); got != tc.want {
			t.Errorf("operatorMessage(%q) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

func TestExitCodesOfFlagErrors(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		err  error
		want int
	}{
		{errors.New("flag 'validator.specs.blocks' must be at least 1"), exitUsage},
		{fmt.Errorf("validator: %w", errors.New("flag 'validator.specs.blocks' must be at least 1")), exitUsage},
		{errors.New("hashcat: flag 'miner.hashcat.workload.profile' must be 1..4, got 9"), exitUsage},
		{usageError{errors.New("anything")}, exitUsage},
		{errors.New("--axon.port 70000 is not a port"), exitUsage},
		{errors.New("--subtensor.network \"nope\" is unknown (finney, test, archive, local, dev)"), exitUsage},
		{errors.New("flags 'validator.challenge.blocks.min' (10) and 'validator.challenge.blocks.max' (5) must satisfy 1 <= min <= max"), exitUsage},
		{errors.New("-- not a flag"), exitError},
		{errors.New("--Weird"), exitError},
		{errors.New("connection refused"), exitError},
		{fmt.Errorf("open: %w", wallet.ErrWrongPassword), exitBadPassword},
		// cobra's own usage errors are typed by typedUsage (TestExitCodes runs them).
		{errors.New("unknown command \"x\" for \"compute\""), exitError},
	}
	for _, tc := range tests {
		if got := exitCode(ctx, tc.err); got != tc.want {
			t.Errorf("exitCode(%q) = %d, want %d", tc.err, got, tc.want)
		}
	}
	var b strings.Builder
	if code := report(&b, ctx, fmt.Errorf("flag 'ram': %w", errors.New("renter: invalid size"))); code != exitUsage || b.String() != "compute: flag 'ram': invalid size\n" {
		t.Fatalf("report: %d %q", code, b.String())
	}
}

// TestBadFlagValuesExitTwo runs commands whose flag values are wrong and
// checks the usage exit code and an unprefixed message.
func TestBadFlagValuesExitTwo(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"allocate", "--hotkey", "notakey", "--wallet.path", dir, "--validator.data_dir", dir}, "flag 'hotkey'"},
		{[]string{"allocate", "release", "--hotkey", "notakey", "--wallet.path", dir, "--validator.data_dir", dir}, "flag 'hotkey'"},
		{[]string{"weights", "show", "--hotkey", "notakey"}, "not an SS58 address"},
		{[]string{"allocate", "--ram", "-1GiB", "--validator.data_dir", dir}, "a size cannot be negative"},
		{[]string{"allocate", "--cpu.count", "x"}, "invalid argument"},
		{[]string{"benchmark", "--count", "0"}, "flag 'count'"},
		{[]string{"benchmark", "--solver", "nope", "--difficulties", "7"}, "flag 'solver': \"nope\" is unknown"},
		{[]string{"challenge", "solve", "--solver", "nope", "--hash", "x", "--salt", "y", "--mask", "?1"}, "flag 'solver'"},
		{[]string{"metagraph", "--subtensor.network", "nope"}, "flag 'subtensor.network': \"nope\" is unknown"},
		{[]string{"metagraph", "--subtensor.chain_endpoint", "ftp://x"}, "scheme \"ftp\" is not supported"},
		{[]string{"validator", "--validator.challenge.blocks.min", "10", "--validator.challenge.blocks.max", "5", "--wallet.path", dir, "--validator.data_dir", dir}, "flag 'validator.challenge.blocks.max': (5) must be at least the fewest blocks between challenge rounds (10)"},
		{[]string{"metagraph", "--netuid", "-1"}, "invalid argument"},
		{[]string{"validator", "--validator.specs.blocks", "0", "--wallet.path", dir, "--validator.data_dir", dir}, "flag 'validator.specs.blocks'"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, msg := runCLIErr(context.Background(), tc.args...)
			if code != exitUsage || !strings.Contains(msg, tc.want) {
				t.Fatalf("exit %d %q, want %d and %q", code, msg, exitUsage, tc.want)
			}
		})
	}
}
