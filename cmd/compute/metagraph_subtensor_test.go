package main

import (
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/sn27/compute/internal/chain"
	"github.com/sn27/compute/internal/chain/subtensor/replay"
)

// TestMetagraphAgainstRecordedFinney builds the binary and runs
// `compute metagraph --netuid 1 --subtensor.chain_endpoint ws://... --json` against a
// replay of the recorded finney node (netuid 1 at block 6,852,690).
func TestMetagraphAgainstRecordedFinney(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	srv, err := replay.New(nil, "metagraph")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bin := filepath.Join(t.TempDir(), "compute")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	cmd := exec.CommandContext(ctx, bin, "metagraph", "--netuid", "1", "--subtensor.chain_endpoint", srv.URL(), "--json")
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("compute metagraph: %v\n%s", err, stderr)
	}
	var mg chain.Metagraph
	if err := json.Unmarshal(out, &mg); err != nil {
		t.Fatalf("output is not a metagraph: %v\n%.500s", err, out)
	}
	if mg.Netuid != 1 || mg.Block != 6852690 || len(mg.Neurons) != 1024 {
		t.Fatalf("netuid %d block %d, %d neurons", mg.Netuid, mg.Block, len(mg.Neurons))
	}
	n := mg.Neurons[0]
	if n.Hotkey != "5DkMmXtWf16RNdusZGCrJ7ca7ADPgRnZLVWCWbgA7s7sy1AQ" || n.Coldkey != "5EhQWxcFdYAk7B9tNdQnJQFzww5N3964rbsMk55SujcX3PwM" ||
		n.Axon.IP != "192.222.59.109" || n.Axon.Port != 6028 || n.Axon.Version != 9011001 ||
		n.StakeRao != 2557172316 || n.LastUpdate != 2543521 {
		t.Fatalf("uid 0: %+v", n)
	}
	permits, ips := 0, 0
	for _, n := range mg.Neurons {
		if n.ValidatorPermit {
			permits++
		}
		if n.Axon.IP != "0.0.0.0" {
			ips++
		}
	}
	if permits != 12 || ips != 827 {
		t.Fatalf("%d validator permits, %d axons with an IP", permits, ips)
	}
}
