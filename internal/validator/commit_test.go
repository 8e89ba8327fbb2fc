package validator

import (
	"context"
	"crypto/rand"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/sn27/compute/internal/chain"
	"github.com/sn27/compute/internal/chain/reveal"
	"github.com/sn27/compute/internal/store"
	"github.com/sn27/compute/internal/tlock"
	"github.com/sn27/compute/internal/wallet"
)

// commitChain answers WeightsInfo with info and records what is sent.
type commitChain struct {
	chain.Chain
	info                chain.WeightsInfo
	sets, commits       int
	ciphertext          []byte
	round               uint64
	version             uint16
	setUIDs, setWeights []uint16
	commitErr           error
}

func (c *commitChain) WeightsInfo(ctx context.Context, netuid uint16, hotkey string) (*chain.WeightsInfo, error) {
	info := c.info
	return &info, nil
}

func (c *commitChain) SetWeights(ctx context.Context, netuid uint16, hk chain.Signer, uids, weights []uint16, key uint64) error {
	c.sets++
	c.setUIDs, c.setWeights = uids, weights
	return nil
}

func (c *commitChain) CommitTimelockedWeights(ctx context.Context, netuid uint16, hk chain.Signer, ct []byte, round uint64, version uint16) (uint64, error) {
	c.commits++
	if c.commitErr != nil {
		return 0, c.commitErr
	}
	c.ciphertext, c.round, c.version = ct, round, version
	return c.info.Block + 1, nil
}

