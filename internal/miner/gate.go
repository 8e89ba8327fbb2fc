package miner

import (
	"context"
	"net/http"

	"github.com/sn27/compute/internal/wire"
)

// Gate keeps a restart for an update out of the middle of an operation
// (*update.Gate fits): Hold takes it for one operation and returns the
// function that gives it back; while a restart is pending it waits, and it
// fails when ctx ends first.
type Gate interface {
	Hold(ctx context.Context) (release func(), err error)
}

// gated makes forward hold Deps.Gate while it runs, so that a restart for an
// update waits for a challenge or an allocation in progress. A request that
// ends while the gate is closed for the restart (the axon is stopping for
// it) is answered 503. Without a gate forward is returned as it is.
func gated[S any](m *Miner, forward func(context.Context, *S) error) func(context.Context, *S) error {
	if m.deps.Gate == nil {
		return forward
	}
	return func(ctx context.Context, syn *S) error {
		release, err := m.deps.Gate.Hold(ctx)
		if err != nil {
			return wire.Errorf(http.StatusServiceUnavailable, "the miner is restarting for an update")
		}
		defer release()
		return forward(ctx, syn)
	}
}
