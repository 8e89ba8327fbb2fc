package chain

import (
	"context"
	"errors"
	"time"
)

// WeightsInfo is what a chain says, read at one block, about how a hotkey's
// weights must be sent on a subnet: in the clear with SetWeights, or as a
// timelocked commit (CommitTimelockedWeights) that the chain decrypts and
// applies itself once the beacon's pulse for the reveal round is stored.
type WeightsInfo struct {
	Netuid uint16 `json:"netuid"`
	// Block is the head the values were read at.
	Block uint64 `json:"block"`
	// BlockTime is the chain's target block interval (12 s on finney).
	BlockTime time.Duration `json:"block_time"`
	// Tempo is read fresh: it can change at any block.
	Tempo uint16 `json:"tempo"`
	// RateLimit is WeightsSetRateLimit; LastUpdate the hotkey's last weights block
	// (0 when never set or not registered).
	RateLimit  uint64 `json:"weights_rate_limit"`
	LastUpdate uint64 `json:"last_update"`
	// CommitReveal says a plain set_weights is refused on this subnet.
	CommitReveal bool `json:"commit_reveal"`
	// CommitRevealVersion is CommitRevealWeightsVersion: the version a commit must carry.
	CommitRevealVersion uint16 `json:"commit_reveal_version"`
	// RevealPeriodEpochs: a commit made in epoch e is revealed in epoch e + RevealPeriodEpochs.
	RevealPeriodEpochs uint64 `json:"reveal_period_epochs"`
	// Schedule is the subnet's epoch-schedule state, used to predict the reveal block.
	Schedule EpochSchedule `json:"schedule"`
	// Beacon is the randomness beacon whose pulses reveal commits on this chain.
	Beacon Beacon `json:"beacon"`
}

// NextAllowed returns the first block at which the rate limit lets this
// hotkey send weights again (Block when it may send now).
func (w *WeightsInfo) NextAllowed() uint64 {
	if w.LastUpdate == 0 || w.RateLimit == 0 {
		return w.Block
	}
	if next := w.LastUpdate + w.RateLimit; next > w.Block {
		return next
	}
	return w.Block
}

// Beacon describes a drand-style beacon: unchained BLS signatures on G1 over
// BLS12-381, public key on G2 (drand's quicknet scheme). Round r's pulse is
// published at GenesisTime + (r-1)*Period.
type Beacon struct {
	Name        string        `json:"name"`
	PublicKey   []byte        `json:"public_key"` // 96-byte compressed G2 point
	GenesisTime time.Time     `json:"genesis_time"`
	Period      time.Duration `json:"period"`
}

// RoundAt returns the latest round published at or before t (0 before genesis).
func (b Beacon) RoundAt(t time.Time) uint64 {
	if b.Period <= 0 || t.Before(b.GenesisTime) {
		return 0
	}
	return uint64(t.Sub(b.GenesisTime)/b.Period) + 1
}

// TimeOf returns when round r is published.
func (b Beacon) TimeOf(r uint64) time.Time {
	if r == 0 {
		return b.GenesisTime
	}
	return b.GenesisTime.Add(time.Duration(r-1) * b.Period)
}

// TimelockedCommit is one timelocked weights commit waiting on chain to be revealed.
type TimelockedCommit struct {
	Hotkey      string `json:"hotkey"`
	Block       uint64 `json:"commit_block"`
	RevealRound uint64 `json:"reveal_round"`
	Ciphertext  []byte `json:"ciphertext"`
}

// WeightsSetter is the part of Chain that sends and reads weights; Chain embeds it.
type WeightsSetter interface {
	// WeightsInfo reads, at one block, how hotkey must send weights on netuid.
	WeightsInfo(ctx context.Context, netuid uint16, hotkey string) (*WeightsInfo, error)
	// CommitTimelockedWeights submits ciphertext (see package reveal) to be
	// revealed at the beacon's revealRound, carrying the chain's commit-reveal
	// version; it returns the block that included it. Over the rate limit it
	// returns ErrRateLimited without submitting.
	CommitTimelockedWeights(ctx context.Context, netuid uint16, hotkey Signer, ciphertext []byte, revealRound uint64, version uint16) (uint64, error)
	// TimelockedCommits lists hotkey's commits on netuid not yet revealed.
	TimelockedCommits(ctx context.Context, netuid uint16, hotkey string) ([]TimelockedCommit, error)
	// Weights reads the weights row uid has on chain (uids and u16 values).
	Weights(ctx context.Context, netuid, uid uint16) (uids, values []uint16, err error)
}

// Commit-reveal errors; implementations wrap them with %w.
var (
	ErrCommitRevealDisabled         = errors.New("chain: commit-reveal is disabled on this subnet; use set_weights")
	ErrIncorrectCommitRevealVersion = errors.New("chain: commit carries a commit-reveal version the chain does not accept")
	ErrTooManyUnrevealedCommits     = errors.New("chain: too many unrevealed commits for this hotkey (at most 10)")
	ErrInvalidRevealRound           = errors.New("chain: reveal round is in the past or not a valid beacon round")
	ErrCommitTooLarge               = errors.New("chain: commit exceeds the chain's size limit")
)
