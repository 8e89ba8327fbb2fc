package validator

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sn27/compute/internal/pow"
	"github.com/sn27/compute/internal/update"
)

// TestRoundHoldsGate: a challenge round holds Deps.Gate until it is stored,
// so that an update's drain waits for it; while the gate is closed for the
// restart no round starts, and after it reopens rounds go on.
func TestRoundHoldsGate(t *testing.T) {
	n := newTestNet(t, 100*time.Millisecond, 10)
	unblock := make(chan struct{})
	var asked atomic.Int64
	hot := mustKey(t, "//Held//hot")
	n.addMiner("Held", startAxon(t, hot, func(ctx context.Context, ch pow.Challenge) (*string, error) {
		asked.Add(1)
		select {
		case <-unblock:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		pw := ""
		return &pw, nil
	}))
	cfg := n.config()
	cfg.Score.Timeout = time.Minute // the round lasts until the miner answers
	gate := update.NewGate()
	v, err := New(cfg, Deps{Chain: n.chain, Hotkey: n.val, Store: n.store, Registry: prometheus.NewRegistry(), Log: testLog(), Gate: gate})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(n.ctx)
	done := make(chan error, 1)
	go func() { done <- v.Run(ctx) }()
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("Run did not return after cancel")
		}
	}()

	waitFor(t, 30*time.Second, "a round holding the gate", func() bool { return asked.Load() == 1 && gate.Held() == 1 })
	drained := make(chan error, 1)
	go func() { drained <- gate.Drain(context.Background()) }()
	select {
	case <-drained:
		t.Fatal("the drain ended during a challenge round")
	case <-time.After(500 * time.Millisecond):
	}
	close(unblock)
	select {
	case err := <-drained:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the drain did not end after the round")
	}
	// Closed for the restart: 20 blocks pass and no round asks the miner.
	before := asked.Load()
	b, _ := n.chain.Block(n.ctx)
	if _, err := n.chain.WaitBlock(n.ctx, b+20); err != nil {
		t.Fatal(err)
	}
	if got := asked.Load(); got != before || gate.Held() != 0 {
		t.Fatalf("while a restart is pending: %d challenges (was %d), gate held %d", got, before, gate.Held())
	}
	gate.Reopen()
	waitFor(t, 30*time.Second, "a round after the gate reopened", func() bool { return asked.Load() > before })
}
