package miner

import (
	"context"
	"testing"
	"time"

	"github.com/sn27/compute/internal/pow"
	"github.com/sn27/compute/internal/update"
	"github.com/sn27/compute/internal/wire"
)

// heldSolver signals when a solve starts and waits for leave to close
// before giving up.
type heldSolver struct {
	started chan struct{}
	leave   chan struct{}
}

func (heldSolver) Name() string { return "held" }
func (heldSolver) Close() error { return nil }
func (s heldSolver) Solve(ctx context.Context, _ *pow.Job) (string, error) {
	s.started <- struct{}{}
	select {
	case <-s.leave:
		return "", pow.ErrNotFound
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// TestMinerChallengeHoldsGate: a challenge in progress holds Deps.Gate, so
// that an update's drain waits for its answer.
func TestMinerChallengeHoldsGate(t *testing.T) {
	n := newNetwork(t)
	gate := update.NewGate()
	solver := heldSolver{started: make(chan struct{}, 1), leave: make(chan struct{})}
	r := startMiner(t, n, testConfig(t, t.TempDir()), Deps{Solver: solver, Gate: gate})
	ch, _, err := pow.New(4)
	if err != nil {
		t.Fatal(err)
	}
	answered := make(chan wire.Result[wire.Challenge], 1)
	go func() {
		answered <- wire.Call(context.Background(), dendrite(t, n.validator), r.target(), wire.NewChallenge(ch), 60*time.Second)
	}()
	select {
	case <-solver.started:
	case <-time.After(30 * time.Second):
		t.Fatal("the challenge did not reach the solver")
	}
	if held := gate.Held(); held != 1 {
		t.Fatalf("gate held %d times during a challenge, want 1", held)
	}
	drained := make(chan error, 1)
	go func() { drained <- gate.Drain(context.Background()) }()
	select {
	case <-drained:
		t.Fatal("the drain ended while the challenge was in progress")
	case <-time.After(200 * time.Millisecond):
	}
	close(solver.leave)
	select {
	case res := <-answered:
		if !res.OK() || res.Synapse.Output.Error == nil {
			t.Fatalf("challenge answer %d %q %+v", res.StatusCode, res.StatusMessage, res.Synapse.Output)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no answer")
	}
	select {
	case err := <-drained:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the drain did not end after the challenge")
	}

	// The gate stays closed for the restart: a challenge or an allocation
	// that comes now waits, and is not served when its time runs out.
	d := dendrite(t, n.validator)
	if res := wire.Call(context.Background(), d, r.target(), wire.NewChallenge(ch), 2*time.Second); res.OK() {
		t.Fatalf("a challenge served while a restart is pending: %+v", res.Synapse.Output)
	}
	if res := wire.Call(context.Background(), d, r.target(), &wire.Allocate{Timeline: 1, Checking: true, PublicKey: "x"}, 2*time.Second); res.OK() {
		t.Fatalf("an allocation served while a restart is pending: %+v", res.Synapse.Output)
	}
	gate.Reopen()
	if res := wire.Call(context.Background(), d, r.target(), &wire.Allocate{Timeline: 1, Checking: true, PublicKey: "x"}, 10*time.Second); !res.OK() {
		t.Fatalf("an allocation check after the gate reopened: %d %q", res.StatusCode, res.StatusMessage)
	}
}
