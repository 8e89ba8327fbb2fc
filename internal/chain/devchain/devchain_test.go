package devchain

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/sn27/compute/internal/chain"
	"github.com/sn27/compute/internal/wallet"
)

func key(t testing.TB, uri string) *wallet.Keypair {
	t.Helper()
	kp, err := wallet.FromURI(uri)
	if err != nil {
		t.Fatal(err)
	}
	return kp
}

// testParams: commit-reveal off (plain set_weights), tempo 9 (an epoch
// every 9 blocks), short rate limits, a low permit threshold, and version
// key 100.
func testParams() *Params {
	p := DefaultParams()
	p.CommitRevealEnabled = false
	p.Tempo = 9
	p.WeightsRateLimit = 5
	p.ServingRateLimit = 2
	p.ImmunityPeriod = 3
	p.WeightsVersionKey = 100
	p.MinValidatorStakeRao = 1000 * RaoPerTAO
	p.MaxAllowedUIDs = 4
	return &p
}

type fixture struct {
	t     *testing.T
	ctx   context.Context
	c     Dev
	step  func(n int)
	sudo  *wallet.Keypair
	cold  *wallet.Keypair
	valHK *wallet.Keypair
	m1    *wallet.Keypair
	m2    *wallet.Keypair
}

// setup creates netuid 1 with a validator (uid 0, 2000 TAO stake) and two
// miners (uids 1, 2), all under one coldkey, on c.
func setup(t *testing.T, c Dev, step func(int)) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{t: t, ctx: ctx, c: c, step: step, sudo: key(t, SudoURI), cold: key(t, "//Bob"),
		valHK: key(t, "//Bob//val"), m1: key(t, "//Bob//m1"), m2: key(t, "//Bob//m2")}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(c.CreateSubnet(ctx, f.sudo, 1, testParams()))
	must(c.Fund(ctx, f.cold.SS58Address(), 10_000*RaoPerTAO))
	for i, hk := range []*wallet.Keypair{f.valHK, f.m1, f.m2} {
		uid, err := c.Register(ctx, 1, f.cold, hk.SS58Address())
		must(err)
		if int(uid) != i {
			t.Fatalf("uid %d, want %d", uid, i)
		}
	}
	must(c.AddStake(ctx, f.cold, f.valHK.SS58Address(), 2000*RaoPerTAO))
	return f
}

// toEpoch steps until an epoch of netuid 1 has run, predicting the block
// from the schedule the chain reports.
func (f *fixture) toEpoch() uint64 {
	f.t.Helper()
	return toEpoch(f.t, f.ctx, f.c, 1, f.step)
}

// toEpoch steps c until the next epoch of netuid has run and returns its block.
func toEpoch(t *testing.T, ctx context.Context, c Dev, netuid uint16, step func(int)) uint64 {
	t.Helper()
	info, err := c.WeightsInfo(ctx, netuid, "")
	if err != nil {
		t.Fatal(err)
	}
	s := info.Schedule
	for b := info.Block + 1; b <= info.Block+chain.MaxTempo+2; b++ {
		var runs bool
		if s, runs = s.Step(b, info.Tempo, netuid); runs {
			step(int(b - info.Block))
			return b
		}
	}
	t.Fatalf("netuid %d runs no epoch", netuid)
	return 0
}

