package renter

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sn27/compute/internal/store"
)

// TestCandidatesLeaveOutUnverified: a miner whose specs failed a canary
// lease is no candidate; a pending or verified one still is.
func TestCandidatesLeaveOutUnverified(t *testing.T) {
	cl := newCluster(t)
	ctx := context.Background()
	st := cl.r.store.(*store.Validator)
	now := time.Now()
	for _, s := range []store.CanaryStatus{
		{Hotkey: cl.b.hotkey, State: store.CanaryFailed, Reason: "cpu_mismatch", CheckedAt: now, FailedAt: now},
		{Hotkey: cl.a.hotkey, State: store.CanaryPending, Reason: "allocate_refused", Strikes: 1, CheckedAt: now},
	} {
		if err := st.RecordCanary(ctx, store.CanaryRun{Hotkey: s.Hotkey, Reason: s.Reason, Started: now, Finished: now}, s); err != nil {
			t.Fatal(err)
		}
	}
	got, err := cl.r.Candidates(ctx, need(2, 4))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Hotkey != cl.a.hotkey {
		t.Fatalf("candidates %+v, want A only (B failed its canary)", got)
	}
	// Named explicitly, the failed miner can still be allocated by its operator's choice.
	if _, err := cl.r.Allocate(ctx, Request{Requirement: need(2, 4), Timeline: 1, Hotkey: cl.b.hotkey}); err != nil {
		t.Fatalf("allocate by hotkey: %v", err)
	}
}

func TestTrialLease(t *testing.T) {
	ctx := context.Background()
	t.Run("granted, nothing recorded, released", func(t *testing.T) {
		cl := newCluster(t)
		tr, err := cl.r.AllocateTrial(ctx, Request{Requirement: need(2, 4), Timeline: 1, Hotkey: cl.c.hotkey, SSHKey: testSSHKey})
		if err != nil {
			t.Fatal(err)
		}
		if tr.Hotkey != cl.c.hotkey || tr.Port != 4444 || !tr.KeyOnly || tr.Password != "" || tr.KeyFile != "" {
			t.Fatalf("trial %+v", tr.Allocation)
		}
		if owner, _, _, _ := cl.c.state(); owner != tr.Fingerprint {
			t.Fatal("the miner does not hold the trial's key")
		}
		if list, _ := cl.r.List(ctx); len(list) != 0 {
			t.Fatalf("trial recorded as an allocation: %+v", list)
		}
		assertKeyFiles(t, cl.dir, 0)
		if err := cl.r.ReleaseTrial(ctx, tr); err != nil {
			t.Fatal(err)
		}
		if owner, _, _, _ := cl.c.state(); owner != "" {
			t.Fatal("the release did not end the lease")
		}
		if err := cl.r.ReleaseTrial(ctx, tr); !errors.Is(err, ErrRefused) {
			t.Fatalf("second release: %v, want ErrRefused", err)
		}
	})
	stages := []struct {
		name  string
		setup func(m *fakeMiner)
		stage string
	}{
		{"busy miner", func(m *fakeMiner) { m.busy = true }, StageCheck},
		{"agrees then fails", func(m *fakeMiner) { m.refuseReal = true }, StageGrant},
	}
	for _, tc := range stages {
		t.Run(tc.name, func(t *testing.T) {
			cl := newCluster(t)
			cl.a.mu.Lock()
			tc.setup(cl.a)
			cl.a.mu.Unlock()
			_, err := cl.r.AllocateTrial(ctx, Request{Requirement: need(1, 1), Timeline: 1, Hotkey: cl.a.hotkey})
			var te *TrialError
			if !errors.As(err, &te) || te.Stage != tc.stage {
				t.Fatalf("error %v, want stage %s", err, tc.stage)
			}
		})
	}
	t.Run("unregistered hotkey", func(t *testing.T) {
		cl := newCluster(t)
		_, err := cl.r.AllocateTrial(ctx, Request{Requirement: need(1, 1), Timeline: 1, Hotkey: keypair(t, "//Nobody").SS58Address()})
		var te *TrialError
		if !errors.As(err, &te) || te.Stage != StageCheck || !errors.Is(err, ErrUnreachable) {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("no hotkey", func(t *testing.T) {
		cl := newCluster(t)
		if _, err := cl.r.AllocateTrial(ctx, Request{Requirement: need(1, 1), Timeline: 1}); err == nil {
			t.Fatal("a trial without a hotkey was accepted")
		}
	})
}
