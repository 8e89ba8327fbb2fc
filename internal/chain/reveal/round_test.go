package reveal

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/sn27/compute/internal/chain"
)

func quicknet() chain.Beacon {
	return chain.Beacon{Name: "quicknet", GenesisTime: time.Unix(1692803367, 0), Period: 3 * time.Second}
}

// scheduleVectors are the reference vectors of bittensor-drand v2.0.0,
// src/epoch_schedule_vectors.rs (predict_vectors and commit_epoch_vectors):
// state read at the head, reveal period, expected first reveal block or error.
var scheduleVectors = []struct {
	name                string
	lastEpoch, pending  uint64
	epochIndex          uint64
	tempo               uint16
	blocksSinceLastStep uint64
	head                uint64
	period              uint64
	wantBlock           uint64
	wantCommitEpoch     uint64
	wantErr             error
}{
	{name: "tempo_zero", lastEpoch: 10, tempo: 0, head: 10, period: 1, wantErr: ErrNoEpochs},
	{name: "cycle_reset", lastEpoch: 10, tempo: 50, head: 10, period: 1, wantBlock: 60},
	{name: "pending_fires_before_auto", lastEpoch: 80, pending: 95, tempo: 20, head: 91, period: 1, wantBlock: 95},
	{name: "commit_epoch_at_extrinsic_block", lastEpoch: 100, tempo: 50, head: 120, period: 1, wantBlock: 150, wantCommitEpoch: 0},
}

func TestRevealBlockVectors(t *testing.T) {
	for _, v := range scheduleVectors {
		t.Run(v.name, func(t *testing.T) {
			info := &chain.WeightsInfo{Netuid: 1, Block: v.head, Tempo: v.tempo, RevealPeriodEpochs: v.period,
				Schedule: chain.EpochSchedule{LastEpochBlock: v.lastEpoch, PendingEpochAt: v.pending,
					EpochIndex: v.epochIndex, BlocksSinceLastStep: v.blocksSinceLastStep}}
			got, err := RevealBlock(info)
			if v.wantErr != nil {
				if !errors.Is(err, v.wantErr) {
					t.Fatalf("err = %v, want %v", err, v.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != v.wantBlock {
				t.Errorf("reveal block = %d, want %d", got, v.wantBlock)
			}
			if ce := CommitEpoch(info); ce != v.wantCommitEpoch {
				t.Errorf("commit epoch = %d, want %d", ce, v.wantCommitEpoch)
			}
		})
	}
}

func TestRevealBlockCases(t *testing.T) {
	cases := []struct {
		name   string
		netuid uint16
		tempo  uint16
		head   uint64
		period uint64
		sched  chain.EpochSchedule
		want   uint64
	}{
		// (1000+2)/361 = 2; (2+1)*361 - 2 = 1081.
		{"legacy", 1, 360, 1000, 1, chain.EpochSchedule{Legacy: true}, 1081},
		// (1081+2)/361 = 3 (the head is itself a reveal block); (3+1)*361-2 = 1442.
		{"legacy at an epoch block", 1, 360, 1081, 1, chain.EpochSchedule{Legacy: true}, 1442},
		{"legacy period 3", 27, 360, 5000, 3, chain.EpochSchedule{Legacy: true}, (5028/361+3)*361 - 28},
		// Epoch due at head+1 (the inclusion block): the commit belongs to the
		// new epoch, so the reveal is one full tempo later.
		{"epoch at inclusion block", 1, 10, 109, 1, chain.EpochSchedule{LastEpochBlock: 100, EpochIndex: 7}, 120},
		{"period 2", 1, 10, 101, 2, chain.EpochSchedule{LastEpochBlock: 100, EpochIndex: 7}, 120},
		// An overdue pending epoch fires at the inclusion block.
		{"pending in the past", 1, 100, 500, 1, chain.EpochSchedule{LastEpochBlock: 450, PendingEpochAt: 480}, 601},
		// Past MaxTempo blocks without a step: the next block runs an epoch.
		{"safety net", 1, 100, 500, 1, chain.EpochSchedule{LastEpochBlock: 450, BlocksSinceLastStep: chain.MaxTempo + 1}, 601},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := RevealBlock(&chain.WeightsInfo{Netuid: c.netuid, Tempo: c.tempo, Block: c.head, RevealPeriodEpochs: c.period, Schedule: c.sched})
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("reveal block = %d, want %d", got, c.want)
			}
		})
	}
}

