package main

import (
	"context"
	"errors"
	"io"
	"testing"
)

func TestExitCodes(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"success", []string{"version"}, 0},
		{"unknown flag", []string{"metagraph", "--bogus"}, exitUsage},
		{"bad flag value", []string{"score", "--resolution", "abc"}, exitUsage},
		{"unknown command", []string{"nosuch"}, exitUsage},
		{"extra argument", []string{"metagraph", "extra"}, exitUsage},
		{"extra argument of a subcommand", []string{"localnet", "subnet", "create", "extra"}, exitUsage},
		{"no command", []string{}, 0},
		{"missing required flag", []string{"challenge", "solve", "--solver", "cpu"}, exitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := newRootCommand()
			root.SetOut(io.Discard)
			root.SetErr(io.Discard)
			root.SetArgs(tt.args)
			err := root.ExecuteContext(context.Background())
			if got := exitCode(context.Background(), err); got != tt.want {
				t.Fatalf("compute %v: exit code %d (err %v), want %d", tt.args, got, err, tt.want)
			}
		})
	}
}

func TestExitCodeInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if got := exitCode(ctx, context.Canceled); got != exitInterrupted {
		t.Fatalf("exit code %d, want %d", got, exitInterrupted)
	}
	if got := exitCode(context.Background(), errors.New("boom")); got != exitError {
		t.Fatalf("exit code %d, want %d", got, exitError)
	}
}
