package sharedstate

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/sn27/compute/internal/chain"
	"github.com/sn27/compute/internal/chain/devchain"
	"github.com/sn27/compute/internal/wallet"
)

const netuid = 1

type devNet struct {
	t   *testing.T
	ctx context.Context
	c   *devchain.Chain
}

func key(t testing.TB, uri string) *wallet.Keypair {
	t.Helper()
	kp, err := wallet.FromURI(uri)
	if err != nil {
		t.Fatal(err)
	}
	return kp
}

// newDevNet opens an in-memory dev chain (blocks made with Step) with a
// subnet of maxUIDs uids, tempo 5 and no immunity.
func newDevNet(t *testing.T, maxUIDs uint16) *devNet {
	t.Helper()
	ctx := context.Background()
	c, err := devchain.Open(ctx, devchain.Config{Path: ":memory:", BlockTime: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	p := devchain.DefaultParams()
	p.Tempo, p.ImmunityPeriod, p.MaxAllowedUIDs, p.BurnRao = 5, 0, maxUIDs, devchain.RaoPerTAO/100
	if err := c.CreateSubnet(ctx, key(t, devchain.SudoURI), netuid, &p); err != nil {
		t.Fatal(err)
	}
	return &devNet{t: t, ctx: ctx, c: c}
}

// register registers //name//hot, staked with stakeTAO when positive.
func (n *devNet) register(name string, stakeTAO uint64) *wallet.Keypair {
	n.t.Helper()
	cold, hot := key(n.t, "//"+name), key(n.t, "//"+name+"//hot")
	if err := n.c.Fund(n.ctx, cold.SS58Address(), (stakeTAO+10)*devchain.RaoPerTAO); err != nil {
		n.t.Fatal(err)
	}
	if _, err := n.c.Register(n.ctx, netuid, cold, hot.SS58Address()); err != nil {
		n.t.Fatal(err)
	}
	if stakeTAO > 0 {
		if err := n.c.AddStake(n.ctx, cold, hot.SS58Address(), stakeTAO*devchain.RaoPerTAO); err != nil {
			n.t.Fatal(err)
		}
	}
	return hot
}

func (n *devNet) step(blocks int) {
	n.t.Helper()
	if _, err := n.c.Step(n.ctx, blocks); err != nil {
		n.t.Fatal(err)
	}
}

func (n *devNet) metagraph() *chain.Metagraph {
	n.t.Helper()
	mg, err := n.c.Metagraph(n.ctx, netuid)
	if err != nil {
		n.t.Fatal(err)
	}
	return mg
}

func (n *devNet) uid(hk *wallet.Keypair) uint16 {
	n.t.Helper()
	nr := n.metagraph().ByHotkey(hk.SS58Address())
	if nr == nil {
		n.t.Fatalf("%s is not registered", hk.SS58Address())
	}
	return nr.UID
}

func (n *devNet) publish(hk *wallet.Keypair, rec Record) {
	n.t.Helper()
	b, err := rec.Encode()
	if err != nil {
		n.t.Fatal(err)
	}
	if err := n.c.Commit(n.ctx, netuid, hk, b); err != nil {
		n.t.Fatal(err)
	}
}

// TestReadFromDevChain: records published through Commit are read back from
// every permitted validator; a miner's record is not read (no permit);
// garbage and an oversized record (the dev chain takes up to 1 KiB, more
// than the pallet) are reported as problems, never used; a validator that
// never committed is skipped; a second publish replaces the first.
func TestReadFromDevChain(t *testing.T) {
	n := newDevNet(t, 16)
	a, b := n.register("A", 3000), n.register("B", 1500)
	hostile, silent := n.register("Hostile", 1500), n.register("Silent", 1500)
	m1, m2 := n.register("M1", 0), n.register("M2", 0)
	n.step(6) // an epoch gives the staked hotkeys their permits
	mg := n.metagraph()
	for _, hk := range []*wallet.Keypair{a, b, hostile, silent} {
		if !mg.ByHotkey(hk.SS58Address()).ValidatorPermit {
			t.Fatalf("%s has no permit", hk.SS58Address())
		}
	}
	u1, u2 := n.uid(m1), n.uid(m2)
	block, _ := n.c.Block(n.ctx)
	n.publish(a, Record{Block: block, Leased: []uint16{u2}})
	n.publish(a, Record{Block: block, Leased: []uint16{u1}, Penalised: []uint16{u2}}) // replaces
	n.publish(b, Record{Block: block, Penalised: []uint16{u2}})
	n.publish(m1, Record{Block: block, Leased: []uint16{u2}}) // no permit: never read
	if err := n.c.Commit(n.ctx, netuid, hostile, []byte("\x00\xffgarbage")); err != nil {
		t.Fatal(err)
	}
	n.step(1)
	mg = n.metagraph()
	v, err := Read(n.ctx, n.c, mg, DefaultMergeConfig())
	if err != nil {
		t.Fatal(err)
	}
	if v.Used != 2 || len(v.Problems) != 1 || v.Problems[0].Validator != hostile.SS58Address() || v.Problems[0].Kind != DropNotRecord {
		t.Fatalf("used %d, problems %+v", v.Used, v.Problems)
	}
	if got := v.Allocated[u1]; len(got) != 1 || got[0] != a.SS58Address() || len(v.Allocated[u2]) != 0 {
		t.Fatalf("allocated %v: the second publish did not replace the first", v.Allocated)
	}
	// A and B together hold 4500 of the 7500 permitted TAO: 60% > 50%.
	if !v.Penalised[u2] || v.PenaltyShare[u2] < 0.59 || v.PenaltyShare[u2] > 0.61 {
		t.Fatalf("penalised %v, shares %v", v.Penalised, v.PenaltyShare)
	}

	// An oversized record with a valid header.
	big := append([]byte{'C', 'S', Version}, bytes.Repeat([]byte{0xff}, 600)...)
	if err := n.c.Commit(n.ctx, netuid, hostile, big); err != nil {
		t.Fatal(err)
	}
	v, err = Read(n.ctx, n.c, n.metagraph(), DefaultMergeConfig())
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Problems) != 1 || v.Problems[0].Kind != DropMalformed {
		t.Fatalf("problems %+v", v.Problems)
	}
}

// TestReregisteredUIDDoesNotInherit: a miner leased and penalised in a
// record is pruned and its uid goes to a new hotkey; the record, still on
// chain, gives the newcomer neither bit, while the other uids keep theirs.
func TestReregisteredUIDDoesNotInherit(t *testing.T) {
	n := newDevNet(t, 4)
	a := n.register("A", 3000)
	old, keep := n.register("Old", 0), n.register("Keep", 0)
	n.step(6)
	uOld, uKeep := n.uid(old), n.uid(keep)
	block, _ := n.c.Block(n.ctx)
	n.publish(a, Record{Block: block, Leased: []uint16{uOld, uKeep}, Penalised: []uint16{uOld, uKeep}})
	n.step(2)
	v, err := Read(n.ctx, n.c, n.metagraph(), DefaultMergeConfig())
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Allocated[uOld]) != 1 || !v.Penalised[uOld] {
		t.Fatalf("before: allocated %v penalised %v", v.Allocated, v.Penalised)
	}
	// Fill the subnet, then one more registration prunes a uid; repeat
	// until Old's uid has a new owner.
	for i := 0; n.metagraph().ByHotkey(old.SS58Address()) != nil; i++ {
		if i > 8 {
			t.Fatal("the old miner was never pruned")
		}
		n.register("New"+string(rune('a'+i)), 0)
		n.step(1)
	}
	mg := n.metagraph()
	var heir *chain.Neuron
	for i := range mg.Neurons {
		if mg.Neurons[i].UID == uOld {
			heir = &mg.Neurons[i]
		}
	}
	if heir == nil || heir.BlockAtRegistered <= block {
		t.Fatalf("uid %d: %+v", uOld, heir)
	}
	v, err = Read(n.ctx, n.c, mg, DefaultMergeConfig())
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Allocated[uOld]) != 0 || v.Penalised[uOld] || v.AllocatedHotkeys(mg)[heir.Hotkey] {
		t.Fatalf("the new owner %s of uid %d inherited: allocated %v penalised %v", heir.Hotkey, uOld, v.Allocated, v.Penalised)
	}
	if mg.ByHotkey(keep.SS58Address()) != nil && (len(v.Allocated[uKeep]) != 1 || !v.Penalised[uKeep]) {
		t.Fatalf("the unchanged uid %d lost its bits: allocated %v penalised %v", uKeep, v.Allocated, v.Penalised)
	}
}
