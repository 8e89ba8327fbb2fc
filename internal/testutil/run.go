package testutil

import (
	"context"
	"testing"
	"time"
)

// RunRole runs a role's Run(ctx) in a goroutine for the rest of the test.
// It returns once ready is closed, and fails the test if Run returns first
// or ready is not closed within a minute. At cleanup it cancels Run's
// context (derived from parent) and waits up to 30 s for Run to return.
func RunRole(t testing.TB, parent context.Context, name string, run func(context.Context) error, ready <-chan struct{}) {
	t.Helper()
	ctx, cancel := context.WithCancel(parent)
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Errorf("%s did not stop", name)
		}
	})
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("%s: %v", name, err)
	case <-time.After(60 * time.Second):
		t.Fatalf("%s not ready", name)
	}
}
