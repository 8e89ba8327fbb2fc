package renter

import (
	"context"
	"errors"
	"fmt"

	"github.com/sn27/compute/internal/wire"
)

// Verifications is what the renter reads of the canary leases' verdicts;
// *store.Validator implements it. A store without it filters nothing.
type Verifications interface {
	// Unverified returns the hotkeys whose specs failed a canary lease, with the reason.
	Unverified(ctx context.Context) (map[string]string, error)
}

func (r *Renter) unverified(ctx context.Context) (map[string]string, error) {
	v, ok := r.store.(Verifications)
	if !ok {
		return nil, nil
	}
	m, err := v.Unverified(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the miners whose specs failed verification: %w", err)
	}
	return m, nil
}

// Stages of a trial lease, as TrialError reports them.
const (
	// StageCheck: the miner was asked whether it could take the lease and
	// did not say yes (refused, unreachable or no axon).
	StageCheck = "check"
	// StageGrant: the miner said it could, but the real Allocate did not
	// yield usable credentials (the container did not start, the answer
	// timed out, or the credentials did not decrypt).
	StageGrant = "grant"
)

// TrialError says at which stage a trial lease failed.
type TrialError struct {
	Stage string
	Err   error
}

func (e *TrialError) Error() string { return fmt.Sprintf("trial lease, %s: %v", e.Stage, e.Err) }
func (e *TrialError) Unwrap() error { return e.Err }

// Trial is a short lease taken to verify a miner: the same Allocate flow
// as Allocate, but its RSA key lives in memory only and nothing is recorded
// in the store (it is not a renter's allocation). Release it with
// ReleaseTrial.
type Trial struct {
	Allocation
	key    *allocationKey
	target wire.Target
}

// AllocateTrial leases the miner req.Hotkey names for req.Requirement: it
// checks, then allocates, exactly as a renter does, with a fresh RSA key
// kept in memory. A failure is a *TrialError naming the stage.
func (r *Renter) AllocateTrial(ctx context.Context, req Request) (*Trial, error) {
	if req.Hotkey == "" {
		return nil, errors.New("trial lease: a miner hotkey is required")
	}
	if err := CheckTimeline(req.Timeline); err != nil {
		return nil, err
	}
	if err := req.Requirement.Validate(); err != nil {
		return nil, err
	}
	keys, err := normalizeKeys(append([]string{req.SSHKey}, req.SSHKeys...))
	if err != nil {
		return nil, fmt.Errorf("trial lease SSH key: %w", err)
	}
	req.SSHKey, req.SSHKeys = "", keys
	cands, err := r.byHotkey(ctx, req.Hotkey)
	if err != nil {
		return nil, &TrialError{Stage: StageCheck, Err: err}
	}
	key, err := newAllocationKey(r.cfg.KeyBits)
	if err != nil {
		return nil, err
	}
	syn, err := r.synapse(req, key.publicPEM, true)
	if err != nil {
		return nil, err
	}
	if len(r.check(ctx, cands, syn)) == 0 {
		return nil, &TrialError{Stage: StageCheck, Err: fmt.Errorf("%w: %s cannot take the lease (%s)", ErrRefused, req.Hotkey, DescribeRequirement(req.Requirement))}
	}
	syn.Checking = false
	a, err := r.grant(ctx, cands[0], syn, req, key)
	if err != nil {
		return nil, &TrialError{Stage: StageGrant, Err: err}
	}
	return &Trial{Allocation: *a, key: key, target: cands[0].Target}, nil
}

// ReleaseTrial ends a trial lease; it fails when the miner cannot be
// reached or does not confirm (the lease then ends at its expiry).
func (r *Renter) ReleaseTrial(ctx context.Context, t *Trial) error {
	ok, err := r.release(ctx, t.target, t.key)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: %s (uid %d) did not confirm the release of the trial lease", ErrRefused, t.Hotkey, t.UID)
	}
	return nil
}