func memChain(t *testing.T) (*Chain, func(int)) {
	t.Helper()
	c, err := Open(context.Background(), Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, func(n int) {
		if _, err := c.Step(context.Background(), n); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRegistrationErrors(t *testing.T) {
	c, step := memChain(t)
	f := setup(t, c, step)
	ctx := f.ctx
	poor := key(t, "//Poor")
	if err := c.Fund(ctx, poor.SS58Address(), 1); err != nil {
		t.Fatal(err)
	}
	owned := key(t, "//Bob//owned")
	if err := c.AddStake(ctx, f.cold, owned.SS58Address(), 1); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		do   func() error
		want error
	}{
		{"already registered", func() error { _, err := c.Register(ctx, 1, f.cold, f.m1.SS58Address()); return err }, chain.ErrAlreadyRegistered},
		{"insufficient balance", func() error { _, err := c.Register(ctx, 1, poor, key(t, "//Poor//hk").SS58Address()); return err }, chain.ErrInsufficientBalance},
		{"unknown coldkey", func() error { _, err := c.Register(ctx, 1, key(t, "//Nobody"), poor.SS58Address()); return err }, chain.ErrUnknownKey},
		{"no subnet", func() error { _, err := c.Register(ctx, 9, f.cold, key(t, "//x").SS58Address()); return err }, chain.ErrSubnetNotFound},
		{"hotkey of another coldkey", func() error { _, err := c.Register(ctx, 1, poor, owned.SS58Address()); return err }, ErrNotOwner},
		{"serve unregistered", func() error {
			return c.ServeAxon(ctx, 1, poor, chain.AxonInfo{IP: "127.0.0.1", Port: 1, IPType: 4})
		}, chain.ErrNotRegistered},
		{"commit unregistered", func() error { return c.Commit(ctx, 1, poor, []byte("x")) }, chain.ErrNotRegistered},
		{"commit too large", func() error { return c.Commit(ctx, 1, f.m1, make([]byte, MaxCommitBytes+1)) }, ErrInvalidCall},
		{"set params not owner", func() error { return c.SetParams(ctx, f.cold, 1, *testParams()) }, ErrNotOwner},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.do(); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	acct, _ := c.Account(ctx, f.cold.SS58Address())
	// 10000 - 3×0.1 burn - 2000 stake - 1 rao
	if want := uint64(10_000*RaoPerTAO - 3*RaoPerTAO/10 - 2000*RaoPerTAO - 1); acct.BalanceRao != want {
		t.Fatalf("balance %d, want %d", acct.BalanceRao, want)
	}
}

func TestSignedCallsRefused(t *testing.T) {
	c, step := memChain(t)
	f := setup(t, c, step)
	ctx := f.ctx
	before, _ := c.Metagraph(ctx, 1)
	acct, _ := c.Account(ctx, f.m1.SS58Address())

	good, err := SignCall(f.m1, MethodCommit, acct.Nonce+1, CommitArgs{Netuid: 1, Data: []byte("hello")})
	if err != nil {
		t.Fatal(err)
	}
	tampered := *good
	tampered.Args = []byte(`{"netuid":1,"data":"ZXZpbA=="}`)
	otherSigner := *good
	otherSigner.Signer = f.m2.SS58Address()
	stranger, _ := SignCall(key(t, "//Stranger"), MethodCommit, 1, CommitArgs{Netuid: 1})
	badHex := *good
	badHex.Signature = "0xzz"

	for _, tc := range []struct {
		name string
		call *Call
		want error
	}{
		{"tampered args", &tampered, chain.ErrBadSignature},
		{"wrong signer", &otherSigner, chain.ErrBadSignature},
		{"bad hex", &badHex, chain.ErrBadSignature},
		{"unknown key", stranger, chain.ErrUnknownKey},
	} {
		if _, err := c.Submit(ctx, tc.call); !errors.Is(err, tc.want) {
			t.Fatalf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, err := c.Submit(ctx, good); err != nil {
		t.Fatalf("good call: %v", err)
	}
	if _, err := c.Submit(ctx, good); !errors.Is(err, chain.ErrReplay) {
		t.Fatalf("replay: err = %v, want ErrReplay", err)
	}
	old, _ := SignCall(f.m1, MethodCommit, acct.Nonce, CommitArgs{Netuid: 1, Data: []byte("older")})
	if _, err := c.Submit(ctx, old); !errors.Is(err, chain.ErrReplay) {
		t.Fatalf("stale nonce: err = %v, want ErrReplay", err)
	}
	cm, err := c.Commitment(ctx, 1, f.m1.SS58Address())
	if err != nil || string(cm.Data) != "hello" {
		t.Fatalf("commitment = %+v, %v; want hello", cm, err)
	}
	after, _ := c.Metagraph(ctx, 1)
	if len(after.Neurons) != len(before.Neurons) {
		t.Fatal("refused calls changed the metagraph")
	}
}

func TestWeightsRules(t *testing.T) {
	c, step := memChain(t)
	f := setup(t, c, step)
	ctx := f.ctx
	uids, w := []uint16{1, 2}, []uint16{65535, 21845}

	// No permit before the first epoch.
	if err := c.SetWeights(ctx, 1, f.valHK, uids, w, 100); !errors.Is(err, chain.ErrNoValidatorPermit) {
		t.Fatalf("before epoch: %v, want ErrNoValidatorPermit", err)
	}
	// Self-weight needs no permit.
	if err := c.SetWeights(ctx, 1, f.m1, []uint16{1}, []uint16{1}, 100); err != nil {
		t.Fatalf("self weight: %v", err)
	}
	f.toEpoch()
	nr, _ := c.Neuron(ctx, 1, 0)
	if !nr.ValidatorPermit {
		t.Fatal("validator with 2000 TAO has no permit after an epoch")
	}
	if m, _ := c.Neuron(ctx, 1, 1); m.ValidatorPermit {
		t.Fatal("miner without stake got a permit")
	}
	for _, tc := range []struct {
		name       string
		uids, w    []uint16
		version    uint64
		want       error
		hotkeyUsed *wallet.Keypair
	}{
		{"stale version key", uids, w, 99, chain.ErrVersionKey, f.valHK},
		{"duplicate uid", []uint16{1, 1}, []uint16{1, 1}, 100, chain.ErrInvalidWeights, f.valHK},
		{"uid out of range", []uint16{1, 7}, []uint16{1, 1}, 100, chain.ErrInvalidWeights, f.valHK},
		{"length mismatch", []uint16{1}, []uint16{1, 1}, 100, chain.ErrInvalidWeights, f.valHK},
		{"miner without permit", []uint16{2}, []uint16{1}, 100, chain.ErrNoValidatorPermit, f.m1},
	} {
		if err := c.SetWeights(ctx, 1, tc.hotkeyUsed, tc.uids, tc.w, tc.version); !errors.Is(err, tc.want) {
			t.Fatalf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if err := c.SetWeights(ctx, 1, f.valHK, uids, w, 100); err != nil {
		t.Fatal(err)
	}
	lu := func() uint64 { n, _ := c.Neuron(ctx, 1, 0); return n.LastUpdate }
	first := lu()
	if err := c.SetWeights(ctx, 1, f.valHK, uids, w, 100); !errors.Is(err, chain.ErrRateLimited) {
		t.Fatalf("over rate: %v, want ErrRateLimited", err)
	}
	if lu() != first {
		t.Fatal("refused set_weights changed last_update")
	}
	step(5)
	if err := c.SetWeights(ctx, 1, f.valHK, uids, w, 100); err != nil {
		t.Fatalf("after rate limit: %v", err)
	}
	f.toEpoch()
	f.toEpoch()
	mg, _ := c.Metagraph(ctx, 1)
	inc1, inc2 := mg.Neurons[1].Incentive, mg.Neurons[2].Incentive
	if !(inc1 > inc2 && inc2 > 0) {
		t.Fatalf("incentives %v, %v: want uid 1 > uid 2 > 0", inc1, inc2)
	}
	if mg.Neurons[0].Dividends < 0.99 || mg.Neurons[1].Emission <= 0 {
		t.Fatalf("validator dividends %v, miner emission %v", mg.Neurons[0].Dividends, mg.Neurons[1].Emission)
	}
	if mg.Neurons[1].Stake <= 0 {
		t.Fatal("miner emission not staked")
	}
}

func TestServeAxonAndCommitRevealAndBlocks(t *testing.T) {
	c, step := memChain(t)
	f := setup(t, c, step)
	ctx := f.ctx
	ax := chain.AxonInfo{Version: 142, IP: "127.0.0.1", Port: 8091, IPType: 4, Protocol: 4}
	if err := c.ServeAxon(ctx, 1, f.m1, ax); err != nil {
		t.Fatal(err)
	}
	if err := c.ServeAxon(ctx, 1, f.m1, ax); !errors.Is(err, chain.ErrRateLimited) {
		t.Fatalf("serve again: %v, want ErrRateLimited", err)
	}
	bad := ax
	bad.IPType = 6
	step(3)
	if err := c.ServeAxon(ctx, 1, f.m1, bad); !errors.Is(err, ErrInvalidCall) {
		t.Fatalf("mismatched ip type: %v", err)
	}
	nr, _ := c.NeuronByHotkey(ctx, 1, f.m1.SS58Address())
	if nr.Axon.IP != "127.0.0.1" || nr.Axon.Port != 8091 || nr.Axon.Version != 142 {
		t.Fatalf("axon %+v", nr.Axon)
	}
	p := *testParams()
	p.CommitRevealEnabled = true
	if err := c.SetParams(ctx, f.sudo, 1, p); err != nil {
		t.Fatal(err)
	}
	if err := c.SetWeights(ctx, 1, f.m1, []uint16{1}, []uint16{1}, 100); !errors.Is(err, chain.ErrCommitRevealEnabled) {
		t.Fatalf("commit-reveal: %v", err)
	}

	// WaitBlock wakes on a new block.
	b, _ := c.Block(ctx)
	got := make(chan uint64)
	go func() { nb, _ := c.WaitBlock(ctx, b); got <- nb }()
	time.Sleep(10 * time.Millisecond)
	step(1)
	if nb := <-got; nb != b+1 {
		t.Fatalf("WaitBlock = %d, want %d", nb, b+1)
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := c.WaitBlock(short, b+10); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitBlock past deadline: %v", err)
	}
}

func TestUIDReplacementWhenFull(t *testing.T) {
	c, step := memChain(t)
	f := setup(t, c, step)
	ctx := f.ctx
	m3 := key(t, "//Bob//m3")
	if uid, err := c.Register(ctx, 1, f.cold, m3.SS58Address()); err != nil || uid != 3 {
		t.Fatalf("uid %d, %v", uid, err)
	}
	// Full (4 uids), all registered within the immunity period (3 blocks).
	late := key(t, "//Bob//late")
	if _, err := c.Register(ctx, 1, f.cold, late.SS58Address()); !errors.Is(err, chain.ErrRegistrationClosed) {
		t.Fatalf("full and immune: %v", err)
	}
	// Give uid 1 incentive so it is not the lowest; run an epoch.
	f.toEpoch()
	if err := c.SetWeights(ctx, 1, f.valHK, []uint16{1, 2, 3}, []uint16{65535, 30000, 30000}, 100); err != nil {
		t.Fatal(err)
	}
	f.toEpoch()
	if err := c.Commit(ctx, 1, f.m2, []byte("m2 data")); err != nil {
		t.Fatal(err)
	}
	// Uids 2 and 3 tie on pruning score; uid 2 is older, so it goes.
	uid, err := c.Register(ctx, 1, f.cold, late.SS58Address())
	if err != nil || uid != 2 {
		t.Fatalf("replacement uid %d, %v; want 2", uid, err)
	}
	if ok, _ := c.IsRegistered(ctx, 1, f.m2.SS58Address()); ok {
		t.Fatal("pruned hotkey still registered")
	}
	if _, err := c.Commitment(ctx, 1, f.m2.SS58Address()); !errors.Is(err, chain.ErrNotFound) {
		t.Fatalf("pruned hotkey's commitment: %v", err)
	}
	nr, _ := c.Neuron(ctx, 1, 2)
	if nr.Hotkey != late.SS58Address() || nr.Incentive != 0 {
		t.Fatalf("new uid 2: %+v", nr)
	}
}

func TestRestartKeepsState(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chain.db")
	ctx := context.Background()
	c, err := Open(ctx, Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	f := setup(t, c, func(n int) { c.Step(ctx, n) })
	f.toEpoch()
	if err := c.Commit(ctx, 1, f.m1, []byte("kept")); err != nil {
		t.Fatal(err)
	}
	want, _ := c.Metagraph(ctx, 1)
	acct, _ := c.Account(ctx, f.m1.SS58Address())
	c.Close()

	c2, err := Open(ctx, Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	got, err := c2.Metagraph(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got.Block != want.Block || len(got.Neurons) != 3 || got.Neurons[0].StakeRao != want.Neurons[0].StakeRao ||
		got.Neurons[0].ValidatorPermit != want.Neurons[0].ValidatorPermit {
		t.Fatalf("after restart %+v, want %+v", got, want)
	}
	if cm, err := c2.Commitment(ctx, 1, f.m1.SS58Address()); err != nil || string(cm.Data) != "kept" {
		t.Fatalf("commitment after restart: %v %v", cm, err)
	}
	// The nonce survives too: replaying the last call is refused.
	replay, _ := SignCall(f.m1, MethodCommit, acct.Nonce, CommitArgs{Netuid: 1, Data: []byte("again")})
	if _, err := c2.Submit(ctx, replay); !errors.Is(err, chain.ErrReplay) {
		t.Fatalf("replay after restart: %v", err)
	}
}

func TestRunProducesBlocks(t *testing.T) {
	c, err := Open(context.Background(), Config{BlockTime: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- c.Run(ctx) }()
	wctx, wcancel := context.WithTimeout(ctx, 5*time.Second)
	defer wcancel()
	if b, err := c.WaitBlock(wctx, 3); err != nil || b < 4 {
		t.Fatalf("WaitBlock: %d, %v", b, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
