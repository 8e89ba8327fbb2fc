package devchain

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sn27/compute/internal/chain"
	"github.com/sn27/compute/internal/chain/reveal"
	"github.com/sn27/compute/internal/scale"
	"github.com/sn27/compute/internal/tlock"
	"github.com/sn27/compute/internal/wallet"
)

// fakeClock is the beacon's clock in tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

const testBlockTime = 12 * time.Second

// crChain is a dev chain on a fake clock; its step advances the clock by one
// block time before producing each block, as Run does in real time.
type crChain struct {
	*Chain
	clk *fakeClock
}

func openCR(t *testing.T, path string, clk *fakeClock) *crChain {
	t.Helper()
	c, err := Open(context.Background(), Config{Path: path, BlockTime: testBlockTime, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &crChain{Chain: c, clk: clk}
}

func newCR(t *testing.T) *crChain {
	return openCR(t, "", &fakeClock{t: time.Unix(1_700_000_000, 0)})
}

// step produces n blocks, each one block time later on the clock.
func (c *crChain) step(t *testing.T) func(int) {
	return func(n int) {
		t.Helper()
		for i := 0; i < n; i++ {
			c.clk.Add(testBlockTime)
			if _, err := c.Step(context.Background(), 1); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// crParams: commit-reveal on (the defaults), tempo 9, rate limit 3.
func crParams() *Params {
	p := *testParams()
	p.CommitRevealEnabled = true
	p.WeightsRateLimit = 3
	return &p
}

// setupCR creates netuid 1 with commit-reveal on, a validator (uid 0) and two
// miners, and runs the first epoch so the validator holds a permit.
func setupCR(t *testing.T, c Dev, step func(int)) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{t: t, ctx: ctx, c: c, step: step, sudo: key(t, SudoURI), cold: key(t, "//Bob"),
		valHK: key(t, "//Bob//val"), m1: key(t, "//Bob//m1"), m2: key(t, "//Bob//m2")}
	must(t, c.CreateSubnet(ctx, f.sudo, 1, crParams()))
	must(t, c.Fund(ctx, f.cold.SS58Address(), 10_000*RaoPerTAO))
	for _, hk := range []*wallet.Keypair{f.valHK, f.m1, f.m2} {
		if _, err := c.Register(ctx, 1, f.cold, hk.SS58Address()); err != nil {
			t.Fatal(err)
		}
	}
	must(t, c.AddStake(ctx, f.cold, f.valHK.SS58Address(), 2000*RaoPerTAO))
	f.toEpoch()
	if nr, _ := c.Neuron(ctx, 1, 0); !nr.ValidatorPermit {
		t.Fatal("validator has no permit after the first epoch")
	}
	return f
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// seal encrypts a weights row of hotkey for a commit prepared now by signer.
func seal(t *testing.T, c Dev, now time.Time, signer *wallet.Keypair, hotkey [32]byte, uids, values []uint16, version uint64) (reveal.Sealed, *chain.WeightsInfo) {
	t.Helper()
	info, err := c.WeightsInfo(context.Background(), 1, signer.SS58Address())
	if err != nil {
		t.Fatal(err)
	}
	s, err := reveal.Seal(rand.Reader, info, hotkey, uids, values, version, now)
	if err != nil {
		t.Fatal(err)
	}
	return s, info
}

func eventsOf(t *testing.T, c Dev, kind string) []Event {
	t.Helper()
	evs, err := c.Events(context.Background(), EventQuery{Netuid: 1})
	if err != nil {
		t.Fatal(err)
	}
	var out []Event
	for _, e := range evs {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

// TestRevealAtPredictedBlock commits through the client's prediction and
// checks the chain reveals at the predicted block: exactly at
// reveal.RevealBlock when the round's pulse is already stored by then, and
// at the first later block that stores it when the beacon follows the block
// clock (RevealBlock + SecurityBlockOffset with the round Seal aims at).
func TestRevealAtPredictedBlock(t *testing.T) {
	for _, tc := range []struct {
		name         string
		revealPeriod uint64
		commitAfter  int           // blocks stepped after setup before the commit
		jump         time.Duration // clock jump right after the commit
		wantOffset   uint64        // reveal block - reveal.RevealBlock
	}{
		{"pulse early, period 1", 1, 0, 30 * time.Minute, 0},
		{"pulse early, period 2, mid epoch", 2, 4, 30 * time.Minute, 0},
		{"clock follows blocks, period 1", 1, 0, 0, reveal.SecurityBlockOffset},
		{"clock follows blocks, period 3, mid epoch", 3, 5, 0, reveal.SecurityBlockOffset},
		{"pulse early, the commit lands on an epoch block", 1, 8, 30 * time.Minute, 0},
		{"clock follows blocks, the commit lands on an epoch block", 1, 8, 0, reveal.SecurityBlockOffset},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCR(t)
			step := c.step(t)
			f := setupCR(t, c, step)
			ctx := f.ctx
			p, _ := c.Params(ctx, 1)
			p.RevealPeriodEpochs = tc.revealPeriod
			must(t, c.SetParams(ctx, f.sudo, 1, p))
			step(tc.commitAfter)

			uids, values := []uint16{1, 2}, []uint16{65535, 20000}
			sealed, info := seal(t, c, c.clk.Now(), f.valHK, f.valHK.PublicKey(), uids, values, 100)
			predicted, err := reveal.RevealBlock(info)
			if err != nil || predicted != sealed.RevealBlock {
				t.Fatalf("RevealBlock %d, %v; Seal says %d", predicted, err, sealed.RevealBlock)
			}
			incl, err := c.CommitTimelockedWeights(ctx, 1, f.valHK, sealed.Ciphertext, sealed.RevealRound, info.CommitRevealVersion)
			if err != nil {
				t.Fatal(err)
			}
			if incl != info.Block+1 {
				t.Fatalf("included at %d, want head+1 = %d", incl, info.Block+1)
			}
			pending, _ := c.TimelockedCommits(ctx, 1, f.valHK.SS58Address())
			if len(pending) != 1 || pending[0].Block != incl || pending[0].RevealRound != sealed.RevealRound ||
				!bytes.Equal(pending[0].Ciphertext, sealed.Ciphertext) {
				t.Fatalf("pending commits %+v", pending)
			}
			c.clk.Add(tc.jump)
			want := predicted + tc.wantOffset
			for {
				b, _ := c.Block(ctx)
				got, _, _ := c.Weights(ctx, 1, 0)
				if len(got) != 0 {
					if b != want {
						t.Fatalf("weights applied by block %d, want %d (predicted %d)", b, want, predicted)
					}
					break
				}
				if b > want {
					t.Fatalf("no weights at block %d, want them at %d; events %+v", b, want, eventsOf(t, c, EventCommitExpired))
				}
				step(1)
			}
			gotUIDs, gotValues, _ := c.Weights(ctx, 1, 0)
			if !equalU16(gotUIDs, uids) || !equalU16(gotValues, values) {
				t.Fatalf("weights %v %v, want %v %v", gotUIDs, gotValues, uids, values)
			}
			if ev := eventsOf(t, c, EventWeightsRevealed); len(ev) != 1 || ev[0].Block != want || ev[0].Hotkey != f.valHK.SS58Address() {
				t.Fatalf("revealed events %+v", ev)
			}
			if pending, _ := c.TimelockedCommits(ctx, 1, ""); len(pending) != 0 {
				t.Fatalf("commits left after reveal: %+v", pending)
			}
			// A revealed commit does not move last_update: the commit did.
			if nr, _ := c.Neuron(ctx, 1, 0); nr.LastUpdate != incl {
				t.Fatalf("last update %d, want the commit block %d", nr.LastUpdate, incl)
			}
		})
	}
}

func equalU16(a, b []uint16) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestIncentiveFollowsCommittedWeights: the validator only commits; after the
// reveal the epochs pay the miners in the committed proportions.
func TestIncentiveFollowsCommittedWeights(t *testing.T) {
	c := newCR(t)
	step := c.step(t)
	f := setupCR(t, c, step)
	ctx := f.ctx
	if err := c.SetWeights(ctx, 1, f.valHK, []uint16{1, 2}, []uint16{65535, 20000}, 100); !errors.Is(err, chain.ErrCommitRevealEnabled) {
		t.Fatalf("plain set_weights: %v, want ErrCommitRevealEnabled", err)
	}
	for i := 0; i < 4; i++ {
		info, err := c.WeightsInfo(ctx, 1, f.valHK.SS58Address())
		if err != nil {
			t.Fatal(err)
		}
		if next := info.NextAllowed(); next > info.Block {
			step(int(next - info.Block))
		}
		sealed, info := seal(t, c, c.clk.Now(), f.valHK, f.valHK.PublicKey(), []uint16{1, 2}, []uint16{65535, 20000}, 100)
		if _, err := c.CommitTimelockedWeights(ctx, 1, f.valHK, sealed.Ciphertext, sealed.RevealRound, info.CommitRevealVersion); err != nil {
			t.Fatal(err)
		}
		f.toEpoch()
	}
	f.toEpoch()
	mg, _ := c.Metagraph(ctx, 1)
	inc1, inc2 := mg.Neurons[1].Incentive, mg.Neurons[2].Incentive
	if !(inc1 > inc2 && inc2 > 0) {
		t.Fatalf("incentives %v, %v: want uid 1 > uid 2 > 0", inc1, inc2)
	}
	if r := inc2 / inc1; r < 0.25 || r > 0.35 {
		t.Fatalf("incentive ratio %v, want about 20000/65535", r)
	}
	if mg.Neurons[0].Dividends < 0.99 {
		t.Fatalf("validator dividends %v", mg.Neurons[0].Dividends)
	}
	if n := len(eventsOf(t, c, EventWeightsRevealed)); n < 3 {
		t.Fatalf("%d reveals, want at least 3", n)
	}
}

// TestCommitRefused checks the commit's rules; a refused commit stores nothing.
func TestCommitRefused(t *testing.T) {
	c := newCR(t)
	step := c.step(t)
	f := setupCR(t, c, step)
	ctx := f.ctx
	plain := *testParams()
	must(t, c.CreateSubnet(ctx, f.sudo, 2, &plain))
	if _, err := c.Register(ctx, 2, f.cold, f.valHK.SS58Address()); err != nil {
		t.Fatal(err)
	}
	ct := []byte("opaque")
	stranger := key(t, "//Bob//stranger")
	must(t, c.AddStake(ctx, f.cold, stranger.SS58Address(), 1))
	for _, tc := range []struct {
		name    string
		netuid  uint16
		signer  *wallet.Keypair
		ct      []byte
		version uint16
		want    error
	}{
		{"wrong version", 1, f.valHK, ct, 3, chain.ErrIncorrectCommitRevealVersion},
		{"commit-reveal off", 2, f.valHK, ct, 4, chain.ErrCommitRevealDisabled},
		{"not registered", 1, stranger, ct, 4, chain.ErrNotRegistered},
		{"no subnet", 9, f.valHK, ct, 4, chain.ErrSubnetNotFound},
		{"too large", 1, f.valHK, make([]byte, MaxTimelockedCommitBytes+1), 4, chain.ErrCommitTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := c.CommitTimelockedWeights(ctx, tc.netuid, tc.signer, tc.ct, 5, tc.version); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	if pending, _ := c.TimelockedCommits(ctx, 1, ""); len(pending) != 0 {
		t.Fatalf("refused commits stored: %+v", pending)
	}

	// Rate limit 3: the next commit may land 3 blocks after the last one.
	incl, err := c.CommitTimelockedWeights(ctx, 1, f.m1, ct, 5, 4)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CommitTimelockedWeights(ctx, 1, f.m1, ct, 5, 4); !errors.Is(err, chain.ErrRateLimited) {
		t.Fatalf("second commit: %v, want ErrRateLimited", err)
	}
	info, _ := c.WeightsInfo(ctx, 1, f.m1.SS58Address())
	if info.LastUpdate != incl || info.NextAllowed() != incl+3 {
		t.Fatalf("last update %d, next allowed %d; want %d, %d", info.LastUpdate, info.NextAllowed(), incl, incl+3)
	}
	for i := 1; i <= 2; i++ {
		step(1)
		if _, err := c.CommitTimelockedWeights(ctx, 1, f.m1, ct, 5, 4); !errors.Is(err, chain.ErrRateLimited) {
			t.Fatalf("commit %d blocks later: %v, want ErrRateLimited", i, err)
		}
	}
	step(1) // head incl+2: the commit lands at incl+3
	if got, err := c.CommitTimelockedWeights(ctx, 1, f.m1, ct, 5, 4); err != nil || got != incl+3 {
		t.Fatalf("commit after the rate limit: block %d, %v; want %d", got, err, incl+3)
	}

	// Without a rate limit, the 11th commit of one epoch is refused.
	p, _ := c.Params(ctx, 1)
	p.WeightsRateLimit = 0
	must(t, c.SetParams(ctx, f.sudo, 1, p))
	toEpoch(t, ctx, c, 1, step)
	for i := 1; i <= MaxUnrevealedCommits+1; i++ {
		_, err := c.CommitTimelockedWeights(ctx, 1, f.m2, ct, 5, 4)
		if i <= MaxUnrevealedCommits && err != nil {
			t.Fatalf("commit %d: %v", i, err)
		}
		if i > MaxUnrevealedCommits && !errors.Is(err, chain.ErrTooManyUnrevealedCommits) {
			t.Fatalf("commit %d: %v, want ErrTooManyUnrevealedCommits", i, err)
		}
	}
	if pending, _ := c.TimelockedCommits(ctx, 1, f.m2.SS58Address()); len(pending) != MaxUnrevealedCommits {
		t.Fatalf("%d pending, want %d", len(pending), MaxUnrevealedCommits)
	}
}

// TestBadCommitsDropped: commits that cannot be applied are dropped with an
// event at the reveal, never applied, and the epoch still runs.
func TestBadCommitsDropped(t *testing.T) {
	legacy := func(uids, values []uint16, version uint64) []byte {
		b := scale.AppendCompact(nil, uint64(len(uids)))
		for _, u := range uids {
			b = scale.AppendU16(b, u)
		}
		b = scale.AppendCompact(b, uint64(len(values)))
		for _, v := range values {
			b = scale.AppendU16(b, v)
		}
		return scale.AppendU64(b, version)
	}
	type commitFn func(t *testing.T, c *crChain, f *fixture, info *chain.WeightsInfo, round uint64) ([]byte, uint64)
	encrypt := func(msg []byte) commitFn {
		return func(t *testing.T, c *crChain, f *fixture, info *chain.WeightsInfo, round uint64) ([]byte, uint64) {
			ct, err := tlock.Encrypt(rand.Reader, info.Beacon.PublicKey, round, msg)
			if err != nil {
				t.Fatal(err)
			}
			return ct, round
		}
	}
	payload := func(hk [32]byte, uids, values []uint16, version uint64) []byte {
		return reveal.Payload{Hotkey: hk, UIDs: uids, Values: values, VersionKey: version}.Encode()
	}
	val := key(t, "//Bob//val").PublicKey()
	for _, tc := range []struct {
		name    string
		commit  commitFn
		kind    string
		detail  string
		applied bool
	}{
		{"garbage ciphertext", func(*testing.T, *crChain, *fixture, *chain.WeightsInfo, uint64) ([]byte, uint64) {
			return []byte("not a ciphertext at all"), 0
		}, EventCommitDropped, "does not decrypt", false},
		{"encrypted to another round", func(t *testing.T, c *crChain, f *fixture, info *chain.WeightsInfo, round uint64) ([]byte, uint64) {
			ct, _ := encrypt(payload(val, []uint16{1}, []uint16{1}, 100))(t, c, f, info, round+1)
			return ct, round
		}, EventCommitDropped, "does not decrypt", false},
		{"payload of another hotkey", encrypt(payload(key(t, "//Bob//m1").PublicKey(), []uint16{1, 2}, []uint16{5, 5}, 100)),
			EventCommitDropped, "not the committer", false},
		{"payload not a weights row", encrypt([]byte{0xff, 0xff, 0xff}), EventCommitDropped, "does not decode", false},
		{"uid out of range", encrypt(payload(val, []uint16{1, 7}, []uint16{5, 5}, 100)), EventCommitDropped, "refused", false},
		{"stale version key", encrypt(payload(val, []uint16{1, 2}, []uint16{5, 5}, 99)), EventCommitDropped, "version key", false},
		{"round never stored in time", func(t *testing.T, c *crChain, f *fixture, info *chain.WeightsInfo, round uint64) ([]byte, uint64) {
			return encrypt(payload(val, []uint16{1, 2}, []uint16{5, 5}, 100))(t, c, f, info, round+1_000_000)
		}, EventCommitExpired, "not stored", false},
		{"legacy payload without hotkey", encrypt(legacy([]uint16{1, 2}, []uint16{5, 5}, 100)), EventWeightsRevealed, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCR(t)
			step := c.step(t)
			f := setupCR(t, c, step)
			ctx := f.ctx
			info, _ := c.WeightsInfo(ctx, 1, f.valHK.SS58Address())
			round, revealBlock, err := reveal.RevealRound(info, c.clk.Now())
			if err != nil {
				t.Fatal(err)
			}
			ct, r := tc.commit(t, c, f, info, round)
			if r == 0 {
				r = round
			}
			if _, err := c.CommitTimelockedWeights(ctx, 1, f.valHK, ct, r, 4); err != nil {
				t.Fatal(err)
			}
			before, _ := c.WeightsInfo(ctx, 1, "")
			step(int(revealBlock-before.Block) + 2*int(before.Tempo))
			after, _ := c.WeightsInfo(ctx, 1, "")
			if after.Schedule.EpochIndex < before.Schedule.EpochIndex+2 {
				t.Fatalf("epochs stopped: index %d -> %d", before.Schedule.EpochIndex, after.Schedule.EpochIndex)
			}
			ev := eventsOf(t, c, tc.kind)
			if len(ev) != 1 || ev[0].Hotkey != f.valHK.SS58Address() || !strings.Contains(ev[0].Detail, tc.detail) {
				t.Fatalf("%s events %+v, want one mentioning %q", tc.kind, ev, tc.detail)
			}
			if tc.kind == EventCommitDropped && ev[0].Block < revealBlock {
				t.Fatalf("dropped at block %d, before the reveal block %d", ev[0].Block, revealBlock)
			}
			uids, _, _ := c.Weights(ctx, 1, 0)
			if applied := len(uids) > 0; applied != tc.applied {
				t.Fatalf("weights applied = %v, want %v", applied, tc.applied)
			}
			if pending, _ := c.TimelockedCommits(ctx, 1, ""); len(pending) != 0 {
				t.Fatalf("commit still pending: %+v", pending)
			}
		})
	}
}

// TestRestartKeepsCommitsAndBeacon closes and reopens the state file between
// the commit and its reveal.
func TestRestartKeepsCommitsAndBeacon(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chain.db")
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	c := openCR(t, path, clk)
	f := setupCR(t, c, c.step(t))
	ctx := f.ctx
	b1, _ := c.Beacon(ctx)
	sealed, info := seal(t, c, clk.Now(), f.valHK, f.valHK.PublicKey(), []uint16{1, 2}, []uint16{65535, 30000}, 100)
	if _, err := c.CommitTimelockedWeights(ctx, 1, f.valHK, sealed.Ciphertext, sealed.RevealRound, info.CommitRevealVersion); err != nil {
		t.Fatal(err)
	}
	c.Close()

	c2 := openCR(t, path, clk)
	b2, err := c2.Beacon(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b1.PublicKey, b2.PublicKey) || !b1.GenesisTime.Equal(b2.GenesisTime) || b1.Period != b2.Period || b2.LastStoredRound != b1.LastStoredRound {
		t.Fatalf("beacon before %+v, after restart %+v", b1, b2)
	}
	pending, _ := c2.TimelockedCommits(ctx, 1, f.valHK.SS58Address())
	if len(pending) != 1 || pending[0].RevealRound != sealed.RevealRound {
		t.Fatalf("pending after restart: %+v", pending)
	}
	step := c2.step(t)
	head, _ := c2.Block(ctx)
	step(int(sealed.RevealBlock+reveal.SecurityBlockOffset-head) + 1)
	if uids, _, _ := c2.Weights(ctx, 1, 0); len(uids) != 2 {
		t.Fatalf("weights after the reveal: %v; events %+v", uids, eventsOf(t, c2, EventCommitDropped))
	}
	// The pulse that revealed it verifies under the key kept across the restart.
	p, err := c2.StoredPulse(ctx, sealed.RevealRound)
	if err != nil {
		t.Fatal(err)
	}
	sig, _ := hex.DecodeString(p.Signature)
	if err := tlock.Verify(b1.PublicKey, sealed.RevealRound, sig); err != nil {
		t.Fatal(err)
	}
}

// TestBeaconPulses: pulses follow the clock from genesis, verify under the
// beacon key, are stored at most MaxPulsesPerBlock per block and pruned to
// the kept window.
func TestBeaconPulses(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_700_000_000, 500_000_000)}
	c, err := Open(context.Background(), Config{BlockTime: testBlockTime, BeaconPeriod: time.Second, KeepPulses: 60, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	b, _ := c.Beacon(ctx)
	if b.Period != time.Second || !b.GenesisTime.Equal(time.Unix(1_700_000_000, 0)) || len(b.PublicKey) != tlock.PublicKeySize || b.LatestRound != 1 {
		t.Fatalf("beacon %+v", b)
	}
	if _, err := c.Pulse(ctx, 2); !errors.Is(err, chain.ErrNotFound) {
		t.Fatalf("future round: %v, want ErrNotFound", err)
	}
	if _, err := c.Pulse(ctx, 0); !errors.Is(err, chain.ErrNotFound) {
		t.Fatalf("round 0: %v, want ErrNotFound", err)
	}
	for _, tc := range []struct {
		advance         time.Duration
		wantLast, count uint64
	}{
		{0, 1, 1},                          // first block: the current round
		{5 * time.Second, 6, 6},            // rounds 2..6
		{200 * time.Second, 206, 50},       // a long gap: only the last 50; older than the window pruned
		{2 * time.Second, 208, 52},         // rounds 207, 208
		{0, 208, 52},                       // nothing new
		{time.Hour, 3808, 50},              // nothing pending: jump again
		{500 * time.Millisecond, 3809, 51}, // the next round
		{400 * time.Millisecond, 3809, 51}, // not yet
		{600 * time.Millisecond, 3810, 52}, // on the dot
		{10 * time.Second, 3820, 60},       // pruned to the kept 60
	} {
		clk.Add(tc.advance)
		if _, err := c.Step(ctx, 1); err != nil {
			t.Fatal(err)
		}
		bi, _ := c.Beacon(ctx)
		var n uint64
		c.db.QueryRow(`SELECT COUNT(*) FROM pulses`).Scan(&n)
		if bi.LastStoredRound != tc.wantLast || n != tc.count {
			t.Fatalf("after +%v: last stored %d, %d stored; want %d, %d", tc.advance, bi.LastStoredRound, n, tc.wantLast, tc.count)
		}
	}
	p, err := c.Pulse(ctx, 3810)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := c.StoredPulse(ctx, 3810)
	if err != nil || stored != p {
		t.Fatalf("stored %+v, %v; served %+v", stored, err, p)
	}
	sig, _ := hex.DecodeString(p.Signature)
	if err := tlock.Verify(b.PublicKey, 3810, sig); err != nil {
		t.Fatal(err)
	}
	if _, err := c.StoredPulse(ctx, 100); !errors.Is(err, chain.ErrNotFound) {
		t.Fatalf("pruned pulse: %v", err)
	}
}

// TestPendingCommitHoldsCatchUp: after a long stop, pulses resume from the
// round a pending commit waits for, 50 per block, so it still reveals.
func TestPendingCommitHoldsCatchUp(t *testing.T) {
	c := newCR(t)
	step := c.step(t)
	f := setupCR(t, c, step)
	ctx := f.ctx
	sealed, info := seal(t, c, c.clk.Now(), f.valHK, f.valHK.PublicKey(), []uint16{1}, []uint16{1}, 100)
	if _, err := c.CommitTimelockedWeights(ctx, 1, f.valHK, sealed.Ciphertext, sealed.RevealRound, info.CommitRevealVersion); err != nil {
		t.Fatal(err)
	}
	c.clk.Add(24 * time.Hour)
	if _, err := c.Step(ctx, 1); err != nil {
		t.Fatal(err)
	}
	bi, _ := c.Beacon(ctx)
	if want := sealed.RevealRound + MaxPulsesPerBlock - 1; bi.LastStoredRound != want {
		t.Fatalf("last stored %d, want %d (from the pending round %d)", bi.LastStoredRound, want, sealed.RevealRound)
	}
	head, _ := c.Block(ctx)
	step(int(sealed.RevealBlock - head))
	if uids, _, _ := c.Weights(ctx, 1, 0); len(uids) != 1 {
		t.Fatalf("weights %v; events %+v", uids, eventsOf(t, c, EventCommitDropped))
	}
}

// TestTimelockedHTTP runs commit, reveal and the new reads through the HTTP client.
func TestTimelockedHTTP(t *testing.T) {
	c := newCR(t)
	srv := httptest.NewServer(NewHandler(c.Chain, nil))
	t.Cleanup(srv.Close)
	cl := dial(t, srv.URL)
	step := c.step(t)
	f := setupCR(t, cl, step)
	ctx := f.ctx

	info, err := cl.WeightsInfo(ctx, 1, f.valHK.SS58Address())
	if err != nil {
		t.Fatal(err)
	}
	direct, _ := c.WeightsInfo(ctx, 1, f.valHK.SS58Address())
	if !info.Beacon.GenesisTime.Equal(direct.Beacon.GenesisTime) {
		t.Fatalf("genesis over HTTP %v, direct %v", info.Beacon.GenesisTime, direct.Beacon.GenesisTime)
	}
	info.Beacon.GenesisTime = direct.Beacon.GenesisTime
	if a, b := mustJSON(t, info), mustJSON(t, direct); a != b {
		t.Fatalf("weights info over HTTP\n%s\ndirect\n%s", a, b)
	}
	if info.BlockTime != testBlockTime || !info.CommitReveal || info.CommitRevealVersion != 4 || info.RevealPeriodEpochs != 1 ||
		len(info.Beacon.PublicKey) != tlock.PublicKeySize || info.Beacon.Period != DefaultBeaconPeriod {
		t.Fatalf("weights info %+v", info)
	}
	if _, err := cl.CommitTimelockedWeights(ctx, 1, f.valHK, []byte("x"), 1, 3); !errors.Is(err, chain.ErrIncorrectCommitRevealVersion) {
		t.Fatalf("wrong version over HTTP: %v", err)
	}
	sealed, err := reveal.Seal(rand.Reader, info, f.valHK.PublicKey(), []uint16{1, 2}, []uint16{65535, 100}, 100, c.clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	incl, err := cl.CommitTimelockedWeights(ctx, 1, f.valHK, sealed.Ciphertext, sealed.RevealRound, 4)
	if err != nil || incl != info.Block+1 {
		t.Fatalf("commit: block %d, %v", incl, err)
	}
	if _, err := cl.CommitTimelockedWeights(ctx, 1, f.valHK, sealed.Ciphertext, sealed.RevealRound, 4); !errors.Is(err, chain.ErrRateLimited) {
		t.Fatalf("rate limit over HTTP: %v", err)
	}
	pending, err := cl.TimelockedCommits(ctx, 1, f.valHK.SS58Address())
	if err != nil || len(pending) != 1 || !bytes.Equal(pending[0].Ciphertext, sealed.Ciphertext) {
		t.Fatalf("pending over HTTP: %+v, %v", pending, err)
	}
	head, _ := cl.Block(ctx)
	step(int(sealed.RevealBlock + reveal.SecurityBlockOffset - head))
	uids, values, err := cl.Weights(ctx, 1, 0)
	if err != nil || !equalU16(uids, []uint16{1, 2}) || !equalU16(values, []uint16{65535, 100}) {
		t.Fatalf("weights over HTTP: %v %v %v", uids, values, err)
	}
	if _, _, err := cl.Weights(ctx, 1, 9); !errors.Is(err, chain.ErrNotFound) {
		t.Fatalf("weights of a missing uid: %v", err)
	}
	evs, err := cl.Events(ctx, EventQuery{Netuid: 1})
	if err != nil || len(evs) != 2 || evs[0].Kind != EventWeightsCommitted || evs[1].Kind != EventWeightsRevealed || evs[1].Block != sealed.RevealBlock+reveal.SecurityBlockOffset {
		t.Fatalf("events over HTTP: %+v, %v", evs, err)
	}
	if later, _ := cl.Events(ctx, EventQuery{AllSubnets: true, After: evs[0].ID}); len(later) != 1 || later[0].ID != evs[1].ID {
		t.Fatalf("events after %d: %+v", evs[0].ID, later)
	}
	if none, _ := cl.Events(ctx, EventQuery{Netuid: 7}); len(none) != 0 {
		t.Fatalf("events of netuid 7: %+v", none)
	}

	bi, err := cl.Beacon(ctx)
	if err != nil || !bytes.Equal(bi.PublicKey, info.Beacon.PublicKey) || bi.Scheme != BeaconScheme || bi.LatestRound == 0 {
		t.Fatalf("beacon over HTTP: %+v, %v", bi, err)
	}
	p, err := cl.Pulse(ctx, sealed.RevealRound)
	if err != nil {
		t.Fatal(err)
	}
	sig, _ := hex.DecodeString(p.Signature)
	if err := tlock.Verify(bi.PublicKey, sealed.RevealRound, sig); err != nil {
		t.Fatalf("pulse over HTTP: %v", err)
	}
	if _, err := cl.Pulse(ctx, bi.LatestRound+1); !errors.Is(err, chain.ErrNotFound) {
		t.Fatalf("future pulse over HTTP: %v", err)
	}
	for path, status := range map[string]int{
		"/v1/beacon/pulse?round=99999999": http.StatusNotFound,
		"/v1/beacon/pulse":                http.StatusBadRequest,
		"/v1/beacon?x=1":                  http.StatusBadRequest,
		"/v1/events?limit=abc":            http.StatusBadRequest,
		"/v1/weights?netuid=1":            http.StatusBadRequest,
		"/v1/weights_info?netuid=9":       http.StatusNotFound,
		"/v1/timelocked_commits?netuid=1": http.StatusOK,
	} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != status {
			t.Errorf("GET %s: HTTP %d, want %d", path, resp.StatusCode, status)
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// FuzzDecodeCommitTimelockedArgs: the call's argument decoder never panics,
// refuses with ErrInvalidCall, and what it accepts survives a round trip.
func FuzzDecodeCommitTimelockedArgs(f *testing.F) {
	f.Add([]byte(`{"netuid":1,"commit":"AAEC","reveal_round":5,"commit_reveal_version":4}`))
	f.Add([]byte(`{"netuid":65536,"commit":"","reveal_round":-1}`))
	f.Add([]byte(`{"netuid":1,"commit":"!!","extra":1}`))
	f.Add([]byte(`{"netuid":1} {}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		a, err := DecodeCommitTimelockedArgs(raw)
		if err != nil {
			if !errors.Is(err, ErrInvalidCall) {
				t.Fatalf("error %v is not ErrInvalidCall", err)
			}
			return
		}
		again, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		b, err := DecodeCommitTimelockedArgs(again)
		if err != nil || b.Netuid != a.Netuid || b.RevealRound != a.RevealRound || b.CommitRevealVersion != a.CommitRevealVersion || !bytes.Equal(a.Commit, b.Commit) {
			t.Fatalf("round trip %+v -> %s -> %+v, %v", a, again, b, err)
		}
	})
}

// TestRunRevealsInRealTime: with Run producing blocks and the beacon on the
// wall clock, a commit sealed by the client is revealed within its reveal
// epoch, from the block the prediction names.
func TestRunRevealsInRealTime(t *testing.T) {
	ctx := context.Background()
	c, err := Open(ctx, Config{BlockTime: 50 * time.Millisecond, BeaconPeriod: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	f := setupCR(t, c, func(n int) {
		if _, err := c.Step(ctx, n); err != nil {
			t.Fatal(err)
		}
	})
	srv := httptest.NewServer(NewHandler(c, nil))
	defer srv.Close()
	cl := dial(t, srv.URL)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- c.Run(runCtx) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()

	info, err := cl.WeightsInfo(ctx, 1, f.valHK.SS58Address())
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := reveal.Seal(rand.Reader, info, f.valHK.PublicKey(), []uint16{1, 2}, []uint16{65535, 30000}, 100, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.CommitTimelockedWeights(ctx, 1, f.valHK, sealed.Ciphertext, sealed.RevealRound, info.CommitRevealVersion); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for b := uint64(0); ; {
		evs, err := cl.Events(wctx, EventQuery{Netuid: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			switch e.Kind {
			case EventWeightsRevealed:
				if e.Block < sealed.RevealBlock || e.Block >= sealed.RevealBlock+uint64(info.Tempo) {
					t.Fatalf("revealed at block %d, outside the reveal epoch from %d", e.Block, sealed.RevealBlock)
				}
				t.Logf("predicted %d, revealed at %d", sealed.RevealBlock, e.Block)
				return
			case EventCommitDropped, EventCommitExpired:
				t.Fatalf("commit not revealed: %+v", e)
			}
		}
		if b, err = cl.WaitBlock(wctx, b); err != nil {
			t.Fatal(err)
		}
	}
}

// FuzzRevealNeverFailsBlock opens arbitrary commits (raw bytes as the
// ciphertext, or arbitrary plaintext properly encrypted to the round) the way
// the block step does: the outcome is always a reveal or a dropped commit,
// never an error that would fail the block.
func FuzzRevealNeverFailsBlock(f *testing.F) {
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	c, err := Open(context.Background(), Config{BlockTime: testBlockTime, Now: clk.Now})
	if err != nil {
		f.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	sudo, cold, val := key(f, SudoURI), key(f, "//Bob"), key(f, "//Bob//val")
	for _, err := range []error{
		c.CreateSubnet(ctx, sudo, 1, crParams()),
		c.Fund(ctx, cold.SS58Address(), 10_000*RaoPerTAO),
	} {
		if err != nil {
			f.Fatal(err)
		}
	}
	for _, hk := range []string{val.SS58Address(), key(f, "//Bob//m1").SS58Address()} {
		if _, err := c.Register(ctx, 1, cold, hk); err != nil {
			f.Fatal(err)
		}
	}
	const round = 7
	sig := c.beacon.Sign(round)
	pub := c.info.PublicKey
	valPub := val.PublicKey()
	f.Add([]byte("garbage"), true)
	f.Add(reveal.Payload{Hotkey: valPub, UIDs: []uint16{0}, Values: []uint16{1}, VersionKey: 100}.Encode(), false)
	f.Add(reveal.Payload{Hotkey: valPub, UIDs: []uint16{0, 1}, Values: []uint16{1}, VersionKey: 100}.Encode(), false)
	f.Add([]byte{4, 1, 0, 4, 0, 100, 0, 0, 0, 0, 0, 0, 0}, false)
	f.Add([]byte{}, false)
	f.Fuzz(func(t *testing.T, data []byte, raw bool) {
		ct := data
		if !raw {
			if ct, err = tlock.Encrypt(rand.Reader, pub, round, data); err != nil {
				return // too long to encrypt
			}
		}
		tx, err := c.db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		var before int
		tx.QueryRow(`SELECT COUNT(*) FROM events`).Scan(&before)
		cm := pendingCommit{id: -1, hotkey: val.SS58Address(), block: 1, revealRound: round, ciphertext: ct}
		if err := c.revealOne(ctx, tx, 2, 1, cm, sig); err != nil {
			t.Fatalf("reveal failed the block: %v", err)
		}
		var kind string
		var after int
		tx.QueryRow(`SELECT COUNT(*) FROM events`).Scan(&after)
		tx.QueryRow(`SELECT kind FROM events ORDER BY id DESC LIMIT 1`).Scan(&kind)
		if after != before+1 || (kind != EventWeightsRevealed && kind != EventCommitDropped) {
			t.Fatalf("%d new events, last %q", after-before, kind)
		}
	})
}

// TestSchedule: epochs follow the stateful schedule (first one tempo blocks
// after creation, staggered by netuid), and a tempo change restarts the cycle.
func TestSchedule(t *testing.T) {
	c, step := memChain(t)
	ctx := context.Background()
	sudo := key(t, SudoURI)
	step(20)
	for _, tc := range []struct {
		netuid uint16
		tempo  uint16
		want   []uint64 // blocks after creation
	}{
		{1, 9, []uint64{8, 17, 26}}, // last epoch placed 1 % 9 blocks back
		{5, 4, []uint64{3, 7, 11}},  // 5 % 4
		{12, 10, []uint64{8, 18}},   // 12 % 10
		{3, 30, []uint64{27, 57}},   // 3 % 30
		{40, 40, []uint64{40, 80}},  // 40 % 40 = 0
	} {
		p := DefaultParams()
		p.Tempo = tc.tempo
		created, _ := c.Block(ctx)
		must(t, c.CreateSubnet(ctx, sudo, tc.netuid, &p))
		var got []uint64
		for len(got) < len(tc.want) {
			got = append(got, toEpoch(t, ctx, c, tc.netuid, step)-created)
		}
		if !equalU64(got, tc.want) {
			t.Errorf("netuid %d tempo %d: epochs %v blocks after creation, want %v", tc.netuid, tc.tempo, got, tc.want)
		}
	}
	p, _ := c.Params(ctx, 1)
	head, _ := c.Block(ctx)
	p.Tempo = 5
	must(t, c.SetParams(ctx, sudo, 1, p))
	if got := toEpoch(t, ctx, c, 1, step); got != head+5 {
		t.Fatalf("after the tempo change at %d: epoch at %d, want %d", head, got, head+5)
	}
	info, _ := c.WeightsInfo(ctx, 1, "")
	if info.Schedule.LastEpochBlock != head+5 || info.Schedule.BlocksSinceLastStep != 0 {
		t.Fatalf("schedule %+v", info.Schedule)
	}
}

func equalU64(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestMigrateOlderState opens a state written before commit-reveal existed:
// its subnet keeps plain weights, gets the default commit-reveal version and
// period, and starts a schedule; the beacon is created on first open.
func TestMigrateOlderState(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	ctx := context.Background()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	old := `{"tempo":9,"weights_rate_limit":5,"weights_version":0,"min_allowed_weights":1,"max_weights_limit":65535,
		"max_allowed_uids":8,"immunity_period":3,"burn":100000000,"commit_reveal_weights_enabled":false,"serving_rate_limit":2,
		"kappa":32767,"bonds_moving_avg":900000,"registration_allowed":true,"subnetwork_n":0,"activity_cutoff":5000,
		"max_allowed_validators":64,"min_validator_stake":1000000000000,"emission_per_block":1000000000}`
	for _, q := range []string{
		`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY)`,
		migrations[0],
		`INSERT INTO schema_migrations (version) VALUES (1)`,
		`UPDATE meta SET value = 40 WHERE key = 'block'`,
		`INSERT INTO subnets (netuid, owner, params, created_block) VALUES (1, 'x', '` + old + `', 3)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()

	c, err := Open(ctx, Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p, err := c.Params(ctx, 1)
	if err != nil || p.CommitRevealEnabled || p.CommitRevealVersion != DefaultCommitRevealVersion || p.RevealPeriodEpochs != DefaultRevealPeriodEpochs {
		t.Fatalf("params %+v, %v", p, err)
	}
	info, err := c.WeightsInfo(ctx, 1, "")
	if err != nil || info.Schedule.LastEpochBlock != 39 || len(info.Beacon.PublicKey) != tlock.PublicKeySize {
		t.Fatalf("weights info %+v, %v", info, err)
	}
	step := func(n int) {
		if _, err := c.Step(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	if got := toEpoch(t, ctx, c, 1, step); got != 48 {
		t.Fatalf("first epoch after the migration at %d, want 48", got)
	}
}