func TestSendWeightsChoosesTheChainsPath(t *testing.T) {
	hot, err := wallet.FromURI("//Validator")
	if err != nil {
		t.Fatal(err)
	}
	beacon, err := tlock.NewBeacon(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	genesis := time.Unix(1_700_000_000, 0)
	base := chain.WeightsInfo{
		Netuid: 27, Block: 1000, BlockTime: 12 * time.Second, Tempo: 99, RateLimit: 100, LastUpdate: 850,
		CommitRevealVersion: 4, RevealPeriodEpochs: 1,
		Beacon: chain.Beacon{Name: "test", PublicKey: beacon.PublicKey(), GenesisTime: genesis, Period: 3 * time.Second},
	}
	rows := []WeightRow{{UID: 1, Weight: 0.75}, {UID: 2, Weight: 0.25}, {UID: 3, Weight: 0}}
	now := func() time.Time { return genesis.Add(time.Hour) }
	cfg := DefaultConfig()
	cfg.Netuid, cfg.WeightsAttempts, cfg.WeightsBackoff = 27, 2, time.Millisecond

	t.Run("plain", func(t *testing.T) {
		c := &commitChain{info: base}
		sent, err := SendWeights(context.Background(), cfg, c, hot, rows, now, nil)
		if err != nil {
			t.Fatal(err)
		}
		if c.sets != 1 || c.commits != 0 || sent.Mode != store.WeightsModeSet || !slices.Equal(c.setWeights, []uint16{65535, 21845}) {
			t.Fatalf("sets %d commits %d sent %+v", c.sets, c.commits, sent)
		}
	})
	t.Run("commit-reveal", func(t *testing.T) {
		info := base
		info.CommitReveal = true
		c := &commitChain{info: info}
		sent, err := SendWeights(context.Background(), cfg, c, hot, rows, now, nil)
		if err != nil {
			t.Fatal(err)
		}
		if c.sets != 0 || c.commits != 1 || sent.Mode != store.WeightsModeCommit || sent.Block != 1001 || c.version != 4 {
			t.Fatalf("sets %d commits %d version %d sent %+v", c.sets, c.commits, c.version, sent)
		}
		wantRound, wantBlock, err := reveal.RevealRound(&info, now())
		if err != nil {
			t.Fatal(err)
		}
		if c.round != wantRound || sent.RevealRound != wantRound || sent.RevealBlock != wantBlock {
			t.Fatalf("round %d / %d, reveal block %d, want %d and %d", c.round, sent.RevealRound, sent.RevealBlock, wantRound, wantBlock)
		}
		// The chain, holding the round's pulse, opens exactly what was meant.
		p, err := reveal.Open(beacon.Sign(c.round), c.ciphertext)
		if err != nil {
			t.Fatal(err)
		}
		if p.Hotkey != hot.PublicKey() || !slices.Equal(p.UIDs, []uint16{1, 2}) || !slices.Equal(p.Values, []uint16{65535, 21845}) || p.VersionKey != cfg.VersionKey {
			t.Fatalf("payload %+v", p)
		}
		if _, err := reveal.Open(beacon.Sign(c.round-1), c.ciphertext); err == nil {
			t.Fatal("another round's signature opened the commit")
		}
	})
	t.Run("rate limited before sending", func(t *testing.T) {
		info := base
		info.CommitReveal, info.LastUpdate = true, 950
		c := &commitChain{info: info}
		_, err := SendWeights(context.Background(), cfg, c, hot, rows, now, nil)
		var rl *RateLimitedError
		if !errors.As(err, &rl) || rl.Until != 1050 || !errors.Is(err, chain.ErrRateLimited) || c.commits != 0 || c.sets != 0 {
			t.Fatalf("err %v, commits %d sets %d", err, c.commits, c.sets)
		}
	})
	t.Run("permanent commit error not retried", func(t *testing.T) {
		info := base
		info.CommitReveal = true
		c := &commitChain{info: info, commitErr: chain.ErrTooManyUnrevealedCommits}
		_, err := SendWeights(context.Background(), cfg, c, hot, rows, now, nil)
		if !errors.Is(err, chain.ErrTooManyUnrevealedCommits) || c.commits != 1 {
			t.Fatalf("err %v after %d commits", err, c.commits)
		}
	})
}

func TestSameWeights(t *testing.T) {
	tests := []struct {
		name           string
		cu, cw, su, sw []uint16
		want           bool
	}{
		{"equal", []uint16{1, 2}, []uint16{65535, 10}, []uint16{1, 2}, []uint16{65535, 10}, true},
		{"order differs", []uint16{2, 1}, []uint16{10, 65535}, []uint16{1, 2}, []uint16{65535, 10}, true},
		{"chain zeros ignored", []uint16{1, 2, 3}, []uint16{65535, 10, 0}, []uint16{1, 2}, []uint16{65535, 10}, true},
		{"value differs", []uint16{1, 2}, []uint16{65535, 11}, []uint16{1, 2}, []uint16{65535, 10}, false},
		{"extra on chain", []uint16{1, 2, 3}, []uint16{65535, 10, 5}, []uint16{1, 2}, []uint16{65535, 10}, false},
		{"missing on chain", []uint16{1}, []uint16{65535}, []uint16{1, 2}, []uint16{65535, 10}, false},
		{"empty chain row", nil, nil, []uint16{1}, []uint16{65535}, false},
	}
	for _, tc := range tests {
		if got := sameWeights(tc.cu, tc.cw, tc.su, tc.sw); got != tc.want {
			t.Errorf("%s: got %v", tc.name, got)
		}
	}
}

// TestRestartDoesNotRepeatAnInterval: the block of the last weights and the
// commits awaiting their reveal come back from the store after a restart,
// even where the chain's last update says nothing of the commit.
func TestRestartDoesNotRepeatAnInterval(t *testing.T) {
	n := newTestNet(t, 0, 10)
	cfg := n.config()
	cfg.WeightsEvery = 20
	self := n.val.SS58Address()
	if _, err := n.store.RecordWeights(n.ctx, store.WeightsRecord{Netuid: testNetuid, Hotkey: self, Mode: store.WeightsModeSet,
		Block: 30, UIDs: []uint16{1}, Weights: []uint16{65535}, Status: store.WeightsStatusSet}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.store.RecordWeights(n.ctx, store.WeightsRecord{Netuid: testNetuid, Hotkey: self, Mode: store.WeightsModeCommit,
		Block: 40, RevealRound: 7, RevealBlock: 55, UIDs: []uint16{1}, Weights: []uint16{65535}, Status: store.WeightsStatusPending}); err != nil {
		t.Fatal(err)
	}
	v, err := New(cfg, Deps{Chain: n.chain, Hotkey: n.val, Store: n.store, Log: testLog()})
	if err != nil {
		t.Fatal(err)
	}
	if err := v.loadWeightsLog(n.ctx); err != nil {
		t.Fatal(err)
	}
	if v.lastWeights != 40 || len(v.pending) != 1 || v.pending[0].RevealBlock != 55 {
		t.Fatalf("after restart: last weights block %d, pending %+v", v.lastWeights, v.pending)
	}
	if st := v.State(); st.LastWeights == nil || st.LastWeights.Block != 40 || st.LastWeights.Status != store.WeightsStatusPending {
		t.Fatalf("state after restart: %+v", st.LastWeights)
	}
	for _, tc := range []struct {
		block uint64
		due   bool
	}{{45, false}, {59, false}, {60, true}} {
		if due := tc.block >= v.lastWeights+v.weightsInterval(); due != tc.due {
			t.Errorf("block %d: weights due %v, want %v", tc.block, due, tc.due)
		}
	}
}
