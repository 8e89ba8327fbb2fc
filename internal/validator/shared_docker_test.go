package validator

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/sn27/compute/internal/container"
	"github.com/sn27/compute/internal/miner"
	"github.com/sn27/compute/internal/renter"
	"github.com/sn27/compute/internal/sharedstate"
	"github.com/sn27/compute/internal/specs"
	"github.com/sn27/compute/internal/testnet"
	"github.com/sn27/compute/internal/testutil"
	"github.com/sn27/compute/internal/wallet"
)

// startLeasingMiner runs the real miner role for hot, registered on the
// test subnet, leasing containers on the real Docker daemon; it returns the
// SSH port of its leases.
func (n *testNet) startLeasingMiner(name string) (*wallet.Keypair, int) {
	t := n.t
	t.Helper()
	docker := testutil.Docker(t)
	hot := n.addMiner(name, 0)
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	owner, sshPort := "test-shared-"+hex.EncodeToString(b), testutil.FreePort(t)
	testutil.RemoveAtCleanup(t, docker, container.LabelOwner, owner)
	rep := specs.Specs{CPU: specs.CPU{Count: 1, Logical: 1},
		RAM:      specs.RAM{Total: 4 << 30, Available: 2 << 30, Free: 2 << 30},
		HardDisk: specs.Disk{Total: 200 << 30, Free: 100 << 30}, GPU: specs.GPU{Details: []specs.GPUDetail{}}}
	cfg := miner.Config{
		Netuid: testNetuid, AxonIP: "127.0.0.1", Solver: "cpu", DataDir: t.TempDir(),
		SpecsProbeBytes: -1, SyncInterval: 200 * time.Millisecond, SpecsInterval: time.Hour,
		Policy:    miner.PolicyConfig{UpdatedThreshold: 60, BlacklistExploiters: true},
		SSHBindIP: "127.0.0.1", SSHPort: sshPort, LeaseOwner: owner, Image: testutil.SSHImage(),
		Allocation: true, AllocationRequired: true,
	}
	m, err := miner.New(cfg, miner.Deps{Chain: n.chain, Hotkey: hot, Listener: testutil.Listen(t), Docker: docker, Specs: testnet.FixedSpecs{Specs: rep},
		GPUs: testnet.NoGPUs, Log: testLog()})
	if err != nil {
		t.Fatal(err)
	}
	testutil.RunRole(t, n.ctx, "miner", m.Run, m.Ready())
	return hot, sshPort
}

// TestSharedAllocationThroughRenter: validator A rents miner M through the
// renter (`compute allocate`'s package) on the real Docker daemon and logs
// in over SSH; A's loop publishes the lease, and validator B, whose own
// store knows nothing of it, scores M in the allocated branch. A's release
// takes M out of B's allocated set.
func TestSharedAllocationThroughRenter(t *testing.T) {
	n := newTestNet(t, 100*time.Millisecond, 10)
	valB, storeB := n.addValidator("ValidatorB", 2000)
	m, sshPort := n.startLeasingMiner("Leased")
	n.waitPermits(n.val, valB)

	a := runValidator(t, n.ctx, n.config(), Deps{Chain: n.chain, Hotkey: n.val, Store: n.store, Log: testLog()})
	b := runValidator(t, n.ctx, n.config(), Deps{Chain: n.chain, Hotkey: valB, Store: storeB, Log: testLog()})
	waitFor(t, 60*time.Second, "B to score the miner", func() bool {
		return minerState(b, m.SS58Address()).Score > 0
	})
	if minerState(b, m.SS58Address()).Allocated {
		t.Fatal("allocated before any lease")
	}

	r, err := renter.New(renter.Config{Netuid: testNetuid, DataDir: t.TempDir(), KeyBits: 2048,
		CheckTimeout: 10 * time.Second, AllocateTimeout: 60 * time.Second}, renter.Deps{Meta: n.chain, Store: n.store, Signer: n.val, Log: testLog()})
	if err != nil {
		t.Fatal(err)
	}
	var req container.Requirement
	req.CPU.Count, req.RAM.Capacity = 1, 256<<20
	start := time.Now()
	alloc, err := r.Allocate(n.ctx, renter.Request{Requirement: req, Timeline: 1, Hotkey: m.SS58Address()})
	if err != nil {
		t.Fatal(err)
	}
	granted := time.Now()
	if alloc.Port != sshPort {
		t.Fatalf("lease on port %d, want %d", alloc.Port, sshPort)
	}
	out, err := testutil.SSH(t, testutil.Login{Port: alloc.Port, User: alloc.Username, Password: alloc.Password}, "nproc")
	if err != nil || strings.TrimSpace(out) != "1" {
		t.Fatalf("ssh login: %v\n%s", err, out)
	}
	waitFor(t, 30*time.Second, "B to score the leased miner in the allocated branch", func() bool {
		return minerState(b, m.SS58Address()).Allocated
	})
	t.Logf("allocated in %v; B saw the lease %v after it was granted (A published at block %d)",
		granted.Sub(start).Round(time.Millisecond), time.Since(granted).Round(time.Millisecond), a.State().Shared.Published)
	if own, _ := storeB.Allocated(n.ctx, time.Now()); len(own) != 0 {
		t.Fatalf("B's own store holds allocations %v", own)
	}
	cm, err := n.chain.Commitment(n.ctx, testNetuid, n.val.SS58Address())
	if err != nil {
		t.Fatal(err)
	}
	rec, err := sharedstate.Decode(cm.Data)
	nr, _ := n.chain.NeuronByHotkey(n.ctx, testNetuid, m.SS58Address())
	if err != nil || len(rec.Leased) != 1 || rec.Leased[0] != nr.UID {
		js, _ := json.Marshal(rec)
		t.Fatalf("A's record %s, %v; want uid %d leased", js, err, nr.UID)
	}

	if err := r.Release(n.ctx, m.SS58Address(), renter.ReleaseOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "B to see the release", func() bool {
		return !minerState(b, m.SS58Address()).Allocated
	})
}
