package validator

import "context"

// Gate keeps a restart for an update out of the middle of an operation
// (*update.Gate fits): Hold takes it for one operation and returns the
// function that gives it back; while a restart is pending it waits, and it
// fails when ctx ends first.
type Gate interface {
	Hold(ctx context.Context) (release func(), err error)
}

// hold takes Deps.Gate for a challenge round or a weights submission; ok is
// false when ctx ended while a restart was pending (the validator is
// stopping for it), and the operation is then skipped. Without a gate it
// always succeeds.
func (v *Validator) hold(ctx context.Context) (release func(), ok bool) {
	if v.gate == nil {
		return func() {}, true
	}
	release, err := v.gate.Hold(ctx)
	if err != nil {
		return nil, false
	}
	return release, true
}
