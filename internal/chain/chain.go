package chain

import (
	"context"
	"errors"
	"time"
)

// Signer signs extrinsics or dev-chain calls; *wallet.Keypair implements it.
type Signer interface {
	SS58Address() string
	PublicKey() [32]byte
	Sign(msg []byte) ([]byte, error)
}

// Chain is what the roles need from a Bittensor chain. Every method honours ctx.
type Chain interface {
	// Block returns the current (best) block number.
	Block(ctx context.Context) (uint64, error)
	// WaitBlock blocks until the chain is past block `after` and returns the new block number.
	WaitBlock(ctx context.Context, after uint64) (uint64, error)

	// Metagraph returns every neuron of a subnet at the current block.
	Metagraph(ctx context.Context, netuid uint16) (*Metagraph, error)
	// Neuron returns one neuron by uid (ErrNotFound if the uid is empty).
	Neuron(ctx context.Context, netuid, uid uint16) (*Neuron, error)
	// NeuronByHotkey returns the neuron a hotkey holds (ErrNotRegistered if none).
	NeuronByHotkey(ctx context.Context, netuid uint16, hotkey string) (*Neuron, error)
	// IsRegistered reports whether hotkey holds a uid on netuid.
	IsRegistered(ctx context.Context, netuid uint16, hotkey string) (bool, error)
	// Hyperparameters returns the subnet's parameters (ErrSubnetNotFound if absent).
	Hyperparameters(ctx context.Context, netuid uint16) (*Hyperparameters, error)

	// Register burns the registration cost from coldkey and registers hotkey; returns its uid.
	Register(ctx context.Context, netuid uint16, coldkey Signer, hotkey string) (uint16, error)
	// ServeAxon announces the hotkey's axon endpoint.
	ServeAxon(ctx context.Context, netuid uint16, hotkey Signer, axon AxonInfo) error
	// SetWeights sets u16 weights (see ConvertWeights) for uids with a version key.
	SetWeights(ctx context.Context, netuid uint16, hotkey Signer, uids, weights []uint16, versionKey uint64) error
	// Commit publishes data as the hotkey's commitment on netuid.
	Commit(ctx context.Context, netuid uint16, hotkey Signer, data []byte) error
	// Commitment reads the hotkey's commitment (ErrNotFound if none).
	Commitment(ctx context.Context, netuid uint16, hotkey string) (*Commitment, error)

	WeightsSetter
}

// AxonInfo is a served endpoint.
type AxonInfo struct {
	Block    uint64 `json:"block"`
	Version  uint32 `json:"version"`
	IP       string `json:"ip"` // dotted IPv4 or IPv6 text; "0.0.0.0" when never served
	Port     uint16 `json:"port"`
	IPType   uint8  `json:"ip_type"`
	Protocol uint8  `json:"protocol"`
}

// Neuron is one uid of a subnet. Ratio fields are u16/65535 as floats; stake and emission in TAO.
type Neuron struct {
	UID               uint16   `json:"uid"`
	Netuid            uint16   `json:"netuid"`
	Hotkey            string   `json:"hotkey"`
	Coldkey           string   `json:"coldkey"`
	Active            bool     `json:"active"`
	Stake             float64  `json:"stake"`
	StakeRao          uint64   `json:"stake_rao"`
	Rank              float64  `json:"rank"`
	Trust             float64  `json:"trust"`
	Consensus         float64  `json:"consensus"`
	Incentive         float64  `json:"incentive"`
	Dividends         float64  `json:"dividends"`
	ValidatorTrust    float64  `json:"validator_trust"`
	Emission          float64  `json:"emission"`
	ValidatorPermit   bool     `json:"validator_permit"`
	LastUpdate        uint64   `json:"last_update"`
	BlockAtRegistered uint64   `json:"block_at_registration"`
	PruningScore      uint16   `json:"pruning_score"`
	Axon              AxonInfo `json:"axon_info"`
	PrometheusVersion uint32   `json:"prometheus_version"`
}

// Metagraph is the state of a subnet at a block.
type Metagraph struct {
	Netuid  uint16   `json:"netuid"`
	Block   uint64   `json:"block"`
	Neurons []Neuron `json:"neurons"`
}

// ByHotkey returns the neuron holding hotkey, or nil.
func (m *Metagraph) ByHotkey(hotkey string) *Neuron {
	for i := range m.Neurons {
		if m.Neurons[i].Hotkey == hotkey {
			return &m.Neurons[i]
		}
	}
	return nil
}

// Hyperparameters are the subnet settings the roles depend on.
type Hyperparameters struct {
	Tempo               uint16 `json:"tempo"`
	WeightsRateLimit    uint64 `json:"weights_rate_limit"`
	WeightsVersionKey   uint64 `json:"weights_version"`
	MinAllowedWeights   uint16 `json:"min_allowed_weights"`
	MaxWeightsLimit     uint16 `json:"max_weights_limit"`
	MaxAllowedUIDs      uint16 `json:"max_allowed_uids"`
	ImmunityPeriod      uint64 `json:"immunity_period"`
	BurnRao             uint64 `json:"burn"`
	CommitRevealEnabled bool   `json:"commit_reveal_weights_enabled"`
	ServingRateLimit    uint64 `json:"serving_rate_limit"`
	Kappa               uint16 `json:"kappa"`
	BondsMovingAverage  uint64 `json:"bonds_moving_avg"`
	RegistrationAllowed bool   `json:"registration_allowed"`
	SubnetworkN         uint16 `json:"subnetwork_n"`
}

// Commitment is data a hotkey published on a subnet.
type Commitment struct {
	Hotkey string `json:"hotkey"`
	Block  uint64 `json:"block"`
	Data   []byte `json:"data"`
}

// Typed errors; implementations wrap them with %w so callers use errors.Is.
var (
	ErrRateLimited         = errors.New("chain: rate limited")
	ErrNotRegistered       = errors.New("chain: hotkey not registered on this subnet")
	ErrAlreadyRegistered   = errors.New("chain: hotkey already registered on this subnet")
	ErrConnection          = errors.New("chain: connection lost")
	ErrNotFound            = errors.New("chain: not found")
	ErrSubnetNotFound      = errors.New("chain: subnet does not exist")
	ErrBadSignature        = errors.New("chain: bad signature")
	ErrReplay              = errors.New("chain: replayed or stale nonce")
	ErrUnknownKey          = errors.New("chain: unknown key")
	ErrInsufficientBalance = errors.New("chain: insufficient balance")
	ErrVersionKey          = errors.New("chain: weights version key below the subnet's minimum")
	ErrInvalidWeights      = errors.New("chain: invalid weights")
	ErrNoValidatorPermit   = errors.New("chain: no validator permit")
	ErrRegistrationClosed  = errors.New("chain: registration closed or no uid can be pruned")
	ErrCommitRevealEnabled = errors.New("chain: commit-reveal is enabled; plain set_weights is refused")
)

// BlockClock is implemented by the chains that can say when their latest
// block was made (the dev chain, its HTTP client and subtensor, whose block
// author stamps Timestamp.Now). It stays out of Chain, so that a test's chain
// need not implement it; `compute doctor` compares it with this host's clock.
type BlockClock interface {
	// BlockTimestamp returns the best block and the time stamped on it.
	BlockTimestamp(ctx context.Context) (block uint64, at time.Time, err error)
}
