package miner

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/sn27/compute/internal/clip"
	"github.com/sn27/compute/internal/container"
	"github.com/sn27/compute/internal/pow"
	"github.com/sn27/compute/internal/version"
	"github.com/sn27/compute/internal/wire"
)

// newAxon builds the axon with the three synapses attached.
func (m *Miner) newAxon() (*wire.Axon, error) {
	ax, err := wire.NewAxon(wire.AxonConfig{
		Hotkey:   m.deps.Hotkey.SS58Address(),
		Version:  version.Int,
		Observer: m.met,
		Logger:   m.deps.Log, // the axon names its component itself
	})
	if err != nil {
		return nil, fmt.Errorf("axon: %w", err)
	}
	if err := wire.Attach(ax, wire.Handler[wire.Specs]{
		Forward:   m.forwardSpecs,
		Blacklist: m.blacklist,
		Priority:  m.priority(PrioritySpecs),
	}); err != nil {
		return nil, err
	}
	if err := wire.Attach(ax, wire.Handler[wire.Challenge]{
		Forward:   gated(m, m.forwardChallenge),
		Blacklist: m.blacklist,
		Priority:  m.priority(PriorityChallenge),
	}); err != nil {
		return nil, err
	}
	if err := wire.Attach(ax, wire.Handler[wire.Allocate]{
		Forward:     gated(m, m.forwardAllocate),
		Blacklist:   m.blacklist,
		Priority:    m.priority(PriorityAllocate),
		RequireHash: m.cfg.Policy.RequireHashedAllocate,
	}); err != nil {
		return nil, err
	}
	return ax, nil
}

// blacklist applies the current policy snapshot; it sees the unverified hotkey, as
// Bittensor's blacklist does (the signature is checked right after).
func (m *Miner) blacklist(_ context.Context, c wire.Caller) (bool, string) {
	blocked, reason := m.policy.Load().Blacklist(c.Hotkey)
	if blocked {
		m.log.Debug("request refused", "caller", c.Hotkey, "ip", c.IP, "reason", reason)
	}
	return blocked, reason
}

// priority is the caller's stake plus the synapse's priority.
func (m *Miner) priority(synapse float64) func(context.Context, wire.Caller) float64 {
	return func(_ context.Context, c wire.Caller) float64 {
		return m.policy.Load().Stake(c.Hotkey) + synapse
	}
}

// callerHotkey is the verified caller of a forward function.
func callerHotkey(ctx context.Context) string {
	c, _ := wire.CallerFrom(ctx)
	return c.Hotkey
}

// forwardSpecs answers with this machine's own specs report; specs_input is ignored.
func (m *Miner) forwardSpecs(ctx context.Context, syn *wire.Specs) error {
	out := m.specs.Load()
	if out == nil {
		return wire.Errorf(http.StatusServiceUnavailable, "specs are not ready")
	}
	syn.SpecsOutput = *out
	m.log.Info("specs served", "caller", callerHotkey(ctx), "ignored_input_bytes", len(syn.SpecsInput))
	return nil
}

