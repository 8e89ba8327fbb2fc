package subtensor

import (
	"context"
	"testing"
	"time"

	"github.com/sn27/compute/internal/chain/subtensor/replay"
)

func newReplayClient(t *testing.T, scenarios ...string) (*Client, *replay.Server) {
	t.Helper()
	srv, err := replay.New(nil, scenarios...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	c, err := New(Config{Endpoint: srv.URL()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c, srv
}

func TestMetagraphRecorded(t *testing.T) {
	c, _ := newReplayClient(t, "metagraph")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	mg, err := c.Metagraph(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if mg.Block != 6852690 || len(mg.Neurons) != 1024 || mg.Netuid != 1 {
		t.Fatalf("block %d, %d neurons, netuid %d", mg.Block, len(mg.Neurons), mg.Netuid)
	}
	var permits []uint16
	nonZeroIP := 0
	var incentives uint64
	for i, n := range mg.Neurons {
		if int(n.UID) != i {
			t.Fatalf("neuron %d has uid %d", i, n.UID)
		}
		if n.ValidatorPermit {
			permits = append(permits, n.UID)
		}
		if n.Axon.IP != "0.0.0.0" {
			nonZeroIP++
		}
		incentives += uint64(n.Incentive*65535 + 0.5)
	}
	wantPermits := []uint16{24, 245, 276, 395, 447, 496, 502, 518, 630, 697, 966, 993}
	if len(permits) != len(wantPermits) {
		t.Fatalf("permits %v, want %v", permits, wantPermits)
	}
	for i := range permits {
		if permits[i] != wantPermits[i] {
			t.Fatalf("permits %v, want %v", permits, wantPermits)
		}
	}
	if nonZeroIP != 827 {
		t.Errorf("%d axons with an IP, want 827", nonZeroIP)
	}
	if incentives != 65535 {
		t.Errorf("incentives sum to %d, want 65535", incentives)
	}
	n := mg.Neurons[0]
	checks := []struct {
		name      string
		got, want any
	}{
		{"hotkey", n.Hotkey, "5DkMmXtWf16RNdusZGCrJ7ca7ADPgRnZLVWCWbgA7s7sy1AQ"},
		{"coldkey", n.Coldkey, "5EhQWxcFdYAk7B9tNdQnJQFzww5N3964rbsMk55SujcX3PwM"},
		{"ip", n.Axon.IP, "192.222.59.109"},
		{"port", n.Axon.Port, uint16(6028)},
		{"ip_type", n.Axon.IPType, uint8(4)},
		{"protocol", n.Axon.Protocol, uint8(4)},
		{"version", n.Axon.Version, uint32(9011001)},
		{"stake_rao", n.StakeRao, uint64(2557172316)},
		{"last_update", n.LastUpdate, uint64(2543521)},
	}
	for _, ck := range checks {
		if ck.got != ck.want {
			t.Errorf("uid 0 %s = %v, want %v", ck.name, ck.got, ck.want)
		}
	}
}
