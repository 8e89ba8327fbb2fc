package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"
)

func TestCanaryRecordAndRead(t *testing.T) {
	v, _ := openTest(t, DefaultValidatorConfig())
	ctx := context.Background()
	at := t0
	tests := []struct {
		name   string
		run    CanaryRun
		st     CanaryStatus
		failed bool
	}{
		{"pass", CanaryRun{Hotkey: hk(1), UID: 1, Reason: "ok", LoginTime: 1500 * time.Millisecond,
			Measured: json.RawMessage(`{"cpus":2}`), SpecsHash: "aa", GPUUUIDs: []string{"GPU-1"}},
			CanaryStatus{Hotkey: hk(1), State: CanaryVerified, Reason: "ok", SpecsHash: "aa", VerifiedAt: at}, false},
		{"liar", CanaryRun{Hotkey: hk(2), UID: 2, Reason: "cpu_mismatch", Detail: "1 CPU of 8", GPUUUIDs: []string{}},
			CanaryStatus{Hotkey: hk(2), State: CanaryFailed, Reason: "cpu_mismatch", Detail: "1 CPU of 8", FailedAt: at}, true},
		{"first refusal", CanaryRun{Hotkey: hk(3), UID: 3, Reason: "allocate_refused"},
			CanaryStatus{Hotkey: hk(3), State: CanaryPending, Reason: "allocate_refused", Strikes: 1}, false},
	}
	for _, tc := range tests {
		tc.run.Started, tc.run.Finished = at, at.Add(3*time.Second)
		tc.st.CheckedAt = tc.run.Finished
		if err := v.RecordCanary(ctx, tc.run, tc.st); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
	}
	sts, err := v.CanaryStatuses(ctx)
	if err != nil {
		t.Fatal(err)
	}
	un, err := v.Unverified(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		got := sts[tc.st.Hotkey]
		if got.State != tc.st.State || got.Reason != tc.st.Reason || got.Strikes != tc.st.Strikes || got.SpecsHash != tc.st.SpecsHash ||
			!got.VerifiedAt.Equal(tc.st.VerifiedAt) || !got.FailedAt.Equal(tc.st.FailedAt) {
			t.Errorf("%s: status %+v, want %+v", tc.name, got, tc.st)
		}
		if (un[tc.st.Hotkey] != "") != tc.failed {
			t.Errorf("%s: unverified %q, want failed=%v", tc.name, un[tc.st.Hotkey], tc.failed)
		}
	}
	runs, err := v.CanaryRuns(ctx, hk(1), 0)
	if err != nil || len(runs) != 1 || runs[0].LoginTime != 1500*time.Millisecond || string(runs[0].Measured) != `{"cpus":2}` {
		t.Fatalf("runs %+v, %v", runs, err)
	}
	if all, _ := v.CanaryRuns(ctx, "", 2); len(all) != 2 || all[0].Hotkey != hk(3) {
		t.Fatalf("newest two runs: %+v", all)
	}

	// Bad input is refused and changes nothing.
	if err := v.RecordCanary(ctx, CanaryRun{Hotkey: hk(1)}, CanaryStatus{Hotkey: hk(2), State: CanaryFailed}); err == nil {
		t.Error("mismatched hotkeys accepted")
	}
	if err := v.RecordCanary(ctx, CanaryRun{Hotkey: hk(1)}, CanaryStatus{Hotkey: hk(1), State: "great"}); err == nil {
		t.Error("unknown state accepted")
	}
	if err := v.RecordCanary(ctx, CanaryRun{Hotkey: hk(1), Measured: json.RawMessage("{")}, CanaryStatus{Hotkey: hk(1), State: CanaryFailed}); err == nil {
		t.Error("invalid measurements accepted")
	}
	if sts2, _ := v.CanaryStatuses(ctx); sts2[hk(1)].State != CanaryVerified {
		t.Error("a refused record changed the state")
	}
}

