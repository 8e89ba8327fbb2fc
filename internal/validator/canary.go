package validator

import (
	"context"
	"maps"
	"time"
)

// Allocated returns the miners that hold a lease now: this validator's own
// allocations (its store) and those the other validators' shared records
// lease, as last read. The canary calls it, from its own goroutine, so that
// it never leases a miner a renter holds.
func (v *Validator) Allocated(ctx context.Context, now time.Time) (map[string]bool, error) {
	own, err := v.store.Allocated(ctx, now)
	if err != nil {
		return nil, err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make(map[string]bool, len(own)+len(v.sharedAlloc))
	maps.Copy(out, own)
	maps.Copy(out, v.sharedAlloc)
	return out, nil
}

// setSharedAllocated keeps the shared view's allocated hotkeys for Allocated.
func (v *Validator) setSharedAllocated(hotkeys map[string]bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.sharedAlloc = hotkeys
}
