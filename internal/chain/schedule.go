package chain

// MaxTempo is the largest tempo a subnet owner may set (about 7 days of 12 s
// blocks). A subnet whose BlocksSinceLastStep exceeds it runs an epoch at the
// next block whatever its schedule says.
const MaxTempo = 50_400

// EpochSchedule is a subnet's epoch-schedule state read at one block: what a
// client needs to predict the block (and so the beacon round) at which the
// chain reveals a commit made now.
//
// The rule (subtensor's stateful scheduler, pallets/subtensor coinbase): at
// every block b, before any extrinsic of b runs,
//
//  1. commits are revealed against EpochAt(b) (the look-ahead epoch index);
//  2. Step(b) updates the state: BlocksSinceLastStep grows by one, and when
//     the epoch is due (RunsEpoch on the incremented state) the epoch runs:
//     LastEpochBlock = b, PendingEpochAt = 0, EpochIndex + 1,
//     BlocksSinceLastStep = 0.
//
// A commit included in block b is filed under EpochAt(b) evaluated on the
// state before b's step (equal to EpochIndex after it), and is revealed at
// the first block r whose EpochAt(r) equals that epoch + RevealPeriodEpochs.
//
// When Legacy is set (chains without the stateful storage) only the fixed
// rule holds: an epoch runs at block b when (b + netuid + 1) % (tempo + 1)
// is 0, and the epoch index of b is (b + netuid + 1) / (tempo + 1).
type EpochSchedule struct {
	// Legacy is set when the chain lacks the newer schedule storage: the
	// reveal block then follows the fixed tempo formula.
	Legacy bool `json:"legacy"`
	// LastEpochBlock is the block the subnet's last epoch ran in.
	LastEpochBlock uint64 `json:"last_epoch_block"`
	// PendingEpochAt is a block at or after which an epoch is forced (an
	// owner's trigger_epoch or a deferral); 0 when none.
	PendingEpochAt uint64 `json:"pending_epoch_at"`
	// EpochIndex is SubnetEpochIndex: how many epochs the subnet has run.
	EpochIndex uint64 `json:"epoch_index"`
	// BlocksSinceLastStep counts blocks since the last epoch ran.
	BlocksSinceLastStep uint64 `json:"blocks_since_last_step"`
}

// RunsEpoch reports whether the schedule in state s makes the subnet run an
// epoch at block (the chain's should_run_epoch). A tempo of 0 never runs one.
func (s EpochSchedule) RunsEpoch(block uint64, tempo uint16, netuid uint16) bool {
	if tempo == 0 {
		return false
	}
	if s.Legacy {
		return (block+uint64(netuid)+1)%(uint64(tempo)+1) == 0
	}
	if s.PendingEpochAt > 0 && block >= s.PendingEpochAt {
		return true
	}
	if s.BlocksSinceLastStep > MaxTempo {
		return true
	}
	return block >= s.LastEpochBlock && block-s.LastEpochBlock >= uint64(tempo)
}

// EpochAt returns the epoch index that a commit or reveal at block belongs
// to, given s is the state left by block-1's step: EpochIndex, plus one when
// an epoch is due at block (the chain's current_epoch_with_lookahead).
func (s EpochSchedule) EpochAt(block uint64, tempo uint16, netuid uint16) uint64 {
	if s.Legacy {
		return (block + uint64(netuid) + 1) / (uint64(tempo) + 1)
	}
	if s.RunsEpoch(block, tempo, netuid) {
		return s.EpochIndex + 1
	}
	return s.EpochIndex
}

// Step applies block's schedule update to s (the state left by block-1) and
// reports whether the subnet runs its epoch at block. It is the chain's
// per-block rule; a dev chain calls it once per block and subnet, after
// revealing the commits due at block.
func (s EpochSchedule) Step(block uint64, tempo uint16, netuid uint16) (next EpochSchedule, runsEpoch bool) {
	next = s
	if s.Legacy {
		if !s.RunsEpoch(block, tempo, netuid) {
			next.BlocksSinceLastStep++
			return next, false
		}
		next.LastEpochBlock = block
		next.EpochIndex = s.EpochAt(block, tempo, netuid)
		next.BlocksSinceLastStep = 0
		return next, true
	}
	next.BlocksSinceLastStep++
	if !next.RunsEpoch(block, tempo, netuid) {
		return next, false
	}
	next.LastEpochBlock = block
	next.PendingEpochAt = 0
	next.EpochIndex++
	next.BlocksSinceLastStep = 0
	return next, true
}

// ResetCycle is set_tempo's cycle reset, applied by a tempo change included
// in block: the next automatic epoch runs tempo blocks after block.
func (s EpochSchedule) ResetCycle(block uint64) EpochSchedule {
	if !s.Legacy {
		s.LastEpochBlock = block
	}
	return s
}
