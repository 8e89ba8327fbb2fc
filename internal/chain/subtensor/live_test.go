package subtensor

import (
	"context"
	"os"
	"testing"
	"time"
)

// TestLive reads from a real node when SUBTENSOR_ENDPOINT is set (e.g. wss://entrypoint-finney.opentensor.ai:443).
func TestLive(t *testing.T) {
	ep := os.Getenv("SUBTENSOR_ENDPOINT")
	if ep == "" {
		t.Skip("set SUBTENSOR_ENDPOINT to run against a live subtensor node")
	}
	c, err := New(Config{Endpoint: ep}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	n, err := c.Block(ctx)
	if err != nil || n == 0 {
		t.Fatalf("block %d: %v", n, err)
	}
	m, rv, err := c.Metadata(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("block %d, spec %d, %d pallets", n, rv.SpecVersion, len(m.Pallets))
	mg, err := c.Metagraph(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	h, err := c.Hyperparameters(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if int(h.SubnetworkN) != len(mg.Neurons) {
		t.Logf("SubnetworkN %d, metagraph %d (blocks may differ)", h.SubnetworkN, len(mg.Neurons))
	}
	t.Logf("netuid 1: %d neurons; hyperparameters %+v", len(mg.Neurons), *h)
}
