package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestDevnetBinary runs the built `compute devnet` for 20 s and reads its
// final leaderboard: the fastest miner first, the cheater last with score 0,
// and incentive on chain for the leader.
func TestDevnetBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs a 20 s devnet")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bin := filepath.Join(t.TempDir(), "compute")
	if b, err := exec.CommandContext(ctx, "go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	out, err := exec.CommandContext(ctx, bin, "devnet", "--duration", "20s", "--miners", "2", "--bad",
		"--refresh", "5s", "--data", filepath.Join(t.TempDir(), "devnet")).CombinedOutput()
	if err != nil {
		t.Fatalf("compute devnet: %v\n%s", err, out)
	}
	text := string(out)
	t.Logf("\n%s", text)
	_, board, ok := strings.Cut(text, "final leaderboard")
	if !ok {
		t.Fatal("no final leaderboard")
	}
	var rows [][]string
	for _, line := range strings.Split(board, "\n")[2:] {
		// A row starts with its rank; a VERIFIED column follows when canary leases run.
		if f := strings.Fields(line); len(f) >= 11 && f[0][0] >= '1' && f[0][0] <= '9' {
			rows = append(rows, f)
		}
	}
	if len(rows) != 3 {
		t.Fatalf("leaderboard has %d rows", len(rows))
	}
	// RANK MINER UID DIFFICULTY LAST TIME SOLVED SCORE WEIGHT ON-CHAIN INCENTIVE
	if rows[0][1] != "Miner1" || rows[1][1] != "Miner2" || rows[2][1] != "Bad" {
		t.Fatalf("ranking %v", rows)
	}
	num := func(s string) float64 {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatalf("not a number: %q", s)
		}
		return v
	}
	if num(rows[0][7]) <= num(rows[1][7]) || num(rows[1][7]) <= 0 || num(rows[2][7]) != 0 {
		t.Fatalf("scores %v", rows)
	}
	if num(rows[0][10]) <= 0 || num(rows[2][10]) != 0 || rows[0][9] != "65535" {
		t.Fatalf("on-chain weights and incentive %v", rows)
	}
	// Commit-reveal is on, as on finney: the weights reached the chain as a
	// commit the dev chain revealed.
	if !strings.Contains(text, "weights committed at block") || !strings.Contains(text, "revealed by the chain at block") {
		t.Fatal("the summary does not show a commit revealed by the chain")
	}
	if !strings.Contains(text, "allocation o") {
		t.Fatal("the summary does not say whether allocation is on")
	}
}
