package update

import (
	"context"
	"errors"
	"testing"
	"time"
)

// within fails the test unless ch delivers within a generous deadline.
func within[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not happen", what)
	}
	var zero T
	return zero
}

// notYet fails the test when ch delivers within a short while.
func notYet[T any](t *testing.T, ch <-chan T, what string) {
	t.Helper()
	select {
	case <-ch:
		t.Fatalf("%s happened too early", what)
	case <-time.After(100 * time.Millisecond):
	}
}

func TestGateDrainWaitsForHolders(t *testing.T) {
	g := NewGate()
	ctx := context.Background()
	r1, err := g.Hold(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := g.Hold(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if g.Held() != 2 {
		t.Fatalf("Held = %d", g.Held())
	}
	drained := make(chan error, 1)
	go func() { drained <- g.Drain(ctx) }()
	notYet(t, drained, "the drain with two operations held")
	r1()
	r1() // a second release is a no-op
	notYet(t, drained, "the drain with one operation held")

	// A new operation waits while the gate is closed.
	held := make(chan func(), 1)
	go func() {
		r, err := g.Hold(ctx)
		if err != nil {
			t.Error(err)
		}
		held <- r
	}()
	notYet(t, held, "a new hold during the drain")
	r2()
	if err := within(t, drained, "the drain after the last release"); err != nil {
		t.Fatal(err)
	}
	notYet(t, held, "a new hold after the drain (the gate stays closed)")

	// A hold whose context ends is refused with ErrRestarting.
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := g.Hold(cctx); !errors.Is(err, ErrRestarting) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("hold on a closed gate: %v", err)
	}
	g.Reopen()
	r := within(t, held, "the waiting hold after Reopen")
	r()
	if g.Held() != 0 {
		t.Fatalf("Held = %d after every release", g.Held())
	}
}

func TestGateDrainGivesUp(t *testing.T) {
	g := NewGate()
	release, err := g.Hold(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := g.Drain(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("drain past its deadline: %v", err)
	}
	// The gate reopened: holds go on at once.
	r, err := g.Hold(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	r()
	release()
	if err := g.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
}