// forwardChallenge solves the challenge through the queue, bounded by the request's
// timeout. Every failure is an error output, never a failed request.
func (m *Miner) forwardChallenge(ctx context.Context, syn *wire.Challenge) error {
	start := time.Now()
	hotkey := callerHotkey(ctx)
	log := m.log.With("caller", hotkey, "difficulty", syn.Difficulty)
	solver := m.solver.Name()
	fail := func(result, msg string) error {
		elapsed := time.Since(start)
		syn.Output = wire.ChallengeOutput{Password: nil, LocalExecutionTime: elapsed.Seconds(), Error: &msg}
		m.met.solve.WithLabelValues(solver, result).Observe(elapsed.Seconds())
		log.Warn("challenge failed", "result", result, "err", msg, "elapsed", elapsed)
		return nil
	}
	job, err := syn.Challenge.Job()
	if err != nil {
		return fail("invalid", err.Error())
	}
	if syn.Mode != pow.DefaultMode {
		return fail("invalid", fmt.Sprintf("%v: mode %q is not supported (want %q)", pow.ErrInvalidChallenge, clip.String(syn.Mode, 16), pow.DefaultMode))
	}
	pw, err := m.queue.Solve(ctx, job, m.policy.Load().Stake(hotkey))
	switch {
	case err == nil:
	case errors.Is(ctx.Err(), context.Canceled):
		// The request itself ended before its timeout: the validator hung up or the
		// axon is shutting down. Nobody reads the answer; it is not a solver failure.
		elapsed := time.Since(start)
		msg := "abandoned: the request ended before the password was found"
		syn.Output = wire.ChallengeOutput{Password: nil, LocalExecutionTime: elapsed.Seconds(), Error: &msg}
		m.met.solve.WithLabelValues(solver, "abandoned").Observe(elapsed.Seconds())
		log.Info("challenge abandoned by the caller", "elapsed", elapsed)
		return nil
	case errors.Is(err, pow.ErrNotFound):
		return fail("not_found", "password not found in the keyspace")
	case errors.Is(err, pow.ErrQueueFull):
		return fail("queue_full", "the challenge queue is full")
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
		return fail("timeout", "timed out before the password was found")
	default:
		return fail("error", "solver failed: "+err.Error())
	}
	elapsed := time.Since(start)
	syn.Output = wire.ChallengeOutput{Password: &pw, LocalExecutionTime: elapsed.Seconds(), Error: nil}
	m.met.solve.WithLabelValues(solver, "ok").Observe(elapsed.Seconds())
	log.Info("challenge solved", "elapsed", elapsed)
	return nil
}

// forwardAllocate serves the four Allocate modes and the lease actions (docker_change)
// through the lease manager. A malformed request is answered with 400 and a message
// saying what is wrong; a refusal (already allocated, wrong key, not enough resources)
// with status false, as the original did, and for a lease action with the action's name
// and the reason.
func (m *Miner) forwardAllocate(ctx context.Context, syn *wire.Allocate) error {
	hotkey := callerHotkey(ctx)
	mode := allocateMode(syn)
	log := m.log.With("caller", hotkey, "mode", mode, "timeline", syn.Timeline)
	action, isAction := syn.LeaseAction()
	if m.leases == nil {
		syn.Output = wire.AllocateOutput{Status: false}
		if isAction {
			syn.Output.Action, syn.Output.Reason = action.Action, "allocation is disabled on this miner"
		}
		log.Info("allocate refused: allocation is disabled on this miner")
		return nil
	}
	timeline := int(syn.Timeline)
	if int64(timeline) != syn.Timeline {
		timeline = -1
	}
	start := time.Now()
	resp := m.leases.Handle(ctx, container.Request{
		Timeline:          timeline,
		DeviceRequirement: []byte(syn.DeviceRequirement),
		Checking:          syn.Checking,
		PublicKey:         syn.PublicKey,
		SSHPublicKey:      syn.SSHKey(),
		ValidatorHotkey:   hotkey,
		DockerChange:      isAction,
		Action:            action.Action,
		ActionSSHKeys:     action.SSHKey,
		ActionKeyType:     action.KeyType,
	})
	if resp.Err != nil && invalidRequest(resp.Err) {
		log.Info("allocate request refused as malformed", "err", resp.Err)
		return wire.Errorf(http.StatusBadRequest, "%s", clip.String(resp.Err.Error(), 512))
	}
	syn.Output = wire.AllocateOutput{Status: resp.Status, Info: resp.Info, Action: resp.Action, Reason: resp.Reason}
	if resp.Err != nil {
		log.Info("allocate answered", "status", resp.Status, "reason", resp.Err, "elapsed", time.Since(start))
	} else {
		log.Info("allocate answered", "status", resp.Status, "elapsed", time.Since(start))
	}
	return nil
}

func invalidRequest(err error) bool {
	for _, target := range []error{container.ErrInvalidTimeline, container.ErrInvalidRequest, container.ErrInvalidRequirement, container.ErrInvalidPublicKey, container.ErrInvalidAction} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

func allocateMode(a *wire.Allocate) string {
	if act, ok := a.LeaseAction(); ok {
		return "action " + clip.String(act.Action, 32)
	}
	switch {
	case a.Checking && a.Timeline > 0:
		return "check"
	case a.Checking && a.Timeline == 0:
		return "check_owner"
	case a.Timeline > 0:
		return "allocate"
	case a.Timeline == 0:
		return "deallocate"
	}
	return "invalid"
}
