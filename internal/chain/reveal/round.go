package reveal

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/sn27/compute/internal/chain"
)

// SecurityBlockOffset is how many blocks after the reveal block the beacon
// round is aimed at, so that its pulse is already stored on chain when the
// chain tries to reveal (the offset the Python SDK's bittensor-drand uses).
const SecurityBlockOffset = 3

// InclusionOffset is the block a commit is assumed to land in, counted from
// the head it was prepared at.
const InclusionOffset = 1

// ErrNoEpochs is returned for a subnet whose tempo is 0: it never runs an
// epoch, so a commit would never be revealed.
var ErrNoEpochs = errors.New("reveal: tempo is 0, the subnet runs no epochs and would never reveal a commit")

// ErrNoReveal is returned when no reveal block is found within the bound the
// schedule allows (RevealPeriodEpochs + 1 maximal tempos).
var ErrNoReveal = errors.New("reveal: no reveal block within the simulated range")

// RevealBlock predicts the first block at which the chain reveals a commit
// prepared at info.Block (and included at info.Block + 1): the first block
// whose look-ahead epoch index is the commit's epoch + RevealPeriodEpochs,
// simulating the chain's per-block schedule from info.Schedule. With a legacy
// schedule it uses the fixed formula
// ((head + netuid + 1) / (tempo + 1) + period) * (tempo + 1) - (netuid + 1).
func RevealBlock(info *chain.WeightsInfo) (uint64, error) {
	if info == nil {
		return 0, errors.New("reveal: no weights info")
	}
	if info.Tempo == 0 {
		return 0, fmt.Errorf("netuid %d: %w", info.Netuid, ErrNoEpochs)
	}
	s, tempo, netuid := info.Schedule, info.Tempo, info.Netuid
	if s.Legacy {
		tp1, np1 := uint64(tempo)+1, uint64(netuid)+1
		epoch := (info.Block + np1) / tp1
		return satSub(satMul(epoch+info.RevealPeriodEpochs, tp1), np1), nil
	}
	included, s := inclusion(info)
	target := s.EpochAt(included, tempo, netuid) + info.RevealPeriodEpochs
	limit := included + satMul(info.RevealPeriodEpochs, chain.MaxTempo) + chain.MaxTempo
	for b := included; b <= limit; b++ {
		if s.EpochAt(b, tempo, netuid) == target {
			return b, nil
		}
		s, _ = s.Step(b, tempo, netuid)
	}
	return 0, fmt.Errorf("netuid %d, head %d, reveal period %d: %w", netuid, info.Block, info.RevealPeriodEpochs, ErrNoReveal)
}

// CommitEpoch returns the epoch index a commit prepared at info.Block is
// filed under on chain (TimelockedWeightCommits' second key), assuming it is
// included at info.Block + 1.
func CommitEpoch(info *chain.WeightsInfo) uint64 {
	if info.Schedule.Legacy {
		return info.Schedule.EpochAt(info.Block+InclusionOffset, info.Tempo, info.Netuid)
	}
	included, s := inclusion(info)
	return s.EpochAt(included, info.Tempo, info.Netuid)
}

// inclusion returns the block a commit prepared at info.Block lands in and
// the schedule state that block starts from: info.Schedule is the state
// after the head's step, advanced over any blocks in between.
func inclusion(info *chain.WeightsInfo) (uint64, chain.EpochSchedule) {
	s := info.Schedule
	included := info.Block + InclusionOffset
	for b := info.Block + 1; b < included; b++ {
		s, _ = s.Step(b, info.Tempo, info.Netuid)
	}
	return included, s
}

// RevealRound returns the beacon round a commit prepared now, at head
// info.Block, must be encrypted to, and the predicted reveal block. The
// round is the one due SecurityBlockOffset blocks after the reveal block,
// counting info.BlockTime per block from now:
// floor((now + (reveal + 3 - head) * blockTime - genesis) / period), at least 1,
// computed in float64 seconds as bittensor-drand does, so that for quicknet
// both give the same round.
func RevealRound(info *chain.WeightsInfo, now time.Time) (round uint64, revealBlock uint64, err error) {
	revealBlock, err = RevealBlock(info)
	if err != nil {
		return 0, 0, err
	}
	if info.BlockTime <= 0 {
		return 0, 0, errors.New("reveal: weights info has no block time")
	}
	if info.Beacon.Period <= 0 {
		return 0, 0, errors.New("reveal: weights info has no beacon period")
	}
	blocks := satSub(revealBlock+SecurityBlockOffset, info.Block)
	target := unixSeconds(now) + float64(blocks)*info.BlockTime.Seconds()
	r := math.Floor((target - unixSeconds(info.Beacon.GenesisTime)) / info.Beacon.Period.Seconds())
	switch {
	case r < 1 || math.IsNaN(r):
		round = 1
	case r >= math.MaxUint64:
		return 0, 0, fmt.Errorf("reveal: round for block %d overflows", revealBlock)
	default:
		round = uint64(r)
	}
	return round, revealBlock, nil
}

// unixSeconds is t as float64 seconds since the Unix epoch, built the way
// Rust's Duration::as_secs_f64 builds it (whole seconds plus nanoseconds / 1e9).
func unixSeconds(t time.Time) float64 {
	return float64(t.Unix()) + float64(t.Nanosecond())/1e9
}

func satSub(a, b uint64) uint64 {
	if b > a {
		return 0
	}
	return a - b
}

func satMul(a, b uint64) uint64 {
	if a != 0 && b > math.MaxUint64/a {
		return math.MaxUint64
	}
	return a * b
}
