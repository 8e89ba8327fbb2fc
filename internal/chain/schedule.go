package chain

// EpochSchedule is a subnet's epoch-schedule state read at one block: what a
// client needs to predict the block (and so the beacon round) at which the
// chain reveals a commit made now.
type EpochSchedule struct {
	// Legacy is set when the chain lacks the newer schedule storage: the
	// reveal block then follows the fixed tempo formula.
	Legacy bool `json:"legacy"`
}