// TestPredictionMatchesSimulatedChain runs a chain driven by Step over random
// schedules (with owner-triggered epochs and tempo 1..50) and checks that a
// commit filed at head+1 is revealed exactly at the block RevealBlock predicts.
func TestPredictionMatchesSimulatedChain(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		tempo := uint16(1 + rng.IntN(50))
		netuid := uint16(rng.IntN(64))
		period := uint64(1 + rng.IntN(3))
		legacy := i%4 == 0
		s := chain.EpochSchedule{Legacy: legacy}
		head := uint64(rng.IntN(500))
		for b := uint64(1); b <= head; b++ {
			if !legacy && rng.IntN(40) == 0 {
				s.PendingEpochAt = b + uint64(rng.IntN(5)) // trigger_epoch
			}
			s, _ = s.Step(b, tempo, netuid)
		}
		info := &chain.WeightsInfo{Netuid: netuid, Block: head, Tempo: tempo, RevealPeriodEpochs: period, Schedule: s}
		want, err := RevealBlock(info)
		if err != nil {
			t.Fatal(err)
		}
		// The chain: at block b, reveal against EpochAt(b), then the commit
		// extrinsic (at head+1 only) is filed under EpochAt(b), then Step.
		var filed uint64
		var revealed uint64
		for b := head + 1; revealed == 0 && b < head+10_000; b++ {
			e := s.EpochAt(b, tempo, netuid)
			if b > head+1 && e == filed+period {
				revealed = b
			}
			if b == head+1 {
				filed = e
			}
			s, _ = s.Step(b, tempo, netuid)
		}
		if !legacy && revealed != want {
			t.Fatalf("case %d (tempo %d, netuid %d, period %d, head %d, state %+v): chain reveals at %d, predicted %d",
				i, tempo, netuid, period, head, info.Schedule, revealed, want)
		}
		// The legacy formula counts the epoch of the head, not of the
		// inclusion block: when head+1 starts an epoch it predicts one epoch early.
		if legacy {
			if (head+2+uint64(netuid))%(uint64(tempo)+1) == 0 {
				want += uint64(tempo) + 1
			}
			if revealed != want {
				t.Fatalf("legacy case %d: chain reveals at %d, predicted %d", i, revealed, want)
			}
		}
	}
}

// bittensorDrandRound is bittensor-drand v2.0.0's round arithmetic
// (generate_commit_v2), written out for comparison.
func bittensorDrandRound(now time.Time, head, reveal uint64, blockTime float64) uint64 {
	nowSecs := float64(now.Unix()) + float64(now.Nanosecond())/1e9
	blocks := reveal + 3 - head
	target := nowSecs + float64(blocks)*blockTime
	r := math.Floor((target - 1692803367) / 3)
	if r < 1 {
		return 1
	}
	return uint64(r)
}

func TestRevealRound(t *testing.T) {
	info := &chain.WeightsInfo{Netuid: 27, Block: 6_852_690, BlockTime: 12 * time.Second, Tempo: 360, RevealPeriodEpochs: 1,
		Schedule: chain.EpochSchedule{LastEpochBlock: 6_852_500, EpochIndex: 19_000}, Beacon: quicknet()}
	now := time.Date(2026, 7, 1, 12, 0, 0, 123_456_789, time.UTC)
	round, block, err := RevealRound(info, now)
	if err != nil {
		t.Fatal(err)
	}
	if block != 6_852_860 {
		t.Errorf("reveal block = %d, want 6852860", block)
	}
	// 173 blocks of 12 s after now = 2076 s; (1782907200.123456789 + 2076 - 1692803367) / 3.
	if want := uint64((1782907200 + 2076 - 1692803367) / 3); round != want {
		t.Errorf("round = %d, want %d", round, want)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 10_000 {
		now := time.Unix(1692803367+rng.Int64N(1e9), rng.Int64N(1e9))
		info.Block = uint64(rng.Int64N(1e8))
		info.Schedule.LastEpochBlock = info.Block - uint64(rng.IntN(360))
		round, block, err := RevealRound(info, now)
		if err != nil {
			t.Fatal(err)
		}
		if want := bittensorDrandRound(now, info.Block, block, 12); round != want {
			t.Fatalf("now %v head %d: round %d, bittensor-drand %d", now, info.Block, round, want)
		}
	}
	// Before genesis the round is clamped to 1.
	if r, _, _ := RevealRound(info, time.Unix(0, 0)); r != 1 {
		t.Errorf("round before genesis = %d, want 1", r)
	}
	noTime := *info
	noTime.BlockTime = 0
	if _, _, err := RevealRound(&noTime, now); err == nil {
		t.Error("no error without a block time")
	}
}

func TestResetCycle(t *testing.T) {
	// subtensor tempo_control.rs get_next_epoch_start_block_reflects_set_tempo_cycle_reset:
	// a tempo set at block 10 makes the next epoch run at 10 + tempo.
	s := chain.EpochSchedule{LastEpochBlock: 3, EpochIndex: 2}.ResetCycle(10)
	got, err := RevealBlock(&chain.WeightsInfo{Block: 10, Tempo: 50, RevealPeriodEpochs: 1, Schedule: s})
	if err != nil || got != 60 {
		t.Fatalf("reveal block %d (%v), want 60", got, err)
	}
}
