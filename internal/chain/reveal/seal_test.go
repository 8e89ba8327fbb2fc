package reveal

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/sn27/compute/internal/chain"
	"github.com/sn27/compute/internal/tlock"
)

// quicknetPulse is drand quicknet's published pulse for round 9683710 (also
// pinned in subtensor's pallets/drand benchmarking as DRAND_RESPONSE).
const (
	quicknetRound     = 9683710
	quicknetSignature = "b0a8b04e009cf72534321aca0f50048da596a3feec1172a0244d9a4a623a3123d0402da79854d4c705e94bc73224c342"
)

// sealInfo: head 100, last epoch at 90, tempo 10, period 1. The commit lands
// at 101, where an epoch runs (epoch 1); the reveal is at 111 (epoch 2), and
// the round is aimed at block 114, 14 blocks (168 s) after now.
func sealInfo(beacon chain.Beacon) *chain.WeightsInfo {
	return &chain.WeightsInfo{Netuid: 1, Block: 100, BlockTime: 12 * time.Second, Tempo: 10, RevealPeriodEpochs: 1,
		CommitReveal: true, CommitRevealVersion: 4,
		Schedule: chain.EpochSchedule{LastEpochBlock: 90, BlocksSinceLastStep: 10}, Beacon: beacon}
}

func TestSealOpenQuicknet(t *testing.T) {
	q := quicknet()
	q.PublicKey = tlock.QuicknetPublicKey()
	// now such that now + 168 s falls inside round 9683710's 3 s window.
	now := time.Unix(tlock.QuicknetGenesis+quicknetRound*3-168, 400_000_000)
	var hk [32]byte
	hk[0], hk[31] = 0xd4, 0x35
	uids, values := []uint16{0, 7, 255}, []uint16{65535, 1200, 3}
	s, err := Seal(rand.Reader, sealInfo(q), hk, uids, values, 142, now)
	if err != nil {
		t.Fatal(err)
	}
	if s.RevealBlock != 111 || s.RevealRound != quicknetRound {
		t.Fatalf("reveal block %d round %d, want 111 and %d", s.RevealBlock, s.RevealRound, quicknetRound)
	}
	sig, _ := hex.DecodeString(quicknetSignature)
	p, err := Open(sig, s.Ciphertext)
	if err != nil {
		t.Fatal(err)
	}
	if p.Hotkey != hk || !slices.Equal(p.UIDs, uids) || !slices.Equal(p.Values, values) || p.VersionKey != 142 {
		t.Fatalf("opened %+v", p)
	}
}

func TestSealOpenLocalBeacon(t *testing.T) {
	b, err := tlock.NewBeacon(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	beacon := quicknet()
	beacon.PublicKey = b.PublicKey()
	now := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	s, err := Seal(rand.Reader, sealInfo(beacon), [32]byte{1}, []uint16{4}, []uint16{9}, 7, now)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Open(b.Sign(s.RevealRound), s.Ciphertext)
	if err != nil {
		t.Fatal(err)
	}
	if p.Hotkey != [32]byte{1} || !slices.Equal(p.UIDs, []uint16{4}) || p.VersionKey != 7 {
		t.Fatalf("opened %+v", p)
	}
	if _, err := Open(b.Sign(s.RevealRound-1), s.Ciphertext); err == nil {
		t.Fatal("opened with the previous round's signature")
	}
}

func TestSealRefuses(t *testing.T) {
	q := quicknet()
	q.PublicKey = tlock.QuicknetPublicKey()
	now := time.Now()
	many := make([]uint16, 2600)
	for i := range many {
		many[i] = uint16(i)
	}
	noKey := sealInfo(quicknet())
	noEpochs := sealInfo(q)
	noEpochs.Tempo = 0
	for _, tc := range []struct {
		name         string
		info         *chain.WeightsInfo
		uids, values []uint16
		want         error
	}{
		{"unequal lengths", sealInfo(q), []uint16{1, 2}, []uint16{1}, chain.ErrInvalidWeights},
		{"too large", sealInfo(q), many, many, chain.ErrCommitTooLarge},
		{"tempo 0", noEpochs, []uint16{1}, []uint16{1}, ErrNoEpochs},
		{"no beacon key", noKey, []uint16{1}, []uint16{1}, nil},
	} {
		_, err := Seal(rand.Reader, tc.info, [32]byte{}, tc.uids, tc.values, 1, now)
		if err == nil || tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%s: err %v, want %v", tc.name, err, tc.want)
		}
	}
}
