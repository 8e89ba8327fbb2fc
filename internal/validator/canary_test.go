package validator

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/sn27/compute/internal/store"
)

// TestAllocatedForCanary: the canary's hook sees this validator's own
// allocations and the shared records' leases, and is safe to call while
// the loop updates the shared view.
func TestAllocatedForCanary(t *testing.T) {
	n := newTestNet(t, 100*time.Millisecond, 10)
	v, err := New(n.config(), Deps{Chain: n.chain, Hotkey: n.val, Store: n.store, Log: testLog()})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := n.store.SaveAllocation(n.ctx, store.Allocation{Hotkey: "own", Details: json.RawMessage(`{}`),
		CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 100; i++ {
			v.setSharedAllocated(map[string]bool{"elsewhere": true})
		}
	}()
	for i := 0; i < 100; i++ {
		if _, err := v.Allocated(n.ctx, now); err != nil {
			t.Fatal(err)
		}
	}
	<-done
	got, err := v.Allocated(n.ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !got["own"] || !got["elsewhere"] {
		t.Fatalf("allocated %v, want own and elsewhere", got)
	}
	if got, _ := v.Allocated(n.ctx, now.Add(2*time.Hour)); len(got) != 1 || !got["elsewhere"] {
		t.Fatalf("after the own lease expired: %v", got)
	}
}