func TestCanaryRunsKept(t *testing.T) {
	v, _ := openTest(t, DefaultValidatorConfig())
	ctx := context.Background()
	for i := range canaryRunsKept + 7 {
		at := t0.Add(time.Duration(i) * time.Minute)
		if err := v.RecordCanary(ctx, CanaryRun{Hotkey: hk(1), Reason: fmt.Sprint(i), Started: at, Finished: at},
			CanaryStatus{Hotkey: hk(1), State: CanaryVerified, CheckedAt: at}); err != nil {
			t.Fatal(err)
		}
	}
	runs, err := v.CanaryRuns(ctx, hk(1), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != canaryRunsKept || runs[0].Reason != fmt.Sprint(canaryRunsKept+6) {
		t.Fatalf("kept %d runs, newest %q", len(runs), runs[0].Reason)
	}
}

func TestCanaryGPUOwnersAndFlags(t *testing.T) {
	v, _ := openTest(t, DefaultValidatorConfig())
	ctx := context.Background()
	rec := func(h string, uuids []string) {
		t.Helper()
		if err := v.RecordCanary(ctx, CanaryRun{Hotkey: h, Reason: "ok", GPUUUIDs: uuids, Started: t0, Finished: t0},
			CanaryStatus{Hotkey: h, State: CanaryVerified, Reason: "ok", CheckedAt: t0, VerifiedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	rec(hk(1), []string{"GPU-a", "GPU-b"})
	rec(hk(2), []string{"GPU-b"})
	rec(hk(3), []string{"GPU-c"})
	owners, err := v.GPUOwners(ctx, []string{"GPU-a", "GPU-b", "GPU-b", "GPU-z"}, hk(1))
	if err != nil {
		t.Fatal(err)
	}
	if len(owners) != 1 || !slices.Equal(owners["GPU-b"], []string{hk(2)}) {
		t.Fatalf("owners %v", owners)
	}
	if o, _ := v.GPUOwners(ctx, []string{"GPU-b"}, ""); !slices.Equal(o["GPU-b"], []string{hk(1), hk(2)}) {
		t.Fatalf("owners without exception %v", o)
	}
	// A later run without GPU measurements keeps the set; one with an empty set clears it.
	if err := v.RecordCanary(ctx, CanaryRun{Hotkey: hk(2), Reason: "ssh_login", Started: t0, Finished: t0},
		CanaryStatus{Hotkey: hk(2), State: CanaryFailed, Reason: "ssh_login", CheckedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if o, _ := v.GPUOwners(ctx, []string{"GPU-b"}, hk(1)); len(o) != 1 {
		t.Fatalf("a run without measurements dropped the GPUs: %v", o)
	}
	rec(hk(2), []string{})
	if o, _ := v.GPUOwners(ctx, []string{"GPU-b"}, hk(1)); len(o) != 0 {
		t.Fatalf("an empty set kept the GPUs: %v", o)
	}

	changed, err := v.FailCanary(ctx, []string{hk(1), hk(3), hk(9)}, "gpu_duplicate", "GPU-x", t0.Add(time.Hour))
	if err != nil || len(changed) != 3 {
		t.Fatalf("changed %v, %v", changed, err)
	}
	if changed, _ := v.FailCanary(ctx, []string{hk(1)}, "gpu_duplicate", "GPU-x", t0.Add(2*time.Hour)); len(changed) != 0 {
		t.Fatalf("flagging again changed %v", changed)
	}
	sts, _ := v.CanaryStatuses(ctx)
	if s := sts[hk(1)]; s.State != CanaryFailed || s.Reason != "gpu_duplicate" || !s.VerifiedAt.Equal(t0) || !s.FailedAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("flagged status %+v", s)
	}
	if s := sts[hk(9)]; s.State != CanaryFailed {
		t.Fatalf("unknown miner flagged: %+v", s)
	}

	if err := v.ForgetCanary(ctx, []string{hk(1), hk(1), hk(9)}); err != nil {
		t.Fatal(err)
	}
	sts, _ = v.CanaryStatuses(ctx)
	if _, ok := sts[hk(1)]; ok || len(sts) != 2 {
		t.Fatalf("after forgetting: %v", sts)
	}
	if runs, _ := v.CanaryRuns(ctx, hk(1), 0); len(runs) != 0 {
		t.Fatalf("runs kept: %v", runs)
	}
}
